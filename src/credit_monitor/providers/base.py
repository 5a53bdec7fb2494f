"""The one interface every provider module implements."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from credit_monitor.model import Balance


@dataclass(frozen=True)
class RetryPolicy:
    """How hard we may lean on a provider's rate limit (see each module for the numbers' source)."""

    attempts: int = 4
    """Requests at most; the deadline usually allows fewer (a retry is made only if it can finish)."""
    backoff_seconds: float = 0.5
    """Wait before the first retry after a 5xx or a dropped connection, doubling after."""
    rate_limited_backoff_seconds: float = 2.0
    """Wait before the first retry after a 429 without Retry-After, doubling after."""
    retry_after_cap_seconds: int = 5
    """A Retry-After longer than this is waited for only this long."""


@dataclass(frozen=True)
class RateLimit:
    """A provider's documented request limit per key (its workspace, team or account)."""

    requests: int
    per_seconds: float


@dataclass(frozen=True)
class Request:
    """What to send for one balance query. The key may be in a header, the body or the URL."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class HttpReply:
    """What came back: read up to a cap, by a deadline, never inflated past it (adapters/http.py)."""

    status: int
    body: bytes
    content_type: str | None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Every header, by its lower-case name (a receiver reads Retry-After from here)."""


@dataclass(frozen=True)
class Provider:
    name: str
    """Lower-case id: the `provider` of an account, and the id of a zero-config account."""
    display_name: str
    default_api_url: str
    top_up_url: str | None
    build_request: Callable[[str, str], Request]
    """(the account's API base URL, its key) -> the balance request."""
    parse_balance: Callable[[dict[str, object]], Balance]
    """A 200 reply's JSON object -> the balance, or CheckError saying what is wrong with it."""
    retry: RetryPolicy = RetryPolicy()
    rate_limit: RateLimit | None = None

    @property
    def env_prefix(self) -> str:
        return self.name.upper()
