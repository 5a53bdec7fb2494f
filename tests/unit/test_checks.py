"""Turning a provider's reply into a balance or a failure: pure, no sockets."""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Mapping

import pytest

from credit_monitor import keys as keys_module
from credit_monitor.adapters.http import HttpReply, Pace
from credit_monitor.checks import check_account, describe_error_body, interpret_reply
from credit_monitor.config import Account
from credit_monitor.model import CheckError, FailureKind
from credit_monitor.printable import printable
from credit_monitor.providers import Request, RetryPolicy, fullenrich, lemlist
from tests.support.fakes import SETTINGS, FakeHttp, FakeKeys

JSON = "application/json"


def test_ok_reply_becomes_a_balance() -> None:
    assert interpret_reply(lemlist.PROVIDER, HttpReply(200, b'{"credits": 3}', JSON)).credits == 3


@pytest.mark.parametrize(
    ("reply", "kind", "text"),
    [
        (
            HttpReply(401, b'{"code":"error.api.key","message":"Unknown api key"}', JSON),
            FailureKind.AUTH,
            "HTTP 401, key rejected: error.api.key: Unknown api key",
        ),
        (
            HttpReply(403, b"User linked to this API key is blocked", "text/plain"),
            FailureKind.AUTH,
            "User linked to this API key is blocked",
        ),
        (HttpReply(404, b"", None), FailureKind.AUTH, "HTTP 404, no account found for this key: empty body"),
        (HttpReply(429, b"slow down", "text/plain"), FailureKind.RATE_LIMITED, "still rate limited"),
        (
            HttpReply(502, b"<html>Bad gateway</html>", "text/html"),
            FailureKind.HTTP,
            "HTTP 502: an HTML page",
        ),
        (HttpReply(302, b"", None), FailureKind.HTTP, "HTTP 302"),
    ],
)
def test_error_replies_become_failures_that_say_why(reply: HttpReply, kind: FailureKind, text: str) -> None:
    with pytest.raises(CheckError) as caught:
        interpret_reply(fullenrich.PROVIDER, reply)
    assert caught.value.kind is kind
    assert text in caught.value.message


def test_long_error_bodies_are_cut_to_one_short_line() -> None:
    described = describe_error_body(("x" * 500 + "\nsecond line").encode(), "text/plain")
    assert len(described) == 160
    assert "second line" not in described


class EchoingHttp(FakeHttp):
    """Answers 401 with a body that echoes whatever it is given: a broken API or proxy."""

    def __init__(self, body: str, content_type: str = "text/plain") -> None:
        super().__init__()
        self.body, self.content_type = body, content_type

    def send(
        self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
    ) -> HttpReply:
        return HttpReply(401, self.body.encode(), self.content_type)


class OneKey(FakeKeys):
    def __init__(self, key: str) -> None:
        self.key = key

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        return {"fullenrich": self.key}


def checked(key: str, body: str, content_type: str = "text/plain") -> str:
    keys = OneKey(key)
    result = check_account(
        SETTINGS.accounts[0], keys.api_keys(), keys, EchoingHttp(body, content_type), time.monotonic() + 5
    )
    assert result.error is not None
    return result.error.message


def test_a_key_echoed_where_the_error_is_cut_short_is_redacted_whole_first() -> None:
    key = "fe_live_4f1c9a7e2b8d4c06a1e3"
    message = checked(key, "Unknown api key: " + "." * 112 + "Bearer " + key)

    assert not any(key[:n] in message for n in range(8, len(key) + 1)), message
    assert "Bearer ***" in message or message.endswith("…")


def test_a_key_echoed_by_a_json_encoder_that_escapes_slashes_is_redacted() -> None:
    key = "fe/live/4f1c9a7e2b8d4c06a1e3"
    body = json.dumps({"error": "unknown key " + key}).replace("/", "\\/")  # no "message": shown as is

    message = checked(key, body, "application/json")

    assert "4f1c9a7e2b8d4c06a1e3" not in message
    assert "unknown key ***" in message


class OkWithEcho(EchoingHttp):
    def send(
        self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
    ) -> HttpReply:
        return HttpReply(200, self.body.encode(), "application/json")


def test_a_200_whose_error_text_echoes_the_key_is_redacted_before_it_is_cut_short() -> None:
    key = "secret_1f0c9a7e5b3d2c4a8e6f0b1d3c5a7e9f"
    keys = OneKey(key)
    body = json.dumps({"message": "y" * 130 + f" api_key={key} is invalid"})
    result = check_account(
        SETTINGS.accounts[0], keys.api_keys(), keys, OkWithEcho(body), time.monotonic() + 5
    )
    assert result.error is not None
    assert not any(key[:n] in result.error.message for n in range(8, len(key) + 1)), result.error.message


def test_another_accounts_short_value_never_changes_this_reply() -> None:
    """A new account's placeholder "0" is refused for that account, and never used to redact the
    others: `{"balance": 50}` stays a balance of 50, not `{"balance": 5***}`."""
    keys = FakeKeys()
    api_keys = {**keys.api_keys(), "lemlist": "0"}

    fullenrich_result, lemlist_result = (
        check_account(account, api_keys, keys, FakeHttp(fullenrich=50, lemlist=70), time.monotonic() + 5)
        for account in SETTINGS.accounts
    )

    assert fullenrich_result.balance is not None
    assert fullenrich_result.balance.credits == 50
    assert lemlist_result.error is not None
    assert "the lemlist API key is a placeholder" in lemlist_result.error.message


class CountingKeys(FakeKeys):
    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = keys

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        return self.keys


def redaction_work_per_check(accounts: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(key forms computed, keys redacted against) per account check, in a fleet of `accounts`
    accounts with a key each, every check answered with a body that echoes its key."""
    computed: list[str] = []
    real_key_forms = keys_module.key_forms

    def counting_key_forms(key: str) -> set[str]:
        computed.append(key)
        return real_key_forms(key)

    monkeypatch.setattr(keys_module, "key_forms", counting_key_forms)
    keys_module.redactor_for.cache_clear()
    fleet = [
        Account(f"acct-{n:04d}", fullenrich.PROVIDER, f"https://fe.test/{n}", 10) for n in range(accounts)
    ]
    api_keys = {account.id: f"fe_live_{n:020d}" for n, account in enumerate(fleet)}
    source = CountingKeys(api_keys)
    sample = fleet[:10]  # the same ten checks, in a small fleet and a large one
    for account in sample:
        result = check_account(
            account,
            api_keys,
            source,
            EchoingHttp(f"unknown key {api_keys[account.id]}"),
            time.monotonic() + 5,
        )
        assert result.error is not None
        assert "unknown key ***" in result.error.message
    protected = sum(
        len(redactor.keys) for redactor in (keys_module.redactor_for(api_keys[a.id]) for a in sample)
    )
    return len(computed) // len(sample), protected // len(sample)


def test_redaction_work_per_check_does_not_grow_with_the_number_of_accounts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each check redacts against its own key, whose forms are computed once: the same work per
    check at 10 accounts and at 1,000 (issue 13)."""
    assert redaction_work_per_check(10, monkeypatch) == redaction_work_per_check(1000, monkeypatch) == (1, 1)


UTF16_ECHO = "Unknown api key " + "fe_live_4f1c9a7e2b8d4c06a1e3"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (UTF16_ECHO.encode("utf-16"), "text/plain"),  # with a BOM
        (UTF16_ECHO.encode("utf-16-le"), "text/plain"),  # without
        (UTF16_ECHO.encode("utf-16-be"), None),
        (UTF16_ECHO.encode("utf-16-le"), "text/plain; charset=UTF-16LE"),
        (UTF16_ECHO.encode("utf-16-le"), "text/plain; charset=utf-8"),  # a header that lies
        (UTF16_ECHO.encode("utf-32"), "text/plain"),
        (json.dumps({"message": UTF16_ECHO}).encode("utf-16-le"), "application/json"),
    ],
    ids=["bom", "le-no-bom", "be-no-type", "charset", "lying-charset", "utf-32", "json-utf-16"],
)
def test_an_error_body_in_another_encoding_is_decoded_then_redacted(
    body: bytes, content_type: str | None
) -> None:
    redactor = keys_module.redactor_for("fe_live_4f1c9a7e2b8d4c06a1e3")
    assert describe_error_body(body, content_type, redactor) == "Unknown api key ***"


PLUS_KEY = "Zx9+Qw2/Lm8pRt5sVb7nKc3dHj6fGa1e"
"""A key with base64's characters, which UTF-7 reads as a shifted sequence."""


@pytest.mark.parametrize(
    ("body", "content_type", "charset"),
    [
        (f"invalid key {PLUS_KEY}".encode(), "text/plain; charset=utf-7", "utf-7"),
        (f"invalid key {PLUS_KEY}".encode(), "text/plain; charset=cp037", "cp037"),  # EBCDIC
        (f"invalid key {PLUS_KEY}".encode(), "text/plain; charset=utf-16-le", "utf-16-le"),  # it lies
        (codecs.BOM_UTF16_LE + f"invalid key {PLUS_KEY}".encode(), "text/plain", "utf-16-le"),  # stray BOM
    ],
    ids=["utf-7", "ebcdic", "utf-16-declared", "utf-16-bom"],
)
def test_a_charset_that_turns_the_keys_bytes_into_other_characters_never_shows_them(
    body: bytes, content_type: str, charset: str
) -> None:
    """The key's ASCII bytes read in a charset that maps them elsewhere become text the redaction
    cannot see, and that gives the key back when encoded in that charset again."""
    described = describe_error_body(body, content_type, keys_module.redactor_for(PLUS_KEY))

    shown = described.encode("ascii", "backslashreplace").decode("unicode_escape")  # printable undone
    assert PLUS_KEY[4:12] not in shown.encode(charset, errors="ignore").decode("latin-1")
    assert PLUS_KEY[4:12] not in shown


def test_an_error_body_in_a_declared_charset_is_read_in_it() -> None:
    body = "Clé inconnue".encode("latin-1")
    assert describe_error_body(body, "text/plain; charset=ISO-8859-1") == "Clé inconnue"
    assert describe_error_body(body, 'text/plain; charset="base64"') == "Cl\ufffd inconnue"


@pytest.mark.parametrize(
    "text",
    ["bad \ud800 key", "bad \x00 key", "bad \x1b[31m key", "bad \x07 key", "bad \u202e key", "bad \x9b key"],
    ids=["lone-surrogate", "nul", "ansi-escape", "bel", "bidi-override", "c1-csi"],
)
def test_vendor_text_is_quoted_printable_and_encodable(text: str) -> None:
    described = describe_error_body(json.dumps({"message": text}).encode(), JSON)
    assert described == printable(text)  # escaped visibly: `bad \x1b[31m key`, `bad \ud800 key`
    assert described.isprintable()
    described.encode("utf-8")  # strict: a lone surrogate would raise here
