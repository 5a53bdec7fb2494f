"""Where keys come from: both sources strip them, and the tests' leak check sees every form."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from credit_monitor.adapters.secrets import EnvironmentKeySource, SecretsManagerKeySource
from credit_monitor.keys import key_forms
from credit_monitor.providers import lemlist
from tests.support.keys import ALL_KEYS, KEY_WITH_LINE_BREAK, LEMLIST_KEY, assert_no_key_leaked


class StoredSecret:
    """Stands in for Powertools' SecretsProvider: what GetSecretValue would return."""

    def __init__(self, secret_string: str) -> None:
        self.secret_string = secret_string

    def get(self, name: str, **options: Any) -> str:
        return self.secret_string


def test_the_lambda_strips_keys_read_from_the_secret() -> None:
    secret = StoredSecret(json.dumps({"fullenrich": " fe_1\n", "lemlist": "lm_2\r\n", "blank": " "}))
    source = SecretsManagerKeySource("credit-monitor/api-keys", cast(SecretsProvider, secret))
    assert source.api_keys() == {"fullenrich": "fe_1", "lemlist": "lm_2"}


def test_the_cli_strips_keys_from_the_environment() -> None:
    source = EnvironmentKeySource({"fullenrich": "fe_1\n", "lemlist": "\tlm_2 ", "other": ""})
    assert source.api_keys() == {"fullenrich": "fe_1", "lemlist": "lm_2"}


@pytest.mark.parametrize(
    "leaked",
    [
        LEMLIST_KEY,
        lemlist.auth_headers(LEMLIST_KEY)["Authorization"],
        repr(KEY_WITH_LINE_BREAK.encode()),
        json.dumps(KEY_WITH_LINE_BREAK),
        KEY_WITH_LINE_BREAK.split("\n")[1],
    ],
    ids=["raw", "basic-token", "bytes-repr", "json", "fragment"],
)
def test_the_leak_check_finds_a_key_in_any_form(leaked: str) -> None:
    with pytest.raises(AssertionError, match="leaked into output") as caught:
        assert_no_key_leaked(f"log line: {leaked}.")
    # The failure message must not repeat what it found.
    assert not any(form in str(caught.value) for key in ALL_KEYS.values() for form in key_forms(key))


def test_the_leak_check_passes_clean_output() -> None:
    assert_no_key_leaked("lemlist check failed: HTTP 401, key rejected: Basic ***")


def test_percent_encoding_in_lower_case_is_a_key_form_too() -> None:
    """Percent-encoding is case-insensitive; a server may echo %2f where we sent %2F."""
    key = "qk_7f/3a+9c=2e&b4?d%5E"
    assert "qk_7f%2f3a%2b9c%3d2e%26b4%3fd%255E" in key_forms(key)  # the key's own "%5E" is text
