from __future__ import annotations

import pytest

from credit_monitor.model import CheckError, FailureKind
from credit_monitor.providers import fullenrich


def test_balance_is_read_from_the_documented_field() -> None:
    assert fullenrich.parse_balance({"balance": 5000}).credits == 5000


def test_fractional_balance_is_kept_as_reported() -> None:
    assert fullenrich.parse_balance({"balance": 12.5}).credits == 12.5


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, "no 'balance' field"),
        ({"balance": "5000"}, "got string"),
        ({"balance": None}, "got null"),
        ({"balance": False}, "got boolean"),
        ({"balance": [1]}, "got array"),
        ({"balance": float("nan")}, "finite"),
        ({"balance": 10**400}, "finite"),  # parses as an int, overflows a float
    ],
)
def test_anything_but_a_number_is_a_bad_response(payload: dict[str, object], expected: str) -> None:
    with pytest.raises(CheckError) as caught:
        fullenrich.parse_balance(payload)
    assert caught.value.kind is FailureKind.BAD_RESPONSE
    assert expected in caught.value.message


def test_auth_is_a_bearer_token() -> None:
    assert fullenrich.auth_headers("k-123") == {"Authorization": "Bearer k-123"}
