"""The deadline arithmetic of DeadlineRetry, with an injected clock: no sleeping, no sockets."""

from __future__ import annotations

import pytest
from urllib3 import HTTPResponse
from urllib3.exceptions import MaxRetryError

from credit_monitor.adapters.http import RETRYABLE_STATUSES, DeadlineRetry


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_retry(clock: Clock, deadline_in: float, attempt_seconds: float = 2.0) -> DeadlineRetry:
    retry = DeadlineRetry(
        total=3,
        status_forcelist=RETRYABLE_STATUSES,
        backoff_factor=1.0,
        retry_after_max=5,
        raise_on_status=False,
    )
    retry.deadline, retry.attempt_seconds, retry.clock = clock() + deadline_in, attempt_seconds, clock
    return retry


def response(status: int, retry_after: str | None = None) -> HTTPResponse:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return HTTPResponse(status=status, headers=headers)


def test_first_retry_waits_the_backoff_instead_of_retrying_at_once() -> None:
    retry = make_retry(Clock(), deadline_in=10).increment("GET", "/x", response=response(429))
    assert retry.planned_wait(None) == 1.0


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    clock = Clock()
    retry = make_retry(clock, deadline_in=20)
    assert retry.planned_wait(response(429, "3")) == 3
    assert retry.planned_wait(response(429, "3600")) == 5


def test_a_retry_that_cannot_finish_before_the_deadline_is_not_attempted() -> None:
    clock = Clock()
    retry = make_retry(clock, deadline_in=6, attempt_seconds=2)
    retry = retry.increment("GET", "/x", response=response(503))  # waits 1 s: 1 + 2 <= 6
    clock.now += 3
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/x", response=response(429, "2"))  # 3 + 2 + 2 > 6


def test_the_deadline_survives_urllib3_copying_the_retry() -> None:
    clock = Clock()
    retry = make_retry(clock, deadline_in=6).increment("GET", "/x", response=response(503))
    assert (retry.deadline, retry.attempt_seconds, retry.clock) == (106.0, 2.0, clock)
