"""The one interface every provider module implements."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
class Provider:
    name: str
    """Lower-case id: the metric dimension value, the secret's JSON key, the env var prefix."""
    display_name: str
    default_api_url: str
    path: str
    top_up_url: str
    auth_headers: Callable[[str], Mapping[str, str]]
    parse_balance: Callable[[dict[str, object]], Balance]
    retry: RetryPolicy = RetryPolicy()

    @property
    def env_prefix(self) -> str:
        return self.name.upper()
