"""The notification lifecycle through the real handler over simulated days: the clock is injected,
balances come from the loopback APIs, state lives in DynamoDB (moto server), notifications are
read back from the topic's SQS subscriber."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from credit_monitor import app
from credit_monitor.config import load_lambda_config
from tests.support.aws import MotoServer, Stack
from tests.support.harness import Invoke, SimClock, captured_output
from tests.support.keys import LEMLIST_KEY, assert_no_key_leaked
from tests.support.simulators import ApiSimulator


def sent(stack: Stack) -> list[str]:
    """Every notification delivered so far, as KIND/LEVEL."""
    return [
        f"{m['MessageAttributes']['kind']['Value']}/{m['MessageAttributes']['level']['Value']}"
        for m in stack.inbox.messages()
    ]


def test_slow_burn_crosses_warning_then_critical_with_a_forecast(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEMLIST_CRITICAL_THRESHOLD", "40")
    clock = SimClock()
    for balance in (160, 140, 120, 100, 80, 60, 40, 20):  # 20 credits every 6 hours
        lemlist_api.balance = balance
        invoke(clock)
        clock.advance(6)

    # At 80 credits/day, the forecast warns before the balance crosses a level, then each level once.
    assert sent(stack) == ["RUNNING OUT/OK", "LOW/WARNING", "LOW/CRITICAL"]
    running_out, warning, critical = stack.inbox.messages()
    assert running_out["Subject"] == "[credit-monitor] lemlist credits run out in about 1.5 days"
    assert critical["Subject"] == "[credit-monitor] lemlist credits below CRITICAL: 20 left"
    assert "Level crossed: CRITICAL (40 credits)" in critical["Message"]
    assert "Burn rate:     80.0 credits/day" in critical["Message"]
    assert "Days left:     about 0.2 days" in critical["Message"]
    assert "Days left:     about 1.0 days" in warning["Message"]  # 80 credits at 80/day


def test_reminder_exactly_once_per_interval(invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator) -> None:
    clock = SimClock()
    lemlist_api.balance = 50
    for _ in range(25):  # every 2 hours for 48 hours
        invoke(clock)
        clock.advance(2)

    assert sent(stack) == ["LOW/WARNING", "REMINDER/WARNING", "REMINDER/WARNING"]


def test_top_up_recovers_and_the_forecast_keeps_the_burn_with_the_new_balance(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    clock = SimClock()
    for balance in (90, 80, 70):
        lemlist_api.balance = balance
        invoke(clock)
        clock.advance(6)
    lemlist_api.balance = 5000

    run = invoke(clock)

    # LOW at once; RUNNING OUT when the forecast appears (1.75 days: more urgent news); RECOVERED.
    assert sent(stack) == ["LOW/WARNING", "RUNNING OUT/WARNING", "RECOVERED/WARNING"]
    # The top-up is not burn: the same 40 a day, with the new balance (FullEnrich is flat).
    assert run.summary()["lemlist"]["forecast"] == "burning 40.0 credits/day, about 125.0 days left"
    assert run.aggregate("MinDaysUntilEmpty") == 125
    assert "  Balance:       5,000 credits" in stack.inbox.messages()[-1]["Message"]


def test_flapping_around_the_threshold_sends_one_notification(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    clock = SimClock()
    for balance in (101, 99, 102, 98, 103, 99, 104):
        lemlist_api.balance = balance
        invoke(clock)
        clock.advance(1)

    assert sent(stack) == ["LOW/WARNING"]


def test_one_two_three_failed_checks_then_success(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    clock = SimClock()
    invoke(clock)
    lemlist_api.valid_keys = {"revoked-everywhere"}
    after_failures = []
    for _ in range(3):
        clock.advance(1)
        run = invoke(clock)
        assert run.check_failed()["lemlist"] == 1
        assert run.aggregate("AccountsFailing") == 1
        after_failures.append(sent(stack))
    lemlist_api.valid_keys = {LEMLIST_KEY}
    clock.advance(1)
    invoke(clock)

    assert after_failures == [[], [], ["CHECK FAILING/OK"]]
    assert sent(stack) == ["CHECK FAILING/OK", "CHECK RECOVERED/OK"]
    failing = stack.inbox.messages()[0]
    assert "The authentication you supplied is incorrect" in failing["Message"]


def test_history_too_short_is_reported_as_such(invoke: Invoke, lemlist_api: ApiSimulator) -> None:
    clock = SimClock()
    for balance in (500, 400):
        lemlist_api.balance = balance
        run = invoke(clock)
        clock.advance(12)

    assert run.summary()["lemlist"]["forecast"] == "not enough history for a forecast yet"
    assert run.aggregate("MinDaysUntilEmpty") is None


def test_two_overlapping_invocations_send_one_notification(
    function_env: dict[str, str],
    stack: Stack,
    moto_server: MotoServer,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
) -> None:
    """A retry and the next schedule, in two sandboxes, racing on the same OK -> LOW transition."""
    lemlist_api.balance = 10
    fullenrich_api.latency_seconds = lemlist_api.latency_seconds = 1.0  # both read state, then both wait
    clock = SimClock()
    sandboxes = [replace(app.build_runtime(load_lambda_config()), clock=clock) for _ in range(2)]
    outcomes: list[Any] = []

    def invocation(rt: app.Runtime) -> None:
        try:
            outcomes.append(app.handle(rt))
        except Exception as exc:  # recorded, asserted below
            outcomes.append(exc)

    with moto_server.recording() as recorded, captured_output() as output:
        threads = [threading.Thread(target=invocation, args=(rt,)) for rt in sandboxes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert_no_key_leaked(output.getvalue(), repr(outcomes), json.dumps(stack.inbox.messages()))
    assert all(isinstance(outcome, dict) for outcome in outcomes), outcomes
    assert sent(stack) == ["LOW/WARNING"]
    assert sorted(len(o["notifications"]) for o in outcomes) == [0, 1]
    state_reads = [r for r in recorded if r["headers"].get("X-Amz-Target", "").endswith("BatchGetItem")]
    # One read per sandbox, plus one re-read per provider whose conditional write lost the race, plus
    # one when the winner's "delivered" write comes after the loser's write (timing decides).
    assert len(state_reads) in (4, 5), "the losing writes re-read the state and decided again"
