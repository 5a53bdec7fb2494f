"""The catalogue's data-only vendors: entries of one table, validated like an http-json account."""

from __future__ import annotations

import importlib.util

import pytest

from credit_monitor.providers import CATALOGUE, RetryPolicy
from credit_monitor.providers.table import TABLE, built_in

KEY = "k-123"


def test_data_only_vendors_are_table_entries_not_modules_of_their_own() -> None:
    names = [entry["name"] for entry in TABLE]
    assert names == [
        *("bouncer", "dropcontact", "lusha", "snovio", "prospeo", "findymail", "millionverifier"),
        *("bettercontact", "leadmagic", "emailable", "serpapi", "scrapingbee", "apify", "brightdata"),
        *("twilio", "vonage", "sendgrid", "icypeas"),
    ]
    for name in names:
        assert importlib.util.find_spec(f"credit_monitor.providers.{name}") is None
        assert CATALOGUE[name].name == name


def test_an_entry_keeps_its_base_url_for_an_accounts_file_url_and_its_own_retry_policy() -> None:
    lusha = CATALOGUE["lusha"]
    assert lusha.default_api_url == "https://api.lusha.com"
    assert (
        lusha.build_request("https://eu.lusha.example", KEY).url
        == "https://eu.lusha.example/v3/account/usage"
    )
    assert lusha.retry == RetryPolicy(attempts=2, backoff_seconds=0.5, rate_limited_backoff_seconds=5.0)
    assert lusha.display_name == "Lusha"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"auth": {"kind": "header"}}, "auth.name: required"),
        ({"balance": "credits..left"}, "balance: has an empty segment"),
        ({"url": "http://api.usebouncer.com/v1.1"}, "url: must be https://"),
        ({"rate_limit": {"requests": 0, "per_seconds": 60}}, "rate_limit.requests: must be a whole number"),
        ({"path": "credits"}, "path: must start with '/'"),
        ({"colour": "blue"}, "colour: unknown field"),
    ],
)
def test_a_bad_entry_is_refused_like_a_bad_http_json_account(change: dict[str, object], message: str) -> None:
    entry = {**TABLE[0], **change}
    with pytest.raises(ValueError, match=message):
        built_in(entry)
