"""The pure core: a check's result, balance validation, secret parsing. No I/O here."""

from __future__ import annotations

import base64
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, quote_plus


class FailureKind(StrEnum):
    """Why a check failed, coarse enough to alarm or group on."""

    SECRET = "secret"  # noqa: S105 - a failure kind, not a password
    AUTH = "auth"
    HTTP = "http"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TLS = "tls"
    BAD_RESPONSE = "bad_response"


class CheckError(Exception):
    """A provider check failed. The message is safe to log: it never contains a key."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Balance:
    """A balance as the provider reported it; `breakdown` is informational (logged, not a metric)."""

    credits: float
    breakdown: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """One provider's outcome: exactly one of `balance` and `error` is set."""

    provider: str
    threshold: float
    balance: Balance | None = None
    error: CheckError | None = None

    def __post_init__(self) -> None:
        if (self.balance is None) == (self.error is None):
            raise ValueError("a CheckResult has either a balance or an error")

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def is_low(self) -> bool:
        return self.balance is not None and self.balance.credits < self.threshold

    @property
    def status(self) -> str:
        if self.error is not None:
            return "FAILED"
        return "LOW" if self.is_low else "OK"


def require_number(value: object, where: str) -> float:
    """A balance must be a finite JSON number: bool, string and null are rejected, not coerced."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CheckError(FailureKind.BAD_RESPONSE, f"{where} must be a number, got {json_type_name(value)}")
    try:
        number = float(value)  # an integer of 400 digits parses, but overflows a float
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise CheckError(FailureKind.BAD_RESPONSE, f"{where} must be a finite number")
    return number


def json_type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "number" if isinstance(value, int | float) else type(value).__name__


def decode_json_object(body: bytes, content_type: str | None) -> dict[str, object]:
    """Decode a 200 body; HTML from a proxy or a login page is a clear failure, not a crash."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        shown = content_type or "no content type"
        raise CheckError(
            FailureKind.BAD_RESPONSE, f"response is not JSON ({shown}, {len(body)} bytes)"
        ) from None
    except ValueError:  # Python refuses to convert an integer of more than 4,300 digits
        raise CheckError(FailureKind.BAD_RESPONSE, "response has a number with too many digits") from None
    except RecursionError:
        raise CheckError(FailureKind.BAD_RESPONSE, "response is nested too deeply to be a balance") from None
    if not isinstance(payload, dict):
        raise CheckError(
            FailureKind.BAD_RESPONSE, f"response must be a JSON object, got {json_type_name(payload)}"
        )
    return payload


def parse_api_keys(secret_string: str | None) -> dict[str, str]:
    """Parse the secret's JSON, keys stripped. Errors describe the shape, never the content."""
    if secret_string is None:
        raise CheckError(FailureKind.SECRET, "secret has no SecretString (binary secrets are not supported)")
    try:
        payload = json.loads(secret_string)
    except json.JSONDecodeError:
        raise CheckError(
            FailureKind.SECRET, 'secret is not JSON; expected {"fullenrich": "<key>", "lemlist": "<key>"}'
        ) from None
    if not isinstance(payload, dict):
        raise CheckError(FailureKind.SECRET, f"secret must be a JSON object, got {json_type_name(payload)}")
    return strip_keys(payload)


def strip_keys(keys: Mapping[str, object]) -> dict[str, str]:
    """Surrounding whitespace is a paste accident (a trailing newline, most often): drop it; drop blanks."""
    return {name: value.strip() for name, value in keys.items() if isinstance(value, str) and value.strip()}


def clean_key(provider: str, raw: str | None, hint: str) -> str:
    """The key to send, or CheckError(SECRET) saying what is wrong with it, never what it is.

    Inside a key, a line break, control or non-ASCII character is a paste accident too, but one we
    cannot repair: sent, it would be rejected or, worse, end up in an error message.
    """
    key = (raw or "").strip()
    if not key:
        raise CheckError(FailureKind.SECRET, f"no API key for {provider!r} ({hint})")
    problem = _key_problem(key)
    if problem:
        raise CheckError(
            FailureKind.SECRET,
            f"the {provider} API key contains {problem}, so it was not sent; store the key exactly as issued",
        )
    return key


def _key_problem(key: str) -> str | None:
    if any(char in "\r\n\u2028\u2029" for char in key):
        return "a line break"
    if any(unicodedata.category(char) == "Cc" for char in key):
        return "a control character"
    if not key.isascii():
        return "a non-ASCII character"
    return None


KEY_FRAGMENT_MIN_CHARS = 8
"""A run of a key split off by a control character is still secret, if long enough to mean anything."""


def key_forms(key: str) -> set[str]:
    """Every form in which a key can appear in output, for `redact` and for the tests' leak check.

    Raw and stripped; escaped as repr, bytes repr (http.client's "Invalid header value b'...'") and
    JSON (log lines); URL-encoded; as HTTP Basic credentials, base64 of ":key", "key:" and the key
    (unpadded, so a padded token contains it); and long runs between unprintable characters.
    """
    forms: set[str] = set()
    for variant in {key, key.strip()}:
        if not variant:
            continue
        forms |= {
            variant,
            repr(variant)[1:-1],
            repr(variant.encode())[2:-1],
            json.dumps(variant)[1:-1],
            json.dumps(variant, ensure_ascii=False)[1:-1],
            quote(variant, safe=""),
            quote_plus(variant, safe=""),
        }
        if all(ord(char) < 256 for char in variant):
            forms.add(repr(variant.encode("latin-1"))[2:-1])
        for credentials in (f":{variant}", f"{variant}:", variant):
            encoded = credentials.encode()
            forms.add(base64.b64encode(encoded).decode().rstrip("="))
            forms.add(base64.urlsafe_b64encode(encoded).decode().rstrip("="))
        forms.update(run for run in re.split(r"[^\x21-\x7e]+", variant) if len(run) >= KEY_FRAGMENT_MIN_CHARS)
    forms.discard("")
    return forms


def redact(text: str, secrets: Iterable[str]) -> str:
    """Last line of defence: no known key, in any of its forms, survives into a message."""
    forms = {form for secret in secrets if secret for form in key_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def format_balance(value: float) -> str:
    """Whole numbers as they are, else cents rounded DOWN: rounding to nearest showed 999.999, below
    a 1,000 level, as "1,000.00". A shown figure is never more than the balance, so never on the
    wrong side of a level it is below. Decimal of the repr floors exactly (0.29 * 100 is 28.99...)."""
    from decimal import ROUND_FLOOR, Decimal

    if not math.isfinite(value) or float(value).is_integer():
        return f"{value:,.0f}"
    cents = Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return f"{cents:,.2f}"
