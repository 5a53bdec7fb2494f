"""The catalogue modules without a socket: each request as its vendor documents it, and each
reply that is a 200 but not a balance."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from credit_monitor.model import Balance, CheckError, FailureKind, Pool
from credit_monitor.providers import (
    CATALOGUE,
    PROVIDERS,
    RateLimit,
    clearout,
    hunter,
    neverbounce,
    zerobounce,
)

KEY = "k-123"


def test_catalogue_holds_every_built_in_by_name_and_providers_the_zero_config_pair() -> None:
    assert [provider.name for provider in PROVIDERS] == ["fullenrich", "lemlist"]
    assert list(CATALOGUE) == [
        "fullenrich",
        "lemlist",
        *sorted(
            (
                *("apify", "bettercontact", "bouncer", "brevo", "brightdata", "clearout", "dropcontact"),
                *("emailable", "findymail", "hunter", "icypeas", "leadmagic", "lusha", "millionverifier"),
                *("neverbounce", "prospeo", "scrapingbee", "sendgrid", "serpapi", "snovio", "twilio"),
                *("vonage", "zerobounce"),
            )
        ),
    ]
    assert "http-json" not in CATALOGUE
    with pytest.raises(TypeError):
        CATALOGUE["x"] = PROVIDERS[0]  # type: ignore[index]


def test_documented_rate_limits() -> None:
    assert {name: provider.rate_limit for name, provider in CATALOGUE.items()} == {
        "fullenrich": RateLimit(60, 60),
        "lemlist": RateLimit(20, 2),
        "bouncer": RateLimit(10, 60),
        "clearout": None,
        "dropcontact": RateLimit(60, 1),
        "hunter": None,
        "lusha": RateLimit(5, 60),
        "neverbounce": None,
        "zerobounce": RateLimit(50_000, 3600),
        "scrapingbee": RateLimit(6, 60),  # the usage endpoint's own limit
        "snovio": RateLimit(60, 60),  # the whole API's
        **dict.fromkeys(
            (
                *("apify", "bettercontact", "brevo", "brightdata", "emailable", "findymail", "icypeas"),
                *("leadmagic", "millionverifier", "prospeo", "sendgrid", "serpapi", "twilio", "vonage"),
            )
        ),
    }


@pytest.mark.parametrize(
    ("name", "url", "headers"),
    [
        ("zerobounce", "https://api.zerobounce.net/v2/getcredits?api_key=k-123", {}),
        ("neverbounce", "https://api.neverbounce.com/v4.2/account/info?key=k-123", {}),
        ("hunter", "https://api.hunter.io/v2/usage", {"X-API-KEY": KEY}),
        ("lusha", "https://api.lusha.com/v3/account/usage", {"api_key": KEY}),
        ("dropcontact", "https://api.dropcontact.com/v1/account/credits", {"X-Access-Token": KEY}),
        ("bouncer", "https://api.usebouncer.com/v1.1/credits", {"x-api-key": KEY}),
        (
            "clearout",
            "https://api.clearout.io/v2/email_verify/getcredits",
            {"Authorization": f"Bearer {KEY}"},
        ),
    ],
)
def test_each_vendor_is_asked_where_and_how_it_documents(
    name: str, url: str, headers: dict[str, str]
) -> None:
    provider = CATALOGUE[name]
    request = provider.build_request(provider.default_api_url, KEY)
    assert (request.method, request.url, dict(request.headers), request.body) == ("GET", url, headers, None)


def test_a_query_key_is_url_encoded() -> None:
    request = zerobounce.build_request("https://api-eu.zerobounce.net/v2", "a/b+c&d")
    assert request.url == "https://api-eu.zerobounce.net/v2/getcredits?api_key=a%2Fb%2Bc%26d"


@pytest.mark.parametrize(
    ("parse", "payload", "kind", "message"),
    [
        (
            zerobounce.parse_balance,
            {"Credits": "-1"},
            FailureKind.AUTH,
            "ZeroBounce says the API key is invalid",
        ),
        (
            zerobounce.parse_balance,
            {"error": "Invalid API key"},
            FailureKind.BAD_RESPONSE,
            "ZeroBounce error: Invalid",
        ),
        (zerobounce.parse_balance, {}, FailureKind.BAD_RESPONSE, "response has no 'Credits' field"),
        (
            zerobounce.parse_balance,
            {"Credits": "12 345"},
            FailureKind.BAD_RESPONSE,
            "'Credits' must be a number",
        ),
        (
            neverbounce.parse_balance,
            {},
            FailureKind.BAD_RESPONSE,
            "NeverBounce reply has no status string (got null)",
        ),
        (
            neverbounce.parse_balance,
            {"status": "auth_failure"},
            FailureKind.AUTH,
            "NeverBounce auth_failure, key rejected",
        ),
        (
            neverbounce.parse_balance,
            {"status": "s" * 100},
            FailureKind.BAD_RESPONSE,
            "NeverBounce status '" + "s" * 39 + "…'",
        ),
        (
            neverbounce.parse_balance,
            {"status": "success", "credits_info": []},
            FailureKind.BAD_RESPONSE,
            "'credits_info' must be an object, got array",
        ),
        (
            neverbounce.parse_balance,
            {"status": "success", "credits_info": {"free_credits_remaining": 5}},
            FailureKind.BAD_RESPONSE,
            "response has no 'credits_info.paid_credits_remaining' field",
        ),
        (
            neverbounce.parse_balance,
            {
                "status": "success",
                "credits_info": {"paid_credits_remaining": 5, "free_credits_remaining": "5"},
            },
            FailureKind.BAD_RESPONSE,
            "'credits_info.free_credits_remaining' must be a number, got string",
        ),
        (
            hunter.parse_balance,
            {"data": {}},
            FailureKind.BAD_RESPONSE,
            "response has no 'data.requests' field",
        ),
        (
            hunter.parse_balance,
            {"data": {"requests": {"credits": {"used": 1}}}},
            FailureKind.BAD_RESPONSE,
            "response has no 'data.requests.credits.remaining' field",
        ),
        (
            CATALOGUE["lusha"].parse_balance,
            {"usage": {"remaining": 850}},
            FailureKind.BAD_RESPONSE,
            "response has no 'credits' field",
        ),
        (
            CATALOGUE["dropcontact"].parse_balance,
            {"credits_left": 3},
            FailureKind.BAD_RESPONSE,
            "response has no 'credits' field",
        ),
        (
            CATALOGUE["bouncer"].parse_balance,
            {"credits": None},
            FailureKind.BAD_RESPONSE,
            "'credits' must be a number, got null",
        ),
        (
            clearout.parse_balance,
            {"status": "success", "data": {}},
            FailureKind.BAD_RESPONSE,
            "no 'data.available_credits'",
        ),
    ],
)
def test_a_200_that_is_not_a_balance_says_why(
    parse: Callable[[dict[str, object]], Balance], payload: dict[str, object], kind: FailureKind, message: str
) -> None:
    with pytest.raises(CheckError, match=re.escape(message)) as raised:
        parse(payload)
    assert raised.value.kind is kind


def test_balances_as_documented() -> None:
    assert zerobounce.parse_balance({"Credits": "12345"}).credits == 12345
    assert zerobounce.parse_balance({"Credits": 0}).credits == 0
    balance = neverbounce.parse_balance(
        {
            "status": "success",
            "credits_info": {"paid_credits_remaining": 9950791, "free_credits_remaining": 9},
        }
    )
    assert (balance.credits, balance.pools) == (9950800, (Pool("paid", 9950791), Pool("free", 9)))
    assert (
        neverbounce.parse_balance(
            {"status": "success", "credits_info": {"paid_credits_remaining": 3}}
        ).credits
        == 3
    )
    assert (
        CATALOGUE["lusha"]
        .parse_balance({"credits": {"total": 10000, "used": 1500, "remaining": 8500}})
        .credits
        == 8500
    )
    assert CATALOGUE["dropcontact"].parse_balance({"credits": 42}).credits == 42
    assert CATALOGUE["bouncer"].parse_balance({"credits": 1000}).credits == 1000
    assert (
        clearout.parse_balance({"status": "success", "data": {"available_credits": 114563}}).credits == 114563
    )


def test_neverbounce_parts_that_overflow_when_added_are_a_bad_response() -> None:
    reply: dict[str, object] = {
        "status": "success",
        "credits_info": {"paid_credits_remaining": 1.7e308, "free_credits_remaining": 1.7e308},
    }
    with pytest.raises(CheckError) as caught:
        neverbounce.parse_balance(reply)
    assert caught.value.kind is FailureKind.BAD_RESPONSE
    assert "must be a finite number" in caught.value.message
