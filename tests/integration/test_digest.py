"""The weekly digest through the real handler and moto: once a week, at least once, never twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from credit_monitor import app
from credit_monitor.service import DeliveryError
from tests.support.aws import Stack
from tests.support.aws_proxy import SlowReplyProxy
from tests.support.harness import Invoke, SimClock, invoke_handler
from tests.support.simulators import ApiSimulator

DIGEST_EVENT: dict[str, Any] = {"trigger": "digest", "scheduled_time": "2026-11-09T09:00:00Z"}


def test_the_digest_lists_every_account_once_for_its_week(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    clock = SimClock()
    for balance in (120, 90, 60):  # lemlist falls below its level of 100 while checked hourly
        lemlist_api.balance = balance
        invoke(clock)
        clock.advance(1)
    checks = len(stack.inbox.messages())

    first = invoke_handler(event=DIGEST_EVENT)
    retried = invoke_handler(event=DIGEST_EVENT)  # Lambda's retry, or the scheduler's

    assert first.error is None
    assert first.result == {"digest": "digest-2026-W46"}
    assert retried.result == {"digest": None}
    [message] = stack.inbox.messages()[checks:]
    attributes = {name: value["Value"] for name, value in message["MessageAttributes"].items()}
    assert (attributes["kind"], attributes["notification_id"]) == ("DIGEST", "digest-2026-W46")
    assert message["Subject"] == "[credit-monitor] Weekly digest, week of 09 Nov 2026: 1 low (2 accounts)"
    table = [line.split() for line in message["Message"].splitlines() if line.startswith("  ")]
    assert [row[0] for row in table[1:]] == ["Account", "lemlist", "fullenrich"]  # most urgent first
    assert table[2][1] == "60"
    assert table[2][4] == "warning"
    assert " ".join(table[2][5:]).startswith("subscription")  # lemlist's pools, in the note
    assert not first.emf, "a digest run checks nothing and emits no metric"


@pytest.fixture
def sns_refusing(
    function_env: dict[str, str], aws: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SlowReplyProxy]:
    """SNS behind a proxy that can refuse every publish of one kind, as SNS refuses what it will
    never accept; the rest of AWS is moto itself."""
    proxy = SlowReplyProxy(aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
    app.runtime.cache_clear()
    yield proxy
    proxy.stop()


def test_a_digest_refused_past_lambdas_retries_is_delivered_once_by_the_next_hourly_run(
    sns_refusing: SlowReplyProxy, invoke: Invoke, stack: Stack
) -> None:
    clock = SimClock(datetime.now(UTC))
    invoke(clock)
    sns_refusing.refuse_publish_of = "DIGEST"
    for _ in range(3):  # the digest invocation and Lambda's two retries
        assert isinstance(invoke_handler(event=DIGEST_EVENT).error, DeliveryError)
    sns_refusing.refuse_publish_of = None

    clock.advance(1)
    hourly = invoke(clock)
    clock.advance(1)
    later = invoke(clock)

    digests = [
        m["MessageAttributes"]["notification_id"]["Value"]
        for m in stack.inbox.messages()
        if m["MessageAttributes"]["kind"]["Value"] == "DIGEST"
    ]
    assert digests == ["digest-2026-W46"]
    assert hourly.error is None
    assert hourly.result is not None
    assert hourly.result["notifications"] == ["weekly digest: digest-2026-W46"]
    assert later.result is not None
    assert later.result["notifications"] == []
