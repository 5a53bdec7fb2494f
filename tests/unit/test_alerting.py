"""The notification lifecycle, one decision at a time. Pure: no clock, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from credit_monitor.alerting import (
    AccountState,
    AlertPolicy,
    Decision,
    Kind,
    Level,
    Levels,
    Notification,
    decide,
)
from credit_monitor.forecast import Forecast, ForecastStatus, Sample, forecast
from credit_monitor.model import Balance, CheckError, CheckResult, FailureKind

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
LEVELS = Levels(warning=1000, critical=200)
POLICY = AlertPolicy(reminder_hours=24, failures_before_alert=3, min_days_left=7)


def run(state: AccountState, balance: float | None, hours: float) -> Decision:
    now = T0 + timedelta(hours=hours)
    if balance is None:
        result = CheckResult("lemlist", 1000, error=CheckError(FailureKind.TIMEOUT, "no answer"))
    else:
        result = CheckResult("lemlist", 1000, balance=Balance(balance))
    return decide(state, result, now, LEVELS, POLICY)


def kinds(decision: Decision) -> list[str]:
    return [f"{n.kind.value}/{n.level.name}" for n in decision.notifications]


def test_nothing_changes_nothing_is_sent() -> None:
    first = run(AccountState(), 5000, 0)
    assert kinds(first) == []
    assert kinds(run(first.state, 4990, 1)) == []


def test_warning_then_critical_are_two_notifications_naming_their_level() -> None:
    low = run(AccountState(), 900, 0)
    assert kinds(low) == ["LOW/WARNING"]
    assert low.notifications[0].threshold == 1000
    critical = run(low.state, 150, 1)
    assert kinds(critical) == ["LOW/CRITICAL"]
    assert critical.notifications[0].threshold == 200


def test_reminder_once_per_interval_while_low() -> None:
    state = run(AccountState(), 900, 0).state
    sent = []
    for hour in range(1, 50):
        decision = run(state, 900 - hour, hour)
        state = decision.state
        sent += [(hour, k) for k in kinds(decision)]
    assert [s for s in sent if s[1].startswith("REMINDER")] == [
        (24, "REMINDER/WARNING"),
        (48, "REMINDER/WARNING"),
    ]


def test_top_up_recovers_once() -> None:
    state = run(AccountState(), 900, 0).state
    recovered = run(state, 10_000, 1)
    assert kinds(recovered) == ["RECOVERED/WARNING"]
    assert recovered.state.level is Level.OK
    assert kinds(run(recovered.state, 9_990, 2)) == []


def test_flapping_around_the_threshold_sends_one_low_and_no_recovery() -> None:
    state, sent = AccountState(), list[str]()
    for hour, balance in enumerate([1010, 990, 1010, 995, 1020, 985, 1030]):
        decision = run(state, balance, hour)
        state, sent = decision.state, sent + kinds(decision)
    assert sent == ["LOW/WARNING"]


def test_failures_notify_after_the_third_in_a_row_and_recovery_once() -> None:
    state, sent = AccountState(), list[str]()
    for hour, balance in enumerate([None, None, None, None, 5000, 4990]):
        decision = run(state, balance, hour)
        state, sent = decision.state, sent + kinds(decision)
    assert sent == ["CHECK FAILING/OK", "CHECK RECOVERED/OK"]


def test_two_failures_then_success_say_nothing() -> None:
    state = run(run(AccountState(), None, 0).state, None, 1).state
    assert kinds(run(state, 5000, 2)) == []


def test_running_out_is_sent_once_while_the_balance_is_still_above_the_threshold() -> None:
    # 400 credits a day from 2,400: above the warning level, but about 5.5 days left at hour 12.
    state, sent = AccountState(), list[str]()
    for hour in range(0, 30, 6):
        decision = run(state, 2400 - 400 * hour / 24, hour)
        state, sent = decision.state, sent + kinds(decision)
    assert sent == ["RUNNING OUT/OK"]
    assert decision.forecast is not None
    assert decision.forecast.days_left is not None
    assert decision.forecast.days_left < 7


def test_low_carries_the_forecast_instead_of_a_separate_running_out() -> None:
    state = AccountState()
    for hour in range(0, 18, 6):
        state = run(state, 1300 - 100 * hour / 6, hour).state
    decision = run(state, 950, 18)
    assert kinds(decision) == ["LOW/WARNING"]
    forecast = decision.notifications[0].forecast
    assert forecast is not None
    assert forecast.days_left is not None
    assert decision.state.running_out_notified


def test_a_run_that_starts_a_moment_early_still_reminds() -> None:
    state = run(AccountState(), 900, 0).state
    early = run(state, 890, 24 - 10 / 3600)  # 10 seconds before the 24 hours are up
    assert kinds(early) == ["REMINDER/WARNING"]
    assert kinds(run(state, 890, 23)) == []  # but an hour early is not a reminder


def test_an_observation_older_than_the_newest_changes_nothing() -> None:
    """Two overlapping runs whose fetches finish out of order: 90 seen at t+61 min is written first,
    then 110 from the run that started at t+60 min arrives. It must not RECOVER, nor drop the 90."""
    levels = Levels(warning=100)
    at = T0 + timedelta(hours=1)
    state = decide(
        AccountState(), CheckResult("lemlist", 100, balance=Balance(110)), T0, levels, POLICY
    ).state
    newer = decide(
        state, CheckResult("lemlist", 100, balance=Balance(90)), at + timedelta(minutes=1), levels, POLICY
    )
    older = decide(newer.state, CheckResult("lemlist", 100, balance=Balance(110)), at, levels, POLICY)

    assert kinds(newer) == ["LOW/WARNING"]
    assert kinds(older) == []
    assert older.state == newer.state


def test_a_refunded_credit_does_not_re_arm_running_out() -> None:
    """Checked hourly for 4 days; jobs burn 25 credits every 6 hours (100/day) and one credit is
    refunded every 12 hours, in an hour with no job, so the balance rises by one now and then."""
    levels = Levels(warning=10)
    state, sent, balance = AccountState(), [], 600.0
    for hour in range(96):
        balance += -25 if hour % 6 == 0 else (1 if hour % 12 == 5 else 0)
        decision = decide(
            state,
            CheckResult("lemlist", 10, balance=Balance(balance)),
            T0 + timedelta(hours=hour),
            levels,
            POLICY,
        )
        sent += kinds(decision)
        state = decision.state
        if hour >= 12:
            assert decision.forecast is not None
            assert decision.forecast.days_left is not None, f"DaysUntilEmpty vanished at hour {hour}"

    assert sent.count("RUNNING OUT/OK") == 1


def test_recovered_from_critical_names_the_warning_level_it_climbed_back_above() -> None:
    state = run(AccountState(), 100, 0).state  # CRITICAL (below 200)

    [recovered] = run(state, 5000, 1).notifications

    assert recovered.level is Level.CRITICAL
    assert recovered.threshold == LEVELS.warning


def snoozed(state: AccountState, until_hours: float) -> AccountState:
    return replace(state, snoozed_until=T0 + timedelta(hours=until_hours), snooze_reason="renewal on the 1st")


def test_a_snooze_holds_back_low_and_reminders_and_one_reminder_follows_if_still_low() -> None:
    state = snoozed(AccountState(), until_hours=30)
    sent = []
    for hour in range(0, 54, 6):  # below warning all along, until just before the next daily reminder
        decision = run(state, 500, hour)
        sent.append((hour, kinds(decision)))
        state = decision.state

    assert [(hour, k) for hour, k in sent if k] == [(30, ["REMINDER/WARNING"])]
    assert state.snoozed_until is None
    assert state.level is Level.WARNING


def test_a_snooze_does_not_hold_back_check_failing_or_recovered() -> None:
    state = snoozed(run(AccountState(), 500, 0).state, until_hours=100)
    for hour in (1, 2, 3):
        decision = run(state, None, hour)
        state = decision.state
    assert kinds(decision) == ["CHECK FAILING/WARNING"]

    recovered = run(state, 5000, 4)
    assert kinds(recovered) == ["CHECK RECOVERED/WARNING", "RECOVERED/WARNING"]


def test_the_reminder_at_a_snoozes_end_carries_the_forecast_alone() -> None:
    """The snooze ends on the run where the forecast first appears: one REMINDER, not two messages."""
    levels = Levels(warning=100)
    state = replace(AccountState(), snoozed_until=T0 + timedelta(hours=7))
    sent = []
    for hour, balance in ((0, 90), (6, 80), (12, 70)):
        decision = decide(
            state,
            CheckResult("lemlist", 100, balance=Balance(balance)),
            T0 + timedelta(hours=hour),
            levels,
            POLICY,
        )
        sent.append(kinds(decision))
        state = decision.state

    assert sent == [[], [], ["REMINDER/WARNING"]]


def samples(*points: tuple[float, float]) -> tuple[Sample, ...]:
    """(hours after T0, balance) pairs."""
    return tuple(Sample(T0 + timedelta(hours=h), b) for h, b in points)


def test_check_failing_carries_the_account_level_count_and_reason() -> None:
    state = run(AccountState(), 900, 0).state
    for hour in (1, 2, 3):
        decision = run(state, None, hour)
        state = decision.state

    assert decision.notifications == [
        Notification(
            Kind.CHECK_FAILING,
            "lemlist",
            Level.WARNING,
            failures=3,
            reason="no answer",
            failure=FailureKind.TIMEOUT,
        )
    ]


def test_check_recovered_carries_the_balance_and_the_failures_and_resets_them() -> None:
    state = run(AccountState(), 900, 0).state
    for hour in (1, 2, 3):
        state = run(state, None, hour).state

    recovered = run(state, 890, 4)

    assert recovered.notifications == [
        Notification(Kind.CHECK_RECOVERED, "lemlist", Level.WARNING, balance=890, failures=3)
    ]
    assert recovered.state.consecutive_failures == 0
    assert recovered.state.failing_notified is False


def test_low_carries_the_account_balance_threshold_and_forecast() -> None:
    assert run(AccountState(), 900, 0).notifications == [
        Notification(
            Kind.LOW,
            "lemlist",
            Level.WARNING,
            balance=900,
            threshold=1000,
            forecast=Forecast(ForecastStatus.NOT_ENOUGH_HISTORY),
        )
    ]


def test_a_first_balance_inside_the_recovery_margin_is_ok() -> None:
    """The margin only delays a recovery: from OK, 1,020 is above a warning level of 1,000."""
    first = run(AccountState(), 1020, 0)
    assert kinds(first) == []
    assert first.state.level is Level.OK


def test_a_balance_equal_to_the_critical_level_is_only_a_warning() -> None:
    assert kinds(run(AccountState(), 200, 0)) == ["LOW/WARNING"]


def test_climbing_exactly_to_the_recovery_margin_recovers_and_clears_the_reminder_clock() -> None:
    state = run(AccountState(), 900, 0).state
    recovered = run(state, 1050, 1)
    assert kinds(recovered) == ["RECOVERED/WARNING"]
    assert recovered.state.notified_at is None


def test_a_reminder_is_due_exactly_at_the_interval_less_the_slack() -> None:
    state = run(AccountState(), 900, 0).state
    assert kinds(run(state, 900, 24 - 5 / 60)) == ["REMINDER/WARNING"]


def test_exactly_min_days_left_is_not_running_out() -> None:
    """240 credits a day and 1,680 left: exactly 7 days, the limit, which is not fewer."""
    state = AccountState(samples=samples((0, 2160), (24, 1920)), checked_at=T0 + timedelta(hours=24))
    decision = run(state, 1680, 48)
    assert decision.forecast is not None
    assert decision.forecast.days_left == 7
    assert kinds(decision) == []


def test_running_out_re_arms_at_exactly_twice_min_days_left() -> None:
    state = AccountState(
        running_out_notified=True, samples=samples((0, 3840), (24, 3600)), checked_at=T0 + timedelta(hours=24)
    )
    decision = run(state, 3360, 48)
    assert decision.forecast is not None
    assert decision.forecast.days_left == 14
    assert decision.state.running_out_notified is False


def test_running_out_re_arms_when_the_balance_stops_depleting() -> None:
    state = AccountState(
        running_out_notified=True, samples=samples((0, 3000), (24, 3000)), checked_at=T0 + timedelta(hours=24)
    )
    assert run(state, 3000, 48).state.running_out_notified is False


def test_check_recovered_does_not_replace_running_out() -> None:
    state = AccountState(
        consecutive_failures=3,
        failing_notified=True,
        samples=samples((0, 1720), (24, 1480)),
        checked_at=T0 + timedelta(hours=24),
    )
    assert kinds(run(state, 1240, 48)) == ["CHECK RECOVERED/OK", "RUNNING OUT/OK"]


def test_a_snooze_ending_while_the_balance_is_ok_sends_nothing() -> None:
    state = snoozed(AccountState(), until_hours=1)
    decision = run(state, 5000, 2)
    assert kinds(decision) == []
    assert decision.state.snoozed_until is None
    assert decision.state.snooze_reason is None


def test_a_snooze_keeps_its_reason_while_it_lasts() -> None:
    state = snoozed(AccountState(), until_hours=10)
    assert run(state, 500, 1).state.snooze_reason == "renewal on the 1st"


def test_the_reminder_at_a_snoozes_end_restarts_the_reminder_clock() -> None:
    """LOW at 0, snoozed until 10: the reminder at 11 is the snooze's, and the next is due 24 h later."""
    state = snoozed(run(AccountState(), 500, 0).state, until_hours=10)
    for hour in (5, 11):
        decision = run(state, 500, hour)
        state = decision.state
    assert kinds(decision) == ["REMINDER/WARNING"]
    assert state.notified_at == T0 + timedelta(hours=11)

    assert kinds(run(state, 500, 24)) == []
    assert kinds(run(state, 500, 35)) == ["REMINDER/WARNING"]


def test_a_stale_observation_still_reports_the_recorded_forecast() -> None:
    recorded = samples((0, 1480), (24, 1240), (48, 1000))
    state = AccountState(samples=recorded, checked_at=T0 + timedelta(hours=48))
    decision = run(state, 5000, 47)
    assert decision.state == state
    assert decision.forecast is not None
    assert decision.forecast == forecast(recorded)
    assert decision.forecast.status is ForecastStatus.DEPLETING
