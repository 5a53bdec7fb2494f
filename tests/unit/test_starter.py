"""`init`'s answers rendered as an accounts file that the function's own parser accepts."""

from __future__ import annotations

import tomllib

import pytest

from credit_monitor.accounts_file import parse_accounts
from credit_monitor.config import ConfigError
from credit_monitor.starter import Answers, credits, label, render


def test_the_rendered_file_parses_to_the_accounts_given() -> None:
    text = render(
        [
            Answers("lemlist", "acme-lemlist", 500, 100, {"owner": "ops", "client": 'a "b" \\ c'}),
            Answers("fullenrich", warning=1e12),
        ],
        "accounts.toml",
    )
    first, second = parse_accounts(tomllib.loads(text), "accounts.toml")
    assert (first.id, first.provider.name, first.threshold, first.critical_threshold) == (
        "acme-lemlist",
        "lemlist",
        500,
        100,
    )
    assert first.labels == {"owner": "ops", "client": 'a "b" \\ c'}
    assert (second.id, second.threshold) == ("fullenrich", 1e12)
    assert "warning = 500\n" in text
    assert "warning = 1000000000000\n" in text


def test_what_the_function_would_refuse_is_refused_with_its_message() -> None:
    with pytest.raises(ConfigError, match=r"accounts.toml: account 'lemlist': critical: \(9\) must be below"):
        render([Answers("lemlist", warning=5, critical=9)], "accounts.toml")


@pytest.mark.parametrize(("text", "value"), [("500", 500.0), ("1,000", 1000.0), ("2_500.5", 2500.5)])
def test_credits_as_people_type_them(text: str, value: float) -> None:
    assert credits(text, "--warning") == value


@pytest.mark.parametrize("text", ["five", "nan", "inf", ""])
def test_credits_that_are_not_a_number_name_the_option(text: str) -> None:
    with pytest.raises(ValueError, match="--warning: must be a"):
        credits(text, "--warning")


def test_a_label_is_name_equals_value() -> None:
    assert label(" owner = ops team ") == ("owner", "ops team")
    with pytest.raises(ValueError, match="--label: must be NAME=VALUE"):
        label("owner")
