"""Pacing requests so that accounts sharing a key never exceed the provider's documented limit.

One sliding window per (vendor, key): at most `requests` requests start in any `per_seconds`.
Different keys are different workspaces, teams or accounts at the vendor, and each has its own
limit, so two lemlist teams are paced separately while two accounts that share a key share a
window; two http-json APIs are two vendors (providers.Vendor), whatever their keys. A request
that could not start before the check's deadline is not made at all, never a burst the provider
would refuse.

Taking turns: when one key carries more different requests than a run can make (accounts whose
requests are the same make one, checks.SameRequest), each run makes one slice of them and the
others' accounts are "not checked this run" (never a failure). A run books at most half of each
window for first requests (`first_requests`): the other half is room for retries, and keeps two
overlapping runs' first requests inside the window together. The requests on a key, each named by
its first account id and sorted, take turns: a run makes the `requests_per_run` checked least
recently (by the alert state), so every account is checked at least every k runs,
k = ceil(requests / requests_per_run), whatever runs the schedule skips; without the state, by
position: run number r makes the positions p with p % k == r % k. Retries book the other half,
apart: each share is booked in time order, and together they never exceed the limit.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

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

    def reserve(self, vendor: str, key: str, limit: RateLimit | None, share: str = "") -> float:
        """Book the earliest slot for one request and return when it starts, without waiting.
        `share` names a part of the key's window booked on its own (a run's first requests)."""
        if limit is None or not key:
            return self._clock()
        with self._lock:
            start = self._next_slot(vendor, key + share, limit)
            self._window(vendor, key + share).append(start)
            return start

    def acquire(
        self, vendor: str, key: str, limit: RateLimit | None, deadline: float, share: str = ""
    ) -> bool:
        """Book a slot and wait for it; False, booking nothing, if it would start after `deadline`."""
        if limit is None:
            return True
        if limit.requests < 1:
            return False
        with self._lock:
            start = self._next_slot(vendor, key + share, limit)
            if start > deadline:
                return False
            self._window(vendor, key + share).append(start)
        wait = start - self._clock()
        if wait > 0:
            self._sleep(wait)
        return True

    def _window(self, vendor: str, key: str) -> deque[float]:
        """Keyed by a hash of the key: a raw key is never held as a name."""
        return self._starts.setdefault((vendor, hashlib.sha256(key.encode()).hexdigest()), deque())

    def _next_slot(self, vendor: str, key: str, limit: RateLimit) -> float:
        now = self._clock()
        starts = self._window(vendor, key)
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


def first_requests(limit: RateLimit) -> RateLimit:
    """The pace of a run's first requests: half of each window, the rest kept for retries."""
    return RateLimit(requests=max(1, limit.requests // 2), per_seconds=limit.per_seconds)


def retries(limit: RateLimit) -> RateLimit:
    """The pace of everything after a first request (retries, the re-read after a 401): the other
    half of each window, booked apart from the first requests so that each part stays in time order."""
    return RateLimit(requests=limit.requests - first_requests(limit).requests, per_seconds=limit.per_seconds)


FIRST = "\x00first"
RETRY = "\x00retry"
"""The two shares of one key's window (a suffix no stripped key has)."""


def requests_per_run(limit: RateLimit, seconds: float) -> int:
    """First requests one key can start within `seconds` of a run, booked as the limiter books them
    (`first_requests` at the start of each window, windows `per_seconds + margin` apart)."""
    windows = 1 + math.floor(max(0.0, seconds) / (limit.per_seconds + margin(limit)))
    return first_requests(limit).requests * windows


@dataclass(frozen=True)
class SharedKey:
    """The accounts of one vendor that use one key, and how they take turns across runs."""

    vendor: str
    limit: RateLimit
    accounts: tuple[str, ...]
    """Sorted by id: the turn of each is its position, whatever order the file lists them in."""
    per_run: int

    @property
    def turns(self) -> int:
        """k: every account is checked at least once in any k consecutive runs."""
        return max(1, math.ceil(len(self.accounts) / self.per_run))

    @property
    def over_limit(self) -> bool:
        return self.turns > 1

    def waiting(
        self, run_number: int, last_checked: Mapping[str, datetime | None] | None = None
    ) -> frozenset[str]:
        """The accounts not in turn in run `run_number`; at most `per_run` are in turn.

        Without `last_checked` (no state: the CLI, or a state table that could not be read in
        time), by position: p % k == run_number % k. With it, the `per_run` accounts checked least
        recently (never checked first; then by position, as above), which keeps the promise of
        "every account at least every k runs" whatever the schedule skips: a cron() of weekdays
        only never reaches some run numbers mod k, so turns by position alone would starve them."""
        k = self.turns
        if last_checked is None:
            return frozenset(
                account for position, account in enumerate(self.accounts) if position % k != run_number % k
            )
        never = datetime.min.replace(tzinfo=UTC)

        def urgency(item: tuple[int, str]) -> tuple[datetime, int]:
            position, account = item
            return (last_checked.get(account) or never, (position - run_number) % k)

        ranked = sorted(enumerate(self.accounts), key=urgency)
        return frozenset(account for _, account in ranked[self.per_run :])


def shared_keys(
    accounts: Iterable[tuple[str, str, RateLimit | None, str]], seconds: float
) -> list[SharedKey]:
    """Group (account id, vendor id, rate limit, key identity) by vendor and key identity: the key
    itself, or its hash, or the name of the secret entry it is read from. Accounts without a
    documented limit or without a key take no turns."""
    groups: dict[tuple[str, str], tuple[RateLimit, list[str]]] = {}
    for account, vendor, limit, key in accounts:
        if limit is not None and key:
            groups.setdefault((vendor, key), (limit, []))[1].append(account)
    return [
        SharedKey(vendor, limit, tuple(sorted(members)), requests_per_run(limit, seconds))
        for (vendor, _), (limit, members) in groups.items()
    ]


def run_number(moment: float, period_seconds: float) -> int:
    """Which turn a run takes: its (scheduled) time in whole schedule periods since the epoch, so
    consecutive scheduled runs take consecutive turns and a retry of a run takes the same one."""
    return math.floor(moment / period_seconds)
