"""An amount in an account's unit, as people read it: credits ("1,234 credits") or money in the
account's currency ("$12.40", "€8.00", "12.40 CHF"). Pure.

A balance is credits unless its provider says it is money (`model.Balance.currency`, an ISO 4217
code). Every figure is rounded DOWN, so a shown balance is never more than the real one, and never
on the wrong side of a level it is below. Money always shows its minor unit (two decimals; none
for a currency that has none, such as the yen), so "$12.40" never reads as "$12.4" or "$12".
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_FLOOR, Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
"""The currencies shown with a symbol before the amount. Kept to symbols that name one currency
only: "$" is also the Canadian and Australian dollar's, so those show their code ("12.40 CAD"),
as does every currency not listed here ("12.40 CHF")."""
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV"}
    | {"XAF", "XOF", "XPF"}
)
"""ISO 4217's currencies without a minor unit (exponent 0): "¥1,234", "5,000 KRW". Every other
currency shows two decimals (the few with three, such as the Kuwaiti dinar, are cut to two, still
rounded down)."""
CREDITS = "credits"

_ASCII = {symbol: code for code, symbol in SYMBOLS.items() if not symbol.isascii()}
_SYMBOL_AMOUNT = re.compile(f"(-?)([{''.join(_ASCII)}])([0-9][0-9,]*(?:\\.[0-9]+)?)")


def format_balance(value: float) -> str:
    """A number of credits: whole numbers as they are, else cents rounded DOWN. Rounding to nearest
    showed 999.999, below a 1,000 level, as "1,000.00". Decimal of the repr floors exactly (0.29 *
    100 is 28.99...)."""
    if not math.isfinite(value) or float(value).is_integer():
        return f"{value:,.0f}"
    cents = Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return f"{cents:,.2f}"


def format_amount(value: float, currency: str | None = None, *, credits_word: bool = True) -> str:
    """`value` in its account's unit: "1,234 credits" (without `credits_word`: "1,234", for a table's
    column or a subject's "1,234 left"), or money, always with its symbol or code: "$12.40",
    "-€3.10", "¥1,234", "12.40 CHF"."""
    if currency is None:
        figure = format_balance(value)
        return f"{figure} {CREDITS}" if credits_word else figure
    if not math.isfinite(value):
        return f"{value:,.0f} {currency}"
    digits = 0 if currency in ZERO_DECIMAL else 2
    if float(value).is_integer():  # exact as it is; a float this large has no fraction to floor
        amount = Decimal(int(value))
        shown = f"{abs(value):,.0f}" + ("." + "0" * digits if digits else "")
    else:
        amount = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_FLOOR)
        shown = f"{abs(amount):,.{digits}f}"
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{shown}" if symbol else f"{sign}{shown} {currency}"


def format_rate(per_day: float, currency: str | None = None, *, credits_word: bool = True) -> str:
    """A burn rate per day, without the "/day": credits to a tenth ("120.0 credits"), money to its
    minor unit ("$3.20"). Both to the nearest: a rate is no balance, and rounding it down would
    show a burn smaller than it is (3.1999... dollars a day, a float's 3.20, as "$3.19")."""
    if currency is None:
        return f"{per_day:,.1f} {CREDITS}" if credits_word else f"{per_day:,.1f}"
    if not math.isfinite(per_day):
        return format_amount(per_day, currency)
    return format_amount(round(per_day, 0 if currency in ZERO_DECIMAL else 2), currency)


def ascii_amounts(text: str) -> str:
    """`text` with each amount written with a symbol outside ASCII given its code instead
    ("€8.00" is "8.00 EUR"), for an SNS subject, which takes printable ASCII only."""
    return _SYMBOL_AMOUNT.sub(lambda m: f"{m[1]}{m[3]} {_ASCII[m[2]]}", text)
