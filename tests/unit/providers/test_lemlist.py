from __future__ import annotations

import base64

import pytest

from credit_monitor.model import CheckError, Pool
from credit_monitor.providers import lemlist

DOCUMENTED_EXAMPLE = {
    "credits": 100,
    "details": {"remaining": {"total": 100, "freemium": 0, "subscription": 80, "gifted": 10, "paid": 10}},
}


def test_documented_example_gives_headline_and_pools() -> None:
    balance = lemlist.parse_balance(DOCUMENTED_EXAMPLE)
    assert balance.credits == 100
    assert balance.pools == (
        Pool("subscription", 80, renews=True),
        Pool("paid", 10),
        Pool("gifted", 10),
        Pool("freemium", 0),
    )


def test_pools_are_optional() -> None:
    assert lemlist.parse_balance({"credits": 7}).pools == ()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"details": {}}, "no 'credits' field"),
        ({"credits": "100"}, "'credits' must be a number, got string"),
        ({"credits": True}, "got boolean"),
        ({"credits": 1, "details": []}, "'details' must be an object, got array"),
        ({"credits": 1, "details": {"remaining": 5}}, "'details.remaining' must be an object"),
        ({"credits": 1, "details": {"remaining": {"gifted": None}}}, "'details.remaining.gifted'"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(payload: dict[str, object], expected: str) -> None:
    with pytest.raises(CheckError, match=expected.replace("(", r"\(").replace(".", r"\.")):
        lemlist.parse_balance(payload)


def test_auth_is_basic_with_an_empty_user_and_the_key_as_password() -> None:
    header = lemlist.auth_headers("k-123")["Authorization"]
    scheme, token = header.split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == ":k-123"
