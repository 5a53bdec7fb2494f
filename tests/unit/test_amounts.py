"""An amount in its account's unit: credits as they always were, money with its symbol or code,
every figure rounded down so it is never above the real balance."""

from __future__ import annotations

import pytest

from credit_monitor.amounts import ZERO_DECIMAL, ascii_amounts, format_amount, format_rate


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (12.4, "USD", "$12.40"),
        (8, "EUR", "€8.00"),
        (3.1, "GBP", "£3.10"),
        (1234.7, "JPY", "¥1,234"),  # no minor unit: whole yen, rounded down
        (12.4, "CHF", "12.40 CHF"),  # no symbol of its own: the code after the amount
        (12.4, "CAD", "12.40 CAD"),  # "$" would read as US dollars
        (5000.99, "KRW", "5,000 KRW"),
        (0, "USD", "$0.00"),
        (-0.0, "USD", "$0.00"),
        (1_234_567.891, "USD", "$1,234,567.89"),
    ],
)
def test_money_shows_its_symbol_or_code_and_its_minor_unit(value: float, currency: str, shown: str) -> None:
    assert format_amount(value, currency) == shown
    assert format_amount(value, currency, credits_word=False) == shown  # money always says its unit


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (19.999, "USD", "$19.99"),  # to nearest it would be $20.00, at a $20 level it is below
        (0.29, "EUR", "€0.29"),  # 0.29 * 100 is 28.999...: flooring must not lose a cent
        (99.995, "GBP", "£99.99"),
        (999.9999999999, "CHF", "999.99 CHF"),
        (1999.9, "JPY", "¥1,999"),
        (-3.105, "USD", "-$3.11"),  # down is away from zero below it: never above the balance
        (-0.001, "EUR", "-€0.01"),
        (-12.4, "CHF", "-12.40 CHF"),
        (-7, "JPY", "-¥7"),
    ],
)
def test_money_is_rounded_down_never_up_negative_balances_included(
    value: float, currency: str, shown: str
) -> None:
    assert format_amount(value, currency) == shown


def test_huge_amounts_are_shown_whole_with_their_unit() -> None:
    assert format_amount(1e20, "USD") == "$100,000,000,000,000,000,000.00"
    assert format_amount(1e20, "JPY") == "¥100,000,000,000,000,000,000"
    assert format_amount(1e20) == "100,000,000,000,000,000,000 credits"
    assert format_amount(-1e16 - 2, "EUR") == "-€10,000,000,000,000,002.00"


def test_credits_are_shown_as_they_always_were() -> None:
    assert format_amount(1234) == "1,234 credits"
    assert format_amount(1234, credits_word=False) == "1,234"
    assert format_amount(999.999) == "999.99 credits"
    assert format_amount(-3.5, credits_word=False) == "-3.50"


def test_a_burn_rate_is_a_tenth_of_a_credit_or_an_amount_of_money_to_the_nearest() -> None:
    """A rate is no balance: rounded down, 3.1999... dollars a day (a float's 3.20) read $3.19."""
    assert format_rate(120) == "120.0 credits"
    assert format_rate(1234.56, credits_word=False) == "1,234.6"
    assert format_rate(3.1999999, "USD") == "$3.20"
    assert format_rate(3.209, "USD") == "$3.21"
    assert format_rate(3.2, "CHF", credits_word=False) == "3.20 CHF"
    assert format_rate(1234.5, "JPY") == "¥1,234"
    assert format_rate(1234.6, "JPY") == "¥1,235"  # to the nearest yen: not rounded down as a balance is
    assert format_rate(float("inf"), "USD") == "inf USD"  # no figure to round: still in its currency


def test_the_zero_decimal_currencies_are_iso_4217s() -> None:
    assert {"JPY", "KRW", "CLP", "ISK", "VND"} <= ZERO_DECIMAL
    assert not {"USD", "EUR", "GBP", "CHF", "KWD"} & ZERO_DECIMAL


def test_an_sns_subject_gets_the_code_for_a_symbol_outside_ascii() -> None:
    assert ascii_amounts("Vonage below warning: €8.00 left") == "Vonage below warning: 8.00 EUR left"
    assert ascii_amounts("-£3.10, ¥1,234 and $12.40") == "-3.10 GBP, 1,234 JPY and $12.40"
    assert ascii_amounts("a € sign alone, 5 credits") == "a € sign alone, 5 credits"
