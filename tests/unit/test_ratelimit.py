"""Pacing by provider and key, on a simulated clock."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from credit_monitor.providers import RateLimit
from credit_monitor.ratelimit import (
    RateLimiter,
    SharedKey,
    first_requests,
    requests_per_run,
    retries,
    run_number,
    shared_keys,
)

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


# Taking turns: a key shared by more accounts than one run can check.


def share(count: int, per_run: int) -> SharedKey:
    return SharedKey("lemlist", LEMLIST, tuple(f"team-{n:04d}" for n in range(count)), per_run)


def test_a_run_starts_half_of_each_window_as_first_requests_the_rest_is_for_retries() -> None:
    assert first_requests(LEMLIST) == RateLimit(requests=10, per_seconds=2)
    assert first_requests(RateLimit(requests=1, per_seconds=60)).requests == 1
    # Windows open every 2.2 s (2 s and the margin): at 0, 2.2, 4.4, 6.6 within 8 s.
    assert requests_per_run(LEMLIST, 8.0) == 40
    assert requests_per_run(LEMLIST, 0.0) == 10
    assert requests_per_run(RateLimit(requests=10, per_seconds=60), 8.0) == 5  # Bouncer: one window


def test_requests_per_run_is_what_the_limiter_books_before_that_time() -> None:
    """The planned number and the limiter's booking agree, so a slice in turn is never refused."""
    for seconds in (0.0, 1.0, 2.19, 2.2, 5.0, 8.0, 12.5):
        clock = Clock()
        limiter = RateLimiter(clock, clock.sleep)
        slots = [limiter.reserve("lemlist", "k", first_requests(LEMLIST)) for _ in range(200)]
        assert sum(slot <= seconds + 1e-9 for slot in slots) == requests_per_run(LEMLIST, seconds), seconds


def test_every_account_on_a_shared_key_is_checked_within_k_consecutive_runs() -> None:
    for count in (1, 9, 10, 11, 39, 40, 41, 60, 199, 200, 201, 1000):
        for per_run in (1, 7, 10, 40, 50):
            shared = share(count, per_run)
            k = shared.turns
            assert k == -(-count // per_run)
            for first in (0, 1, 5, 480_123):  # any run number: consecutive ones from anywhere
                checked: Counter[str] = Counter()
                for run in range(first, first + k):
                    in_turn = set(shared.accounts) - shared.waiting(run)
                    assert len(in_turn) <= per_run, (count, per_run, run)
                    checked.update(in_turn)
                assert set(checked) == set(shared.accounts), (count, per_run, first)
                assert set(checked.values()) == {1}, "each exactly once in k runs: no account favoured"


def test_a_key_that_fits_takes_no_turns() -> None:
    shared = share(40, 40)
    assert shared.turns == 1
    assert not shared.over_limit
    assert shared.waiting(7) == frozenset()


def test_an_overlapping_run_takes_the_same_turn_and_the_next_run_the_next() -> None:
    hour = 3600.0
    nine = 1_767_603_600.0  # 2026-01-05T09:00:00Z
    assert run_number(nine, hour) == run_number(nine, hour)  # a retry carries the same scheduled time
    assert run_number(nine + hour, hour) == run_number(nine, hour) + 1
    assert run_number(nine + 5 * hour, hour) == run_number(nine, hour) + 5
    shared = share(200, 50)
    assert shared.waiting(run_number(nine, hour)) != shared.waiting(run_number(nine + hour, hour))


def test_a_changed_account_list_delays_an_account_by_fewer_than_k_runs_once() -> None:
    """Adding or removing one account shifts the turns after it by one position. Across the change,
    no account waits more than 2k - 1 runs (k - 1 late, once); the k-run promise then holds again."""
    per_run = 10
    for count in (25, 40, 41):
        base = [f"team-{n:04d}" for n in range(count)]
        changes = [sorted([*base, f"team-{n:04d}x"]) for n in range(0, count, 3)]
        changes += [base[:n] + base[n + 1 :] for n in range(0, count, 3)]
        for after in changes:
            before_key = SharedKey("lemlist", LEMLIST, tuple(base), per_run)
            after_key = SharedKey("lemlist", LEMLIST, tuple(after), per_run)
            if after_key.turns != before_key.turns:
                continue
            k = before_key.turns
            for change_at in range(k):
                last: dict[str, int] = {}
                worst = 0
                for run in range(-k, 3 * k):
                    key = before_key if run < change_at else after_key
                    for account in set(key.accounts) - key.waiting(run):
                        if account in last:
                            worst = max(worst, run - last[account])
                        last[account] = run
                assert worst <= 2 * k - 1, (count, change_at)


def test_two_overlapping_runs_first_requests_stay_inside_the_window_together() -> None:
    """Each run books first requests at half of each window, so two runs that overlap, at any offset,
    never start more than the limit in any window between them (retries aside)."""
    for offset in (0.0, 0.3, 1.0, 1.9, 2.1):
        starts = []
        for begin in (0.0, offset):
            clock = Clock()
            clock.now = begin
            limiter = RateLimiter(clock, clock.sleep)
            starts += [limiter.reserve("lemlist", "k", first_requests(LEMLIST)) for _ in range(40)]
        starts.sort()
        busiest = max(sum(1 for s in starts if t <= s < t + LEMLIST.per_seconds) for t in starts)
        assert busiest <= LEMLIST.requests, offset


def test_accounts_group_by_provider_and_key_and_only_with_a_documented_limit() -> None:
    groups = shared_keys(
        [
            ("a", "lemlist", LEMLIST, "team"),
            ("b", "lemlist", LEMLIST, "team"),
            ("c", "lemlist", LEMLIST, "other"),
            ("d", "bouncer", LEMLIST, "team"),  # another provider: another window
            ("e", "lemlist", LEMLIST, ""),  # no key: fails on its own, takes no turn
            ("f", "fullenrich", None, "team"),  # no documented limit
        ],
        8.0,
    )
    assert sorted((g.vendor, g.accounts) for g in groups) == [
        ("bouncer", ("d",)),
        ("lemlist", ("a", "b")),
        ("lemlist", ("c",)),
    ]


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


def test_a_weekday_schedule_still_checks_every_account_sharing_a_key() -> None:
    """cron(0 9 ? * MON-FRI *) with SCHEDULE_PERIOD_SECONDS 86400 and k = 7: by position alone, the
    weekend residues of the day number mod 7 never come. With the state's last checks, the accounts
    checked least recently go first, so each is checked at least every 7 runs."""
    shared = share(7, per_run=1)
    assert shared.turns == 7
    monday_9am = datetime(2026, 11, 2, 9, tzinfo=UTC)
    last_checked: dict[str, datetime | None] = dict.fromkeys(shared.accounts)
    runs_since: dict[str, int] = dict.fromkeys(shared.accounts, 0)
    for week in range(8):
        for weekday in range(5):
            now = monday_9am + timedelta(days=week * 7 + weekday)
            in_turn = set(shared.accounts) - shared.waiting(run_number(now.timestamp(), 86_400), last_checked)
            assert len(in_turn) == 1
            for account in shared.accounts:
                runs_since[account] = 0 if account in in_turn else runs_since[account] + 1
                assert runs_since[account] < shared.turns, f"{account} waited {shared.turns} runs"
            last_checked.update(dict.fromkeys(in_turn, now))


def test_turns_by_state_go_to_the_accounts_never_checked_then_the_oldest() -> None:
    shared = share(5, per_run=2)
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    last = {
        "team-0000": t0,
        "team-0001": None,
        "team-0002": t0 - timedelta(hours=2),
        "team-0003": t0 - timedelta(hours=1),
    }  # team-0004 is not in the state at all: never checked
    assert set(shared.accounts) - shared.waiting(7, last) == {"team-0001", "team-0004"}
    last.update({"team-0001": t0, "team-0004": t0})
    assert set(shared.accounts) - shared.waiting(7, last) == {"team-0002", "team-0003"}


def test_accounts_checked_at_the_same_time_take_turns_by_position() -> None:
    shared = share(6, per_run=2)  # k = 3
    same = dict.fromkeys(shared.accounts, datetime(2026, 11, 2, 9, tzinfo=UTC))
    for run in range(3):
        assert shared.waiting(run, same) == shared.waiting(run)


def test_first_requests_and_retries_share_each_window_exactly() -> None:
    for requests in range(1, 8):
        limit = RateLimit(requests=requests, per_seconds=60)
        assert first_requests(limit).requests + retries(limit).requests == requests
        assert retries(limit).per_seconds == 60


def test_no_retry_is_made_on_a_key_whose_first_requests_take_its_whole_window() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, clock.sleep)
    no_room = retries(RateLimit(requests=1, per_seconds=60))

    assert no_room.requests == 0
    assert limiter.acquire("bouncer", "k", no_room, deadline=3600.0) is False
    assert clock.slept == []


def test_a_run_shorter_than_one_window_plans_one_window() -> None:
    short = RateLimit(requests=2, per_seconds=0.5)  # windows 0.7 s apart with the margin
    assert requests_per_run(short, 0.5) == 1
