from __future__ import annotations

import pytest

from credit_monitor.budget import AWS_CALL_SECONDS, AWS_RESERVE_SECONDS, SAFETY_MARGIN_SECONDS, Budget


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_run_ends_a_safety_margin_before_lambdas_timeout() -> None:
    clock = Clock()
    budget = Budget.start(60, check_deadline=20, clock=clock)
    assert budget.run_end == 1000 + 60 - SAFETY_MARGIN_SECONDS
    assert budget.checks_end == 1000 + 20
    assert budget.remaining() == 60 - SAFETY_MARGIN_SECONDS


def test_the_checks_leave_room_for_the_aws_calls_when_time_is_short() -> None:
    clock = Clock()
    budget = Budget.start(20, check_deadline=60, clock=clock)
    assert budget.checks_end == 1000 + 20 - SAFETY_MARGIN_SECONDS - AWS_RESERVE_SECONDS


def test_less_time_than_the_safety_margin_leaves_nothing() -> None:
    clock = Clock()
    budget = Budget.start(SAFETY_MARGIN_SECONDS / 2, check_deadline=60, clock=clock)
    assert budget.run_end == budget.checks_end == 1000
    assert budget.remaining() == 0
    assert not budget.allows_aws_call()


def test_the_budget_keeps_reading_the_clock_it_started_with() -> None:
    clock = Clock()
    budget = Budget.start(60, check_deadline=20, clock=clock)
    clock.now += 50
    assert budget.remaining() == pytest.approx(10 - SAFETY_MARGIN_SECONDS)


def test_remaining_time_never_goes_below_zero() -> None:
    clock = Clock()
    budget = Budget.start(60, check_deadline=20, clock=clock)
    clock.now += 3600
    assert budget.remaining() == 0


@pytest.mark.parametrize("calls", [1, 3])
def test_a_call_that_fits_exactly_is_allowed(calls: int) -> None:
    clock = Clock()
    budget = Budget(checks_end=1000, run_end=1000 + calls * AWS_CALL_SECONDS, clock=clock)
    assert budget.allows_aws_call(calls)
    clock.now += 0.5
    assert not budget.allows_aws_call(calls)
