"""Turning a provider's reply into a balance or a failure: pure, no sockets."""

from __future__ import annotations

import pytest

from credit_monitor.adapters.http import HttpReply
from credit_monitor.checks import describe_error_body, interpret_reply
from credit_monitor.model import CheckError, FailureKind
from credit_monitor.providers import fullenrich, lemlist

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
