"""Reading a balance out of a reply by a dotted path, for the catalogue and for http-json. Pure.

A path is a tuple of segments: `("data", "credits", "available")`, or `("items", "0", "credits")`
where a segment that meets an array is its index. The messages name the path as configured and
the JSON type found, never a value the server sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from credit_monitor.model import CheckError, FailureKind, json_type_name, require_number
from credit_monitor.printable import printable

NUMERIC_STRING = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?")
"""What a numeric string may look like: "123", "-1", "123.5". No exponent, no spaces, no sign +."""


def dotted(path: Sequence[str]) -> str:
    return ".".join(path)


def find(payload: object, path: Sequence[str]) -> object:
    """The value at `path`, or CheckError(BAD_RESPONSE) saying which segment is missing."""
    value = payload
    for depth, segment in enumerate(path):
        here = dotted(path[: depth + 1])
        if isinstance(value, dict):
            if segment not in value:
                raise CheckError(FailureKind.BAD_RESPONSE, f"response has no '{here}' field")
            value = value[segment]
        elif isinstance(value, list):
            index = int(segment) if segment.isascii() and segment.isdigit() and len(segment) <= 6 else None
            if index is None or index >= len(value):
                raise CheckError(
                    FailureKind.BAD_RESPONSE,
                    f"response has no '{here}' item (an array of {len(value)} at that point)",
                )
            value = value[index]
        else:
            parent = dotted(path[:depth])
            raise CheckError(
                FailureKind.BAD_RESPONSE,
                f"response has no '{here}' field ('{parent}' is a JSON {json_type_name(value)})",
            )
    return value


def number(value: object, where: str, *, numeric_string: bool = False) -> float:
    """A finite JSON number; with `numeric_string`, also a decimal string such as "123.5".

    Booleans, null and any other string are refused either way: a balance is never guessed at.
    """
    if numeric_string and isinstance(value, str):
        if not NUMERIC_STRING.fullmatch(value):
            raise CheckError(
                FailureKind.BAD_RESPONSE, f"{where} must be a number or a numeric string, got another string"
            )
        return require_number(float(value), where)
    return require_number(value, where)


def number_at(payload: object, path: Sequence[str], *, numeric_string: bool = False) -> float:
    return number(find(payload, path), f"'{dotted(path)}'", numeric_string=numeric_string)


MAX_DATE_CHARS = 40
"""Longer than any ISO 8601 date and time with fractions and an offset."""
MAX_RENEWAL_DAYS = 3660
"""Ten years: a renewal further away is not a plan's period but a mistake."""


def renewal_date(value: object, where: str) -> datetime | None:
    """A renewal the reply announces, as an aware UTC time; None for null (no renewal known).

    ISO 8601 as vendors send it: a date ("2026-07-01", Hunter and SendGrid: 00:00 UTC), a date and
    time with an offset or Z ("2026-07-01 20:52:28+00:00", Prospeo; "2022-11-01T23:59:59.999Z",
    Apify), or without one ("2022-04-18T10:05:58.134716", ScrapingBee: read as UTC)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise CheckError(FailureKind.BAD_RESPONSE, f"{where} must be a date, got {json_type_name(value)}")
    text = value.strip()
    if len(text) > MAX_DATE_CHARS:
        raise CheckError(FailureKind.BAD_RESPONSE, f"{where} must be a date, got a longer string")
    try:
        parsed = (
            datetime.combine(date.fromisoformat(text), time(), UTC)
            if len(text) == len("YYYY-MM-DD")
            else datetime.fromisoformat(text)
        )
    except ValueError:
        raise CheckError(
            FailureKind.BAD_RESPONSE, f"{where} must be an ISO 8601 date, got another string"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def renewal_in_days(value: object, where: str, now: datetime, *, numeric_string: bool = False) -> datetime:
    """The start (00:00 UTC) of the day that many days from `now`'s (Snov.io's `limit_resets_in`):
    the same instant every run of that day, whatever the time of the check."""
    days = number(value, where, numeric_string=numeric_string)
    if not 0 <= days <= MAX_RENEWAL_DAYS:
        raise CheckError(
            FailureKind.BAD_RESPONSE, f"{where} must be a number of days from 0 to {MAX_RENEWAL_DAYS:,}"
        )
    today = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    return today + timedelta(days=int(days))


def currency_code(value: object, where: str) -> str:
    """An ISO 4217 code ("USD", "EUR"), upper-cased: a vendor that sends "usd" still means dollars."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise CheckError(
            FailureKind.BAD_RESPONSE,
            f"{where} must be a three-letter currency code, got "
            + ("another string" if isinstance(value, str) else json_type_name(value)),
        )
    return value.upper()


EXCERPT_CHARS = 160


def excerpt(value: object) -> str:
    """A vendor's own error text, for a message: its first line, at most 160 characters, printable.

    Pass text already redacted (`keys.Redactor`): the cut must never fall inside a key.
    """
    if not isinstance(value, str) or not value.strip():
        return ""
    return printable(value.strip().splitlines()[0], limit=EXCERPT_CHARS)
