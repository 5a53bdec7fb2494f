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
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._starts: dict[tuple[str, str], deque[float]] = {}

    def acquire(self, provider: str, key: str, limit: RateLimit | None, deadline: float) -> bool:
        """Wait for a slot; False if none frees up before `deadline` (absolute, on the clock)."""
        if limit is None:
            return True
        window = (provider, hashlib.sha256(key.encode()).hexdigest())  # never hold a raw key as a name
        while True:
            with self._lock:
                now = self._clock()
                starts = self._starts.setdefault(window, deque())
                while starts and starts[0] <= now - limit.per_seconds:
                    starts.popleft()
                if len(starts) < limit.requests:
                    starts.append(now)
                    return True
                wait = starts[0] + limit.per_seconds - now
            if now + wait > deadline:
                return False
            self._sleep(wait)
