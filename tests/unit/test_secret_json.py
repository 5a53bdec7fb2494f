"""The secret's JSON, one entry changed: every other entry kept, errors that never quote a key."""

from __future__ import annotations

import json

import pytest

from credit_monitor.secret_json import MAX_SECRET_BYTES, KeyState, SecretJsonError, key_states, with_key

KEY = "lm_9f3b6d1e8a2c4f7b0e5d"


def test_a_new_entry_is_added_last_and_the_others_are_kept_as_stored() -> None:
    old = json.dumps({"b": "kb_1234567890abcdef", "a": {"nested": [1, 2]}, "n": 3, "e": ""})
    assert list(json.loads(with_key(old, "acme", KEY)).items()) == [
        ("b", "kb_1234567890abcdef"),
        ("a", {"nested": [1, 2]}),
        ("n", 3),
        ("e", ""),
        ("acme", KEY),
    ]


def test_an_existing_entry_is_replaced_in_place_and_the_key_stripped() -> None:
    old = json.dumps({"x": "1", "acme": "old-key-value", "y": "2"})
    assert list(json.loads(with_key(old, "acme", f"  {KEY}\n"))) == ["x", "acme", "y"]
    assert json.loads(with_key(old, "acme", f"  {KEY}\n"))["acme"] == KEY


@pytest.mark.parametrize("old", [None, "", "  "])
def test_a_secret_without_a_value_starts_empty(old: str | None) -> None:
    assert json.loads(with_key(old, "acme", KEY)) == {"acme": KEY}


@pytest.mark.parametrize(
    ("old", "account", "key", "message"),
    [
        ("{}", "Acme Corp", KEY, "the account id must be a slug"),
        ("{}", "acme", "lm_12345678\n9abcdef", "key not stored: the acme API key contains a line break"),
        ("{}", "acme", "   ", "key not stored: no API key for 'acme'"),
        (f"[{KEY!r}]", "acme", KEY, "the secret is not JSON"),
        ('{"a": 1' + "0" * 5000 + "}", "acme", KEY, "the secret is not JSON"),
        ("[" * 100_000, "acme", KEY, "the secret is not JSON"),
        (json.dumps([KEY]), "acme", KEY, "the secret must be a JSON object, got array"),
        ('{"a": "x", "a": "y"}', "acme", KEY, "the secret's JSON names 'a' twice"),
        (json.dumps({"big": "x" * MAX_SECRET_BYTES}), "acme", KEY, "would exceed Secrets Manager's 65,536"),
    ],
)
def test_what_cannot_be_written_is_refused_without_quoting_a_key(
    old: str, account: str, key: str, message: str
) -> None:
    with pytest.raises(SecretJsonError) as raised:
        with_key(old, account, key)
    assert message in str(raised.value)
    assert KEY not in str(raised.value)
    assert "12345678" not in str(raised.value)


def test_key_states_name_the_state_never_the_key() -> None:
    secret = json.dumps({"ok": KEY, "bad": "lm_12345678\n9abcdef", "blank": " ", "extra": KEY, "num": 5})
    assert key_states(secret, ["ok", "bad", "blank", "none", "ok"]) == [
        ("ok", KeyState.STORED),
        ("bad", KeyState.REFUSED),
        ("blank", KeyState.MISSING),
        ("none", KeyState.MISSING),
        ("extra", KeyState.UNUSED),
    ]
