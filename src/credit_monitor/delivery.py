"""Delivery to a receiver: the one port every receiver (Slack, Teams, PagerDuty, a webhook, an SNS
topic) is behind, and the rules they all follow. Pure.

Receivers differ in their format and its limits (payloads.py), never in these rules. A delivery is:
- ACCEPTED: the receiver took the message (a 2xx without an error in its body); `ack` is what it
  gave back to identify it, when it gives something (SNS's MessageId, PagerDuty's dedup_key);
- REFUSED: it will not take this message as it is, and sending it again changes nothing until
  someone acts: a 4xx other than 408 and 429, a 2xx with an error in its body, a redirect (never
  followed), or a receiver misconfigured (its secret entry missing, an http:// URL...);
- RETRY_LATER: it may take it later: a 408 or 429 (with Retry-After, when given), a 5xx, a timeout,
  a refused or dropped connection, a TLS failure, a reply that could not be read whole.

`accepted` lists the notification ids a delivery settled: all of the message's when it was
accepted, none when it was not, except for PagerDuty, which gets one event per account and may
take some before it refuses or throttles the rest (each event is idempotent by its dedup_key).

A receiver's URL or key is a secret: `url_problem` and the other checks here describe what is wrong
with one without ever repeating it, and `url_secrets` gives what a Redactor must remove.
`entry_problem` is the one check of a receiver's secret entry: the function's, before it sends, and
the CLI's `keys` commands' and `make deploy`'s, which must judge an entry exactly as it does.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import unquote, urlsplit

from credit_monitor.keys import KEY_FRAGMENT_MIN_CHARS, NotAString, is_placeholder
from credit_monitor.messages import RenderedMessage
from credit_monitor.routes import ReceiverKind, ReceiverSpec

MAX_URL_CHARS = 2048
"""Teams Workflows URLs run to about 400 characters (a signature in the query string); Slack's to 80."""
MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60
"""A longer Retry-After is read as this: the next runs try again anyway, and a year is a typo."""
ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")
"""PagerDuty: "the 32 character Integration Key" of an Events API v2 integration (or a ruleset's)."""
MIN_SIGNING_SECRET_CHARS = 16
"""An HMAC key shorter than this is guessable; 32 random characters or more is what to store."""
DETAIL_CHARS = 300


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    RETRY_LATER = "retry later"


@dataclass(frozen=True)
class Delivery:
    """What one receiver did with one message. `detail` is a sentence for logs, `status` and
    `test-alert`: printable, bounded, and redacted (no URL, key or secret of any receiver's)."""

    outcome: Outcome
    detail: str
    ack: str | None = None
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (Retry-After), when it said."""
    accepted: tuple[str, ...] = ()
    """The ids of the notifications this delivery settled (see the module's docstring)."""

    @classmethod
    def accepted_all(cls, message: RenderedMessage, detail: str, ack: str | None = None) -> Delivery:
        return cls(Outcome.ACCEPTED, detail, ack=ack, accepted=tuple(message.ids))

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ACCEPTED


class Receiver(Protocol):
    """The port. `deliver` never raises for anything the receiver or the network does: every
    failure is a Delivery, so one receiver's trouble never hides another's."""

    @property
    def id(self) -> str:
        """Stable while the accounts file names the same receiver: "slack:acme-slack"."""
        ...

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        """Send `message`, by `deadline` (absolute, time.monotonic()), however the receiver behaves."""
        ...

    def fits(self, message: RenderedMessage) -> bool:
        """Whether `message` goes whole; a message that does not is cut, with a pointer to
        `credit-monitor status`, never refused for its size (a group can be split to fit first)."""
        ...


def outcome_of(status: int) -> Outcome:
    """The same rule for every receiver answering over HTTP."""
    if 200 <= status < 300:
        return Outcome.ACCEPTED
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY_LATER
    return Outcome.REFUSED  # 1xx, 3xx (never followed: a redirect could lead a secret anywhere), 4xx


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header's delay: seconds, or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit alone takes "²", which int() refuses
        digits = text.lstrip("0")  # 1*DIGIT: "030" is 30 seconds
        if len(digits) > len(str(MAX_RETRY_AFTER_SECONDS)):  # over the cap, however long: not parsed
            return float(MAX_RETRY_AFTER_SECONDS)
        return float(min(int(digits or 0), MAX_RETRY_AFTER_SECONDS))
    try:
        at = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if at.tzinfo is None:
        return None  # RFC 9110: an HTTP date is GMT; without a zone we would guess
    return min(max(0.0, (at - now).total_seconds()), MAX_RETRY_AFTER_SECONDS)


def url_problem(value: str) -> str | None:
    """What is wrong with a receiver's URL, without repeating it (it is a secret), or None.

    Any https URL is accepted (a proxy, Slack Enterprise Grid, a Power Automate region), and
    nothing else: http would send the alerts, and the URL itself, in clear.
    """
    if not re.fullmatch(rf"[!-~]{{1,{MAX_URL_CHARS}}}", value):
        return (
            f"is not a URL: it has spaces, line breaks or non-ASCII characters, or is longer than"
            f" {MAX_URL_CHARS} characters; store the URL exactly as the service gave it"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return "is not a valid URL (check the host and the port)"
    if parts.scheme.lower() == "http":
        return (
            "is an http:// URL; only https:// is accepted, since http would send alerts and the URL in clear"
        )
    if parts.scheme.lower() != "https" or not parts.hostname:
        return "is not an https:// URL"
    if parts.username is not None or parts.password is not None:
        return "has credentials before the host (user:password@); store only the URL the service gave"
    if parts.fragment:
        return "has a #fragment, which is never sent; store the URL exactly as the service gave it"
    return None


def url_secrets(url: str) -> tuple[str, ...]:
    """What to redact of a receiver's URL: everything after its host (where Slack, Teams and most
    webhooks keep their token), as written and decoded. The scheme and host are no secret, and an
    error that names the host stays readable."""
    parts = urlsplit(url)
    rest = url[len(f"{parts.scheme}://{parts.netloc}") :]
    return tuple(
        secret for secret in dict.fromkeys((rest, unquote(rest))) if len(secret) >= KEY_FRAGMENT_MIN_CHARS
    )


def routing_key_problem(value: str) -> str | None:
    if is_placeholder(value):
        return "is a placeholder, not a routing key; store the integration key PagerDuty shows"
    if not ROUTING_KEY.fullmatch(value):
        return (
            "is not a PagerDuty routing key (32 letters and digits: the Integration Key of an Events API v2"
            " integration)"
        )
    return None


def signing_secret_problem(value: str) -> str | None:
    if not re.fullmatch(r"[!-~]+", value):
        return "has spaces, line breaks or non-ASCII characters; store printable ASCII, e.g. 64 hex digits"
    if is_placeholder(value):
        return "is a placeholder, not a secret; store a random one, e.g. from `openssl rand -hex 32`"
    if len(value) < MIN_SIGNING_SECRET_CHARS:
        return (
            f"is shorter than {MIN_SIGNING_SECRET_CHARS} characters, too easy to guess; store a random one,"
            " e.g. from `openssl rand -hex 32`"
        )
    return None


def entry_problem(spec: ReceiverSpec, entry: str, secrets: Mapping[str, str]) -> str | None:
    """What the function refuses in `entry`, one of the secret entries `spec` reads, said without
    its value ("is missing; ...", "is an http:// URL; ..."); None when it would send with it.
    `secrets`: the API-keys secret's entries as the function reads them (keys.strip_keys: stripped,
    blanks dropped, a value that is not a string kept as a NotAString)."""
    holds = spec.holds(entry)
    value = secrets.get(entry)
    if isinstance(value, NotAString):
        got = f"an {value.json_type}" if value.json_type[0] in "aeiou" else f"a {value.json_type}"
        return f"must be a JSON string holding {holds}, got {got}"
    if not value:
        return f"is missing; add it to the API-keys secret, holding {holds}"
    if entry == spec.signing:
        return signing_secret_problem(value)
    return routing_key_problem(value) if spec.kind is ReceiverKind.PAGERDUTY else url_problem(value)


def receiver_secrets(spec: ReceiverSpec, secrets: Mapping[str, str]) -> tuple[str, ...]:
    """What of the secret a receiver uses, for a redactor of everything said near it: its URL's
    secret part (url_secrets), routing key or signing secret, as stored."""
    found: list[str] = []
    for entry in spec.entries:
        value = secrets.get(entry)
        if not value or isinstance(value, NotAString):
            continue
        found += (
            [value] if spec.kind is ReceiverKind.PAGERDUTY or entry == spec.signing else url_secrets(value)
        )
    return tuple(found)
