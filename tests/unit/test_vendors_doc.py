"""The vendor lists of README.md and docs/vendors.md are what scripts/vendors_doc.py renders."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts import vendors_doc

from credit_monitor.providers import CATALOGUE, table


@pytest.mark.parametrize("path", vendors_doc.TARGETS, ids=lambda path: path.name)
def test_the_committed_vendor_list_is_the_generated_one(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert vendors_doc.rendered(text, vendors_doc.render(), path) == text, (
        f"{path.name} is out of date with the catalogue: run `python -m scripts.vendors_doc`"
    )


def test_every_built_in_is_a_row_with_its_balance_path() -> None:
    rows = vendors_doc.render().splitlines()[2:]
    assert sorted(row.split("|")[1].strip(" `") for row in rows) == sorted(CATALOGUE)
    table_names = {entry["name"] for entry in table.TABLE}
    assert set(vendors_doc.BALANCE) == set(CATALOGUE) - table_names, (
        "a built-in with a module of its own needs its balance path in scripts/vendors_doc.py BALANCE"
    )


def test_the_key_column_says_where_the_code_puts_the_key() -> None:
    rows = {row.split("|")[1].strip(" `"): row.split("|") for row in vendors_doc.render().splitlines()[2:]}
    assert rows["lemlist"][4].strip() == "Basic, empty user"
    assert rows["fullenrich"][4].strip() == "Bearer"
    assert rows["zerobounce"][4].strip() == "query `api_key`"
    assert "api_key" not in rows["zerobounce"][3], "the key's query parameter is left out of the URL"
    assert rows["lusha"][6].strip() == "5 / min"
    assert rows["twilio"][4].strip() == "Basic `<id>:<secret>`"
    assert rows["twilio"][3].strip() == "`GET https://api.twilio.com/2010-04-01/Accounts/{id}/Balance.json`"
    assert rows["snovio"][4].strip().startswith("OAuth client credentials (`<client id>:<client secret>`")
    assert rows["snovio"][4].strip().endswith("then Bearer")
    assert "email={email}" in rows["bettercontact"][3]
    assert "the account's `email` in the body" in rows["icypeas"][3]
    assert rows["scrapingbee"][6].strip() == "6 / min"


def test_the_balance_column_says_how_the_reply_is_read() -> None:
    rows = {row.split("|")[1].strip(" `"): row.split("|") for row in vendors_doc.render().splitlines()[2:]}
    assert rows["scrapingbee"][5].strip() == (
        "`max_api_credit` - `used_api_credit`; renews `renewal_subscription_date`"
    )
    assert rows["serpapi"][5].strip() == "`total_searches_left` (`plan_searches_left` + `extra_credits`)"
    assert rows["vonage"][5].strip() == "`value`, in EUR"
    assert rows["twilio"][5].strip() == "`balance`, numeric strings, currency `currency`"
    assert rows["millionverifier"][5].strip() == "`credits`; errors in `error`"


def test_a_file_without_the_markers_is_named() -> None:
    with pytest.raises(ValueError, match=r"somewhere\.md: no generated vendor block"):
        vendors_doc.rendered("# no markers\n", "| table |", Path("somewhere.md"))
