"""OAuth client credentials: the token request as RFC 6749 4.4 has it, and the reply read strictly."""

from __future__ import annotations

import base64

import pytest

from credit_monitor.model import CheckError, FailureKind
from credit_monitor.providers import Token, oauth


def test_the_client_goes_in_the_form_or_in_basic_auth() -> None:
    body = oauth.exchange("https://auth.example.com/token").build_request(
        "https://api.example", "id&1", "s=2"
    )
    basic = oauth.exchange("https://auth.example.com/token", "basic").build_request("https://x", "id", "s:2")

    assert body.body == b"grant_type=client_credentials&client_id=id%261&client_secret=s%3D2"
    assert "Authorization" not in body.headers
    assert basic.body == b"grant_type=client_credentials"
    assert basic.headers["Authorization"] == "Basic " + base64.b64encode(b"id:s:2").decode()
    assert (
        body.headers["Content-Type"] == basic.headers["Content-Type"] == "application/x-www-form-urlencoded"
    )


def test_a_relative_token_url_follows_the_accounts_base_url() -> None:
    request = oauth.exchange("/v1/oauth/access_token", relative=True).build_request(
        "https://eu.example/", "a", "b"
    )
    assert request.url == "https://eu.example/v1/oauth/access_token"


@pytest.mark.parametrize(
    ("payload", "token"),
    [
        ({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}, Token("tok", 3600)),
        ({"access_token": "tok", "token_type": "bearer", "expires_in": "120"}, Token("tok", 120)),
        ({"access_token": "tok"}, Token("tok", oauth.DEFAULT_LIFETIME_SECONDS)),
        ({"access_token": "tok", "expires_in": None}, Token("tok", oauth.DEFAULT_LIFETIME_SECONDS)),
        ({"access_token": "tok", "expires_in": True}, Token("tok", oauth.DEFAULT_LIFETIME_SECONDS)),
        ({"access_token": "tok", "expires_in": -5}, Token("tok", 0)),
        ({"access_token": "tok", "expires_in": 10**9}, Token("tok", oauth.MAX_LIFETIME_SECONDS)),
        ({"access_token": "tok", "expires_in": float("inf")}, Token("tok", oauth.DEFAULT_LIFETIME_SECONDS)),
    ],
)
def test_a_token_and_its_lifetime_bounded_and_defaulted(payload: dict[str, object], token: Token) -> None:
    assert oauth.parse_token(payload) == token


@pytest.mark.parametrize(
    ("payload", "kind", "message"),
    [
        ({}, FailureKind.AUTH, "the token exchange returned no access_token (none)"),
        ({"access_token": ""}, FailureKind.AUTH, "the token exchange returned no access_token (string)"),
        ({"access_token": 42}, FailureKind.AUTH, "the token exchange returned no access_token (number)"),
        (
            {"access_token": "a b"},
            FailureKind.BAD_RESPONSE,
            "an access_token that cannot be sent in a header",
        ),
        ({"access_token": "a\r\nX: y"}, FailureKind.BAD_RESPONSE, "an access_token that cannot be sent"),
        ({"access_token": "t" * 4097}, FailureKind.BAD_RESPONSE, "an access_token that cannot be sent"),
        ({"access_token": "t", "token_type": "mac"}, FailureKind.BAD_RESPONSE, "a 'mac' token, not bearer"),
    ],
)
def test_a_reply_without_a_usable_token_says_why(
    payload: dict[str, object], kind: FailureKind, message: str
) -> None:
    with pytest.raises(CheckError) as raised:
        oauth.parse_token(payload)
    assert raised.value.kind is kind
    assert message in raised.value.message
