"""Pacing by provider and key, on a simulated clock."""

from __future__ import annotations

import pytest

from credit_monitor.providers import RateLimit
from credit_monitor.ratelimit import RateLimiter

LEMLIST = RateLimit(requests=20, per_seconds=2)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_one_key_never_starts_more_than_its_limit_in_any_window() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    starts = []
    for _ in range(50):
        assert limiter.acquire("lemlist", "team-key", LEMLIST, deadline=60)
        starts.append(clock.now)

    assert max(sum(1 for s in starts if t <= s < t + 2) for t in starts) == 20
    assert clock.now == 4.4  # 50 requests: two waits of a 2 s window, each with its margin


def test_different_keys_are_different_teams_with_their_own_limit() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    for team in range(30):
        assert limiter.acquire("lemlist", f"team-{team}", LEMLIST, deadline=60)
    assert clock.slept == []


def test_a_request_that_cannot_start_before_the_deadline_is_not_made() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    lusha = RateLimit(requests=5, per_seconds=60)
    granted = [limiter.acquire("lusha", "key", lusha, deadline=10) for _ in range(6)]

    assert granted == [True] * 5 + [False]
    assert clock.slept == []  # it did not wait for a slot it could not use


def test_no_documented_limit_means_no_pacing() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    assert all(limiter.acquire("http-json", "k", None, deadline=0) for _ in range(100))


def test_a_run_books_its_first_requests_without_waiting_window_after_window() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)

    slots = [limiter.reserve("lemlist", "team-key", LEMLIST) for _ in range(45)]

    assert slots == [0.0] * 20 + [2.2] * 20 + [4.4] * 5  # each window a margin after the last
    assert clock.slept == []
    assert limiter.reserve("lemlist", "another-team", LEMLIST) == 0.0


def test_a_retry_after_the_booked_slots_waits_for_the_next_window() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    for _ in range(20):
        limiter.reserve("lemlist", "team-key", LEMLIST)

    assert limiter.acquire("lemlist", "team-key", LEMLIST, deadline=10)
    assert clock.now == 2.2


def test_a_request_a_whole_window_after_the_last_starts_at_once() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    one_a_minute = RateLimit(requests=1, per_seconds=60)
    assert limiter.reserve("lusha", "key", one_a_minute) == 0
    clock.now = 60
    assert limiter.reserve("lusha", "key", one_a_minute) == 60


def test_a_booking_never_lands_before_one_already_booked() -> None:
    """Booked slots stay in order, which the window's count relies on."""
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    two_per_10s = RateLimit(requests=2, per_seconds=10)
    assert [limiter.reserve("p", "key", two_per_10s) for _ in range(3)] == [0, 0, 11]
    clock.now = 10.5
    assert limiter.reserve("p", "key", two_per_10s) == 11


def test_a_slot_starting_exactly_at_the_deadline_is_granted_and_waited_for() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    one_per_2s = RateLimit(requests=1, per_seconds=2)
    assert limiter.acquire("p", "key", one_per_2s, deadline=60)
    clock.now = 1.7
    assert limiter.acquire("p", "key", one_per_2s, deadline=2.2)  # slot: 0 + 2 s + 0.2 s margin
    assert clock.slept == [pytest.approx(0.5)]


def test_an_account_without_a_key_is_not_paced() -> None:
    """Its check fails on the missing key before any request; it must not take another's slot."""
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    one_a_minute = RateLimit(requests=1, per_seconds=60)
    assert [limiter.reserve("lusha", "", one_a_minute) for _ in range(3)] == [0, 0, 0]
    assert limiter.reserve("lusha", "key", None) == 0
