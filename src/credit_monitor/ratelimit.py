"""Pacing requests so that accounts sharing a key never exceed the provider's documented limit.

One sliding window per (provider, key): at most `requests` requests start in any `per_seconds`.
Different keys are different workspaces, teams or accounts at the provider, and each has its own
limit, so two lemlist teams are paced separately while two accounts that share a key share a
window. A request that could not start before the check's deadline is not made at all: it is that
account's RATE_LIMITED failure, never a burst the provider would refuse.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable

from credit_monitor.providers import RateLimit


class RateLimiter:
    """Booked request start times per window, kept so that no `per_seconds` holds more than
    `requests` of them. A run books every account's first request up front (`reserve`) and orders
    the checks by their slots; a later request (a retry, a re-read after a 401) books and waits
    (`acquire`)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._starts: dict[tuple[str, str], deque[float]] = {}

    def reserve(self, provider: str, key: str, limit: RateLimit | None) -> float:
        """Book the earliest slot for one request and return when it starts, without waiting."""
        if limit is None or not key:
            return self._clock()
        with self._lock:
            start = self._next_slot(provider, key, limit)
            self._window(provider, key).append(start)
            return start

    def acquire(self, provider: str, key: str, limit: RateLimit | None, deadline: float) -> bool:
        """Book a slot and wait for it; False, booking nothing, if it would start after `deadline`."""
        if limit is None:
            return True
        with self._lock:
            start = self._next_slot(provider, key, limit)
            if start > deadline:
                return False
            self._window(provider, key).append(start)
        wait = start - self._clock()
        if wait > 0:
            self._sleep(wait)
        return True

    def _window(self, provider: str, key: str) -> deque[float]:
        """Keyed by a hash of the key: a raw key is never held as a name."""
        return self._starts.setdefault((provider, hashlib.sha256(key.encode()).hexdigest()), deque())

    def _next_slot(self, provider: str, key: str, limit: RateLimit) -> float:
        now = self._clock()
        starts = self._window(provider, key)
        while starts and starts[0] <= now - limit.per_seconds:
            starts.popleft()  # out of every window that can still matter
        slot = max(now, starts[-1]) if starts else now
        if len(starts) >= limit.requests:
            slot = max(slot, starts[-limit.requests] + limit.per_seconds + margin(limit))
        return slot


def margin(limit: RateLimit) -> float:
    """A booked request leaves a moment after its slot (a thread to wake, a connection to open);
    the next window's first one must not land inside the provider's count of the last window."""
    return max(0.2, limit.per_seconds * 0.1)
