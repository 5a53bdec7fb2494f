"""The model: a check's result and the validation of what a provider sent. Pure, no I/O."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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
    """A check failed. The message is safe to log: it never contains a key."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Pool:
    """A named part of a balance, as the vendor splits it (lemlist's subscription, paid, gifted and
    freemium credits). `renews`: the part a plan's renewal refills (lemlist's subscription credits);
    the others stay until used. Shown in messages, `status` and the digest; alerts stay on the
    account's whole balance."""

    name: str
    credits: float
    renews: bool = False


@dataclass(frozen=True)
class Balance:
    """A balance as the provider reported it.

    Every provider builds one, so this is where a computed balance (a sum of parts, a difference)
    is held to the rule a received one is: a finite number, or a BAD_RESPONSE. Two finite parts
    can add up to Infinity, which would be reported as OK, emitted as a metric and stored.

    `pools`: the vendor's split of the balance, when its reply gives one. `quota`: the period's
    allowance of a plan that renews (Hunter's `available`), informational. `renews_at`: the
    renewal the reply itself announces (Hunter's `reset_date`), which wins over one declared in the
    accounts file. `currency`: an ISO 4217 code when the balance is money, not credits."""

    credits: float
    pools: tuple[Pool, ...] = ()
    quota: float | None = None
    renews_at: datetime | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.credits):
            raise CheckError(FailureKind.BAD_RESPONSE, "the balance must be a finite number")
        for pool in self.pools:
            if not math.isfinite(pool.credits):
                raise CheckError(
                    FailureKind.BAD_RESPONSE,
                    f"{pool.name[:40]!r} in the balance's pools must be a finite number",
                )
        if self.quota is not None and not math.isfinite(self.quota):
            raise CheckError(FailureKind.BAD_RESPONSE, "the quota must be a finite number")


@dataclass(frozen=True)
class CheckResult:
    """One account's outcome: exactly one of `balance`, `error` and `not_checked` is set.

    `not_checked` (the reason) is an account this run did not check: waiting its turn on a key
    shared by more accounts than fit in one run (ratelimit.py), or a check our own run could not
    start before the deadline. It is not a failure: the provider was never asked."""

    account: str
    threshold: float
    balance: Balance | None = None
    error: CheckError | None = None
    not_checked: str | None = None

    def __post_init__(self) -> None:
        if [self.balance, self.error, self.not_checked].count(None) != 2:
            raise ValueError("a CheckResult has exactly one of a balance, an error and a not_checked reason")

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def checked(self) -> bool:
        """The provider was asked this run (successfully or not)."""
        return self.not_checked is None


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
