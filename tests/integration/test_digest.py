"""The weekly digest through the real handler and moto: once a week, at least once, never twice."""

from __future__ import annotations

from typing import Any

from tests.support.aws import Stack
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
    assert table[2][-1] == "warning"
    assert not first.emf, "a digest run checks nothing and emits no metric"
