"""Reading a balance out of a reply by a dotted path, for the catalogue and for http-json. Pure.

A path is a tuple of segments: `("data", "credits", "available")`, or `("items", "0", "credits")`
where a segment that meets an array is its index. The messages name the path as configured and
the JSON type found, never a value the server sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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


EXCERPT_CHARS = 160


def excerpt(value: object) -> str:
    """A vendor's own error text, for a message: its first line, at most 160 characters, printable.

    Pass text already redacted (`keys.Redactor`): the cut must never fall inside a key.
    """
    if not isinstance(value, str) or not value.strip():
        return ""
    return printable(value.strip().splitlines()[0], limit=EXCERPT_CHARS)
