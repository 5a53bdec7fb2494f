"""The deadline arithmetic and pacing of DeadlineRetry, with an injected clock: no sleeping, no sockets."""

from __future__ import annotations

import time

import pytest
from urllib3 import HTTPResponse
from urllib3.exceptions import MaxRetryError

from credit_monitor.adapters.http import RETRYABLE_STATUSES, DeadlineRetry, HttpClient, build_pool_manager
from credit_monitor.model import CheckError, FailureKind
from credit_monitor.providers import RetryPolicy, fullenrich


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


@pytest.mark.parametrize(
    "retry_after", ["soon", "9" * 5000, "Fri, 31 Dec 99999 23:59:59 GMT"], ids=["word", "digits", "date"]
)
def test_a_malformed_retry_after_falls_back_to_the_backoff(retry_after: str) -> None:
    retry = make_retry(Clock(), deadline_in=10).increment("GET", "/x", response=response(503, retry_after))
    assert retry.planned_wait(response(503, retry_after)) == 1.0


def test_a_429_without_retry_after_backs_off_longer_than_a_5xx() -> None:
    clock = Clock()
    policy = RetryPolicy(backoff_seconds=0.5, rate_limited_backoff_seconds=2.0)
    outage = DeadlineRetry.for_policy(policy, clock() + 10, 2.0, clock).increment("GET", "/x", response(503))
    limited = DeadlineRetry.for_policy(policy, clock() + 10, 2.0, clock).increment("GET", "/x", response(429))
    assert outage.planned_wait(None) == 0.5
    assert limited.planned_wait(None) == 2.0
    assert limited.increment("GET", "/x", response(429)).planned_wait(None) == 4.0


def retries_within(policy: RetryPolicy, deadline_in: float, status: int) -> int:
    """How many retries of instant `status` replies fit, with the timeouts a 10 s check uses."""
    clock = Clock()
    retry = DeadlineRetry.for_policy(policy, clock() + deadline_in, attempt_seconds=5.0, clock=clock)
    count = 0
    while True:
        try:
            retry = retry.increment("GET", "/x", response=response(status))
        except MaxRetryError:
            return count
        clock.now += retry.planned_wait(None)
        count += 1


def test_fullenrich_retries_an_outage_as_often_as_its_deadline_allows() -> None:
    assert retries_within(fullenrich.PROVIDER.retry, deadline_in=10, status=503) >= 2


def test_fullenrich_rate_limit_gets_one_patient_retry() -> None:
    assert retries_within(fullenrich.PROVIDER.retry, deadline_in=10, status=429) == 1


def test_a_request_with_no_time_left_is_not_made() -> None:
    client = HttpClient(build_pool_manager())  # sockets are disabled here: any attempt would fail the test
    with pytest.raises(CheckError) as caught:
        client.get("https://api.example/credits", {}, RetryPolicy(), deadline=time.monotonic() - 1)
    assert caught.value.kind is FailureKind.TIMEOUT
