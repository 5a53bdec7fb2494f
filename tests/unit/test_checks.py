"""Turning a provider's reply into a balance or a failure: pure, no sockets."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import pytest

from credit_monitor.adapters.http import HttpReply, Pace
from credit_monitor.checks import check_account, describe_error_body, interpret_reply
from credit_monitor.model import CheckError, FailureKind
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
