"""The secret's JSON, one entry changed: every other entry kept, errors that never quote a key."""

from __future__ import annotations

import json

import pytest

from credit_monitor.account import Account
from credit_monitor.providers import lemlist
from credit_monitor.routes import ReceiverKind, ReceiverSpec, Route, Routing
from credit_monitor.secret_json import (
    MAX_SECRET_BYTES,
    KeyRow,
    KeyState,
    SecretJsonError,
    key_listing,
    with_key,
)
from tests.support.keys import PAGERDUTY_ROUTING_KEY, RECEIVER_SECRETS, SLACK_PATH, assert_no_key_leaked

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


def _accounts(*ids: str, **shared: str) -> list[Account]:
    """Accounts by id; `shared` maps an account id to the entry it names with `key = "..."`."""
    return [
        Account(
            account_id,
            lemlist.PROVIDER,
            lemlist.PROVIDER.default_api_url,
            100,
            key_entry=shared.get(account_id.replace("-", "_"), ""),
        )
        for account_id in ids
    ]


def test_key_states_name_the_state_never_the_key() -> None:
    secret = json.dumps({"ok": KEY, "bad": "lm_12345678\n9abcdef", "blank": " ", "extra": KEY, "num": 5})
    listing = key_listing(secret, _accounts("ok", "bad", "blank", "none"))
    assert listing.rows == (
        KeyRow("ok", KeyState.STORED.value),
        KeyRow("bad", KeyState.REFUSED.value),
        KeyRow("blank", KeyState.MISSING.value),
        KeyRow("none", KeyState.MISSING.value),
        KeyRow("extra", KeyState.UNUSED.value),
    )
    assert listing.hidden == 0


def test_accounts_sharing_an_entry_are_covered_and_the_entry_is_used_by_them() -> None:
    """Two accounts name key = "acme-team": both have a key, and acme-team is theirs, not unused.
    An entry of a sharing account's own id is one the function never reads."""
    secret = json.dumps({"acme-team": KEY, "acme-sales": "lm_stale_own_entry_9c1a3f"})
    accounts = _accounts(
        "acme-sales", "acme-support", "solo", acme_sales="acme-team", acme_support="acme-team"
    )

    listing = key_listing(secret, accounts)

    assert listing.rows == (
        KeyRow("acme-sales", "stored (shared entry acme-team)"),
        KeyRow("acme-support", "stored (shared entry acme-team)"),
        KeyRow("solo", "missing"),
        KeyRow("acme-team", "shared entry, read by acme-sales, acme-support"),
        KeyRow("acme-sales", f"{KeyState.UNUSED.value} (acme-sales reads the shared entry acme-team)"),
    )


def test_a_missing_shared_entry_is_missing_for_every_account_that_reads_it() -> None:
    accounts = _accounts("a-1", "a-2", a_1="team", a_2="team")
    listing = key_listing(json.dumps({"a-1": KEY}), accounts)
    assert listing.rows == (
        KeyRow("a-1", "missing (shared entry team)"),
        KeyRow("a-2", "missing (shared entry team)"),
        KeyRow("a-1", f"{KeyState.UNUSED.value} (a-1 reads the shared entry team)"),
    )


def test_names_that_may_be_keys_are_counted_never_shown() -> None:
    """A secret written name and value swapped holds the key as a name: it is never printed. A
    name is shown only when an account reads it or it looks like an id."""
    uuid_key, hex_key, mixed = (
        "3f1c9a7e-2b8d-4c06-a1e3-9f3b6d1e8a2c",
        "9f3b6d1e8a2c4f7b0e5d7c3a",
        "k3j9x2m7q8w1",
    )
    secret = json.dumps({KEY: "lemlist", uuid_key: "x", hex_key: "y", mixed: "z", "old-acme": KEY})

    listing = key_listing(secret, _accounts("lemlist"))

    assert listing.rows == (
        KeyRow("lemlist", "missing; the secret holds 'lemlist' as a value: are its name and key swapped?"),
        KeyRow("old-acme", KeyState.UNUSED.value),
    )
    assert listing.hidden == 4


def _fleet(count: int) -> dict[str, str]:
    """`count` entries of 20-character ids and 40-character keys."""
    return {f"client-{n:06d}-lemlst": f"lm_{n:06d}" + "7" * 31 for n in range(count)}


def test_the_secret_is_written_compact_so_about_a_thousand_keys_fit() -> None:
    """Indented, the 950th key of 20-character ids and 40-character keys would pass 65,536 bytes."""
    fleet = _fleet(949)
    assert all(len(name) == 20 and len(key) == 40 for name, key in fleet.items())

    written = with_key(json.dumps(fleet), "client-000949-lemlst", "lm_000949" + "7" * 31)

    assert "\n" not in written
    assert ", " not in written
    assert ": " not in written
    assert len(json.loads(written)) == 950
    assert len(written.encode()) < MAX_SECRET_BYTES


def test_the_size_limit_is_checked_on_exactly_the_bytes_written() -> None:
    """Just under the limit is written; one byte over is refused. Non-ASCII text of another entry
    is written as \\u escapes, counted as written."""
    base = json.dumps({"note": "é", "pad": ""}, separators=(",", ":"), ensure_ascii=True)
    entry = f',"acme":"{KEY}"'
    room = MAX_SECRET_BYTES - len(base) - len(entry)
    fits = json.dumps({"note": "é", "pad": "p" * room})

    written = with_key(fits, "acme", KEY)

    assert len(written.encode()) == MAX_SECRET_BYTES
    with pytest.raises(SecretJsonError, match="would exceed"):
        with_key(json.dumps({"note": "é", "pad": "p" * (room + 1)}), "acme", KEY)


def test_a_secret_starting_with_a_byte_order_mark_is_read_and_written_without_it() -> None:
    """Notepad saves UTF-8 with a byte-order mark; the accounts file accepts one, so does the secret."""
    old = "\ufeff" + json.dumps({"lemlist": KEY, "note": "x"})

    written = with_key(old, "acme", KEY)

    assert not written.startswith("\ufeff")
    assert json.loads(written) == {"lemlist": KEY, "note": "x", "acme": KEY}
    assert key_listing(old, _accounts("lemlist")).rows[0] == KeyRow("lemlist", KeyState.STORED.value)


def _routing(*routes: tuple[str, ReceiverSpec]) -> Routing:
    return Routing(tuple(Route(name, receivers=(spec,)) for name, spec in routes))


def test_each_receiver_entry_is_listed_with_its_routes_and_what_the_function_makes_of_it() -> None:
    """Never "stored, for no account here": tidied away, a client's alerts would stop arriving."""
    slack = ReceiverSpec(ReceiverKind.SLACK, "acme-slack")
    pagerduty = ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pd")
    hook = ReceiverSpec(ReceiverKind.WEBHOOK, "acme-hook", signing="acme-hook-signing")
    routing = _routing(
        *((name, slack) for name in ("acme", "ops", "night", "weekend")),
        ("acme", pagerduty),
        ("acme", hook),
    )
    secret = json.dumps(
        {
            "acme-slack": f"https://hooks.slack.com{SLACK_PATH}",
            "acme-pd": {"key": PAGERDUTY_ROUTING_KEY},
            "acme-hook": f" http://hooks.example.com{SLACK_PATH} ",
            "old-hook": f"https://hooks.slack.com{SLACK_PATH}",
        }
    )

    listing = key_listing(secret, _accounts(), routing)

    assert listing.rows == (
        KeyRow("acme-slack", "the Slack incoming-webhook URL of routes acme, ops, night and 1 more: stored"),
        KeyRow(
            "acme-pd",
            "the PagerDuty Events API v2 routing key of route acme: stored, but the function would refuse it:"
            " it must be a JSON string holding the PagerDuty Events API v2 routing key, got an object",
        ),
        KeyRow(
            "acme-hook",
            "the webhook's URL of route acme: stored, but the function would refuse it: it is an http:// URL;"
            " only https:// is accepted, since http would send alerts and the URL in clear",
        ),
        KeyRow("acme-hook-signing", "the webhook's signing secret of route acme: missing"),
        KeyRow("old-hook", KeyState.UNUSED.value),
    )
    assert_no_key_leaked(*(row.text for row in listing.rows), keys=RECEIVER_SECRETS)
