"""The notification lifecycle, one decision at a time. Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from credit_monitor.alerting import (
    MAX_RUN,
    AccountState,
    AlertPolicy,
    Decision,
    Family,
    Kind,
    Level,
    Levels,
    Notification,
    Pending,
    Rules,
    decide,
    ended,
)
from credit_monitor.forecast import Forecast, ForecastStatus, Sample, forecast, with_used
from credit_monitor.model import Balance, CheckError, CheckResult, FailureKind, Pool
from credit_monitor.renewal import Renewal

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


def test_an_account_not_checked_this_run_changes_nothing_and_is_not_a_failure() -> None:
    """Waiting its turn on a shared key, run after run: never CHECK FAILING, and the failures in a
    row before and after it are not reset or counted by it."""
    waiting = CheckResult("lemlist", 1000, not_checked="waiting its turn")
    state = run(run(AccountState(), 5000, 0).state, None, 1).state
    for hour in range(2, 50):
        decision = decide(state, waiting, T0 + timedelta(hours=hour), LEVELS, POLICY)
        assert decision.state == state
        assert decision.notifications == []
        assert decision.forecast == forecast(state.samples)  # status and metrics still show it
    assert state.consecutive_failures == 1
    assert kinds(run(run(state, None, 50).state, None, 51)) == ["CHECK FAILING/OK"]


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


def sequence(levels: Levels, balances: list[float], state: AccountState | None = None) -> list[str]:
    """Hourly checks of `balances`; the notifications sent, in order."""
    state, sent = state or AccountState(), list[str]()
    for hour, balance in enumerate(balances):
        result = CheckResult("lemlist", levels.warning, balance=Balance(balance))
        decision = decide(state, result, T0 + timedelta(hours=hour), levels, POLICY)
        state, sent = decision.state, sent + kinds(decision)
    return sent


def test_flapping_around_the_critical_level_sends_one_critical() -> None:
    levels = Levels(warning=100, critical=50)

    assert sequence(levels, [80, 49, 50, 49, 50, 49]) == ["LOW/WARNING", "LOW/CRITICAL"]


def test_a_drop_straight_to_critical_then_flapping_sends_one_notification() -> None:
    levels = Levels(warning=100, critical=50)

    assert sequence(levels, [500, 49, 50, 49, 51, 49, 52, 48]) == ["LOW/CRITICAL"]


def test_leaving_critical_needs_the_margin_above_the_critical_level() -> None:
    levels = Levels(warning=100, critical=50)
    # 53 is past the 5 % margin (52.5): the account is back to WARNING, silently; 49 is a new crossing.
    assert sequence(levels, [49, 52, 53, 49]) == ["LOW/CRITICAL", "LOW/CRITICAL"]


def test_a_recovery_straight_from_critical_to_ok_is_one_recovered() -> None:
    levels = Levels(warning=100, critical=50)

    assert sequence(levels, [40, 200, 199, 40]) == ["LOW/CRITICAL", "RECOVERED/CRITICAL", "LOW/CRITICAL"]
    # 104 is inside the warning margin: WARNING (silently), and OK only from 105.
    assert sequence(levels, [40, 104, 105]) == ["LOW/CRITICAL", "RECOVERED/WARNING"]


def test_the_critical_margin_never_keeps_a_balance_above_the_warning_level_critical() -> None:
    """With the levels close together, the critical margin (5 % above 99) would reach past the warning
    level: above warning, the account is at most WARNING."""
    levels = Levels(warning=100, critical=99)

    assert levels.classify(101, Level.CRITICAL) is Level.WARNING
    assert levels.classify(103.9, Level.CRITICAL) is Level.WARNING
    assert levels.classify(99.5, Level.CRITICAL) is Level.CRITICAL
    assert levels.classify(99.5, Level.WARNING) is Level.WARNING
    assert levels.classify(105, Level.CRITICAL) is Level.OK


PARIS = ZoneInfo("Europe/Paris")
PARIS_POLICY = replace(POLICY, schedule_timezone=PARIS)


def reminders(runs: list[datetime], policy: AlertPolicy = PARIS_POLICY) -> list[str]:
    """A balance below warning at every run; the local (Paris) time of each REMINDER."""
    state, sent = AccountState(), list[str]()
    for at in runs:
        decision = decide(state, CheckResult("lemlist", 1000, balance=Balance(500)), at, LEVELS, policy)
        state = decision.state
        sent += [
            f"{at.astimezone(PARIS):%m-%d %H:%M}" for n in decision.notifications if n.kind is Kind.REMINDER
        ]
    return sent


def daily(first: datetime, days: int) -> list[datetime]:
    """A cron() schedule at 09:00 in Paris: the same wall-clock time each day, 23 or 25 hours apart
    on the days the clocks change."""
    return [(first + timedelta(days=day)).astimezone(UTC) for day in range(days)]


def hourly(first: datetime, hours: int) -> list[datetime]:
    return [first.astimezone(UTC) + timedelta(hours=hour) for hour in range(hours)]


def test_a_daily_reminder_follows_the_schedules_wall_clock_over_the_23_hour_day() -> None:
    runs = daily(datetime(2026, 3, 27, 9, tzinfo=PARIS), days=5)  # clocks go forward on the 29th

    assert reminders(runs) == ["03-28 09:00", "03-29 09:00", "03-30 09:00", "03-31 09:00"]


def test_a_daily_reminder_follows_the_schedules_wall_clock_over_the_25_hour_day() -> None:
    runs = daily(datetime(2026, 10, 23, 9, tzinfo=PARIS), days=5)  # clocks go back on the 25th

    assert reminders(runs) == ["10-24 09:00", "10-25 09:00", "10-26 09:00", "10-27 09:00"]


def test_an_hourly_schedule_reminds_at_the_same_local_time_across_both_changes() -> None:
    spring = hourly(datetime(2026, 3, 27, 9, tzinfo=PARIS), hours=24 * 4)
    autumn = hourly(datetime(2026, 10, 23, 9, tzinfo=PARIS), hours=24 * 4)

    assert reminders(spring) == ["03-28 09:00", "03-29 09:00", "03-30 09:00", "03-31 09:00"]
    assert reminders(autumn) == ["10-24 09:00", "10-25 09:00", "10-26 09:00"]


def test_in_utc_a_reminder_comes_every_reminder_hours() -> None:
    runs = hourly(datetime(2026, 3, 27, 9, tzinfo=PARIS), hours=24 * 3)

    assert reminders(runs, POLICY) == ["03-28 09:00", "03-29 10:00"]  # 24 real hours: 10:00 in summer time


def test_the_reminder_at_a_snoozes_end_restarts_the_reminder_clock() -> None:
    """The REMINDER sent when the snooze ends counts as the last notification: the next one is
    `reminder_hours` after it, not never."""
    state = snoozed(AccountState(), until_hours=30)
    sent = []
    for hour in range(0, 84, 6):  # low all along; the held reminder of hour 24 does not count
        decision = run(state, 500, hour)
        sent += [(hour, k) for k in kinds(decision)]
        state = decision.state

    assert sent == [(30, "REMINDER/WARNING"), (54, "REMINDER/WARNING"), (78, "REMINDER/WARNING")]


def test_running_out_re_arms_when_the_forecast_stops_depleting() -> None:
    """RUNNING OUT, then the balance creeps back up in steps too small to be a top-up until the
    forecast is no longer depleting; when it falls fast again, RUNNING OUT is sent again. (With
    MIN_DAYS_LEFT 60 the forecast never climbs past twice that on the way: only the end of the
    depletion re-arms it.)"""
    levels, policy = Levels(warning=10), replace(POLICY, min_days_left=60)
    balances = [2400, 2300, 2200, 2250, 2300, 2350, 2400, 2450, 2500, 2550, 2150, 1750, 1350]
    state, sent, statuses = AccountState(), list[tuple[int, str]](), list[str]()
    for step, balance in enumerate(balances):
        result = CheckResult("lemlist", 10, balance=Balance(balance))
        decision = decide(state, result, T0 + timedelta(hours=6 * step), levels, policy)
        state, sent = decision.state, sent + [(step, k) for k in kinds(decision)]
        assert decision.forecast is not None
        statuses.append(decision.forecast.status.value)

    assert "not depleting" in statuses  # the forecast did stop depleting in between
    # At 6 the forecast stops depleting: the RUNNING OUT is CLEARED (for PagerDuty). At 10 the burn
    # is back: RUNNING OUT again. At 11 the time left has more than halved since (21.5 days to 7.4):
    # sent again, with the new date.
    assert sent == [
        (2, "RUNNING OUT/OK"),
        (6, "CLEARED/OK"),
        (10, "RUNNING OUT/OK"),
        (11, "RUNNING OUT/OK"),
    ]


def test_a_checked_at_from_the_future_is_reported_and_never_silences_the_account() -> None:
    """A restore or a skewed clock wrote checked_at two days ahead: every later observation would
    look stale. The run decides on its own balance, records checked_at = now and says so."""
    future = T0 + timedelta(days=2)
    skewed = replace(
        run(AccountState(), 5000, -1).state,
        checked_at=future,
        samples=(Sample(T0 - timedelta(hours=1), 5000), Sample(future, 4000)),
    )

    decision = run(skewed, 500, 0)

    assert kinds(decision) == ["LOW/WARNING"]
    assert decision.future_checked_at == future
    assert decision.state.checked_at == T0
    assert [s.at for s in decision.state.samples] == [
        T0 - timedelta(hours=1),
        T0,
    ]  # no sample from the future
    later = run(decision.state, 400, 1)
    assert later.future_checked_at is None
    assert later.state.checked_at == T0 + timedelta(hours=1)


def test_a_level_of_zero_has_hysteresis_too() -> None:
    """critical = 0 (or warning = 0) on a vendor whose balance can go negative: a 5 % margin of 0
    is none, and a one-credit wobble across it sent LOW after LOW (or LOW, RECOVERED, LOW...)."""
    for levels, first in (
        (Levels(warning=100, critical=0), "LOW/CRITICAL"),
        (Levels(warning=0), "LOW/WARNING"),
    ):
        state, sent = AccountState(), list[str]()
        for hour, balance in enumerate([500, -1, 0, -1, 0, -1, 0]):
            decision = decide(
                state,
                CheckResult("lemlist", 1000, balance=Balance(balance)),
                T0 + timedelta(hours=hour),
                levels,
                POLICY,
            )
            state, sent = decision.state, sent + kinds(decision)
        assert sent.count(first) == 1
        assert "RECOVERED/WARNING" not in sent


def test_a_notified_at_from_the_future_is_reported_and_never_holds_the_reminders_back() -> None:
    """A hand-edited or restored item says it notified two days ahead while its checked_at is in
    the past: every reminder would wait for that moment, silently. It is a timestamp from the
    future like a checked_at ahead, reported, and the reminders run on this run's clock."""
    future = T0 + timedelta(days=2)
    low = run(AccountState(), 500, -25).state
    skewed = replace(low, notified_at=future)

    decision = run(skewed, 500, 0)

    assert decision.future_checked_at == future
    assert decision.state.notified_at is not None
    assert decision.state.notified_at <= T0
    assert kinds(run(decision.state, 500, 24)) == ["REMINDER/WARNING"]


def test_a_checked_at_from_the_future_starts_no_reminder_clock_for_an_account_never_notified() -> None:
    ok = replace(run(AccountState(), 5000, -1).state, checked_at=T0 + timedelta(days=2))

    decision = run(ok, 4900, 0)

    assert (kinds(decision), decision.state.notified_at) == ([], None)


def test_an_overlapping_runs_newer_checked_at_is_not_from_the_future() -> None:
    """Within a run's longest life (15 minutes), a newer checked_at is an overlapping run's: stale."""
    newer = replace(run(AccountState(), 5000, 0).state, checked_at=T0 + timedelta(minutes=14))

    decision = run(newer, 500, 0)

    assert kinds(decision) == []
    assert decision.state == newer
    assert decision.future_checked_at is None


def samples(*points: tuple[float, float]) -> tuple[Sample, ...]:
    """(hours after T0, balance) pairs, with the credits used counted from them."""
    return with_used(Sample(T0 + timedelta(hours=h), b) for h, b in points)


def test_check_failing_carries_the_account_level_count_reason_and_since_when() -> None:
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
            since=T0 + timedelta(hours=1),
        )
    ]
    assert run(state, 900, 4).state.failing_since is None


def test_check_recovered_carries_the_balance_and_the_failures_and_resets_them() -> None:
    state = run(AccountState(), 900, 0).state
    for hour in (1, 2, 3):
        state = run(state, None, hour).state

    recovered = run(state, 890, 4)

    # Its CHECK FAILING was never delivered here (no outbox): nobody was told, nobody hears its end.
    assert recovered.notifications == [
        Notification(
            Kind.CHECK_RECOVERED, "lemlist", Level.WARNING, balance=890, failures=3, audience=frozenset()
        )
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


def test_the_reminder_at_a_snoozes_end_after_a_low_restarts_the_reminder_clock() -> None:
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
    decision = run(state, 5000, 47.9)  # an overlapping run that started 6 minutes earlier
    assert decision.state == state
    assert decision.forecast is not None
    assert decision.forecast == forecast(recorded)
    assert decision.forecast.status is ForecastStatus.DEPLETING


def test_climbing_exactly_to_the_critical_margin_leaves_critical() -> None:
    levels = Levels(warning=100, critical=50)
    assert levels.classify(52.5, Level.CRITICAL) is Level.WARNING
    assert levels.classify(52.4, Level.CRITICAL) is Level.CRITICAL


def test_a_checked_at_exactly_a_runs_longest_life_ahead_is_an_overlapping_runs() -> None:
    newer = replace(run(AccountState(), 5000, 0).state, checked_at=T0 + MAX_RUN)

    decision = run(newer, 500, 0)

    assert (kinds(decision), decision.state, decision.future_checked_at) == ([], newer, None)


def test_a_notified_at_exactly_a_runs_longest_life_ahead_is_left_alone() -> None:
    """The same bound as for checked_at: up to MAX_RUN ahead is not a timestamp from the future."""
    low = run(AccountState(), 900, -1).state
    ahead = replace(low, notified_at=T0 + MAX_RUN)

    decision = run(ahead, 900, 0)

    assert (decision.future_checked_at, decision.state.notified_at) == (None, T0 + MAX_RUN)


def test_a_checked_at_from_the_future_keeps_a_sample_taken_at_now() -> None:
    """Only samples after `now` come from the clock ahead; one taken at `now` itself is kept."""
    future = T0 + timedelta(days=2)
    skewed = replace(
        run(AccountState(), 5000, -1).state,
        checked_at=future,
        samples=(Sample(T0 - timedelta(hours=1), 5000), Sample(T0, 4900), Sample(future, 4000)),
    )

    decision = run(skewed, None, 0)  # a failure keeps the samples as they are

    assert decision.future_checked_at == future
    assert [s.at for s in decision.state.samples] == [T0 - timedelta(hours=1), T0]


def test_a_notified_at_from_the_future_restarts_the_reminder_clock_at_now() -> None:
    """Skewed with checked_at, a notified_at days ahead would hold reminders back until then; it
    counts from this run instead: no reminder at once, the next one a reminder interval later."""
    low = run(AccountState(), 900, -1).state
    future = T0 + timedelta(days=3)
    skewed = replace(low, checked_at=future, notified_at=future)

    decision = run(skewed, 900, 0)

    assert kinds(decision) == []
    assert decision.state.notified_at == T0
    assert kinds(run(decision.state, 900, 24)) == ["REMINDER/WARNING"]


def test_a_money_balance_gives_its_currency_to_every_notification_and_to_the_state() -> None:
    """A reminder sent a day later, a recovery, `status` and the digest read the unit from here."""

    def dollars(state: AccountState, balance: float | None, hours: float) -> Decision:
        now = T0 + timedelta(hours=hours)
        if balance is None:
            result = CheckResult("twilio", 1000, error=CheckError(FailureKind.TIMEOUT, "no answer"))
        else:
            result = CheckResult("twilio", 1000, balance=Balance(balance, currency="USD"))
        return decide(state, result, now, LEVELS, POLICY)

    low = dollars(AccountState(), 900, 0)
    assert [(n.kind, n.currency) for n in low.notifications] == [(Kind.LOW, "USD")]
    assert low.state.currency == "USD"
    failing = dollars(dollars(dollars(low.state, None, 1).state, None, 2).state, None, 3)
    assert kinds(failing) == ["CHECK FAILING/WARNING"]
    assert failing.state.currency == "USD"  # a failed check keeps the last balance's unit
    back = dollars(failing.state, 890, 4)
    assert [(n.kind, n.currency) for n in back.notifications] == [(Kind.CHECK_RECOVERED, "USD")]
    reminder = dollars(back.state, 880, 24)
    assert [(n.kind, n.currency) for n in reminder.notifications] == [(Kind.REMINDER, "USD")]
    recovered = dollars(reminder.state, 5000, 25)
    assert [(n.kind, n.currency) for n in recovered.notifications] == [(Kind.RECOVERED, "USD")]


def test_a_credit_balance_has_no_currency() -> None:
    low = run(AccountState(), 900, 0)
    assert low.notifications[0].currency is None
    assert low.state.currency is None


# --- incidents no other message ends, and readers never told ------------------------------------


def test_a_running_out_the_forecast_no_longer_bears_out_is_cleared() -> None:
    levels = Levels(warning=10)
    state = AccountState()
    sent: list[tuple[str, str | None]] = []
    for hour, balance in enumerate([2400, 2300, 2200, 2200, 2200, 2200, 2200, 2200, 2200]):
        decision = decide(
            state,
            CheckResult("x", 10, balance=Balance(balance)),
            T0 + timedelta(hours=6 * hour),
            levels,
            POLICY,
        )
        state, sent = (
            decision.state,
            sent + [(n.kind.value, n.clears.value if n.clears else None) for n in decision.notifications],
        )
    assert sent == [("RUNNING OUT", None), ("CLEARED", "RUNNING OUT")]


def test_a_spike_that_stops_is_cleared() -> None:
    levels = Levels(warning=100)
    state = AccountState()
    balance = 20_000.0
    for hour in range(3 * 24):
        balance -= 1
        state = decide(
            state, CheckResult("x", 100, balance=Balance(balance)), T0 + timedelta(hours=hour), levels, POLICY
        ).state
    spike = decide(
        state,
        CheckResult("x", 100, balance=Balance(balance - 6000)),
        T0 + timedelta(hours=72),
        levels,
        POLICY,
    )
    after = decide(
        spike.state,
        CheckResult("x", 100, balance=Balance(balance - 6001)),
        T0 + timedelta(hours=73),
        levels,
        POLICY,
    )

    assert kinds(spike) == ["SPENDING FAST/OK"]
    assert [(n.kind.value, n.clears) for n in after.notifications] == [("CLEARED", Kind.SPENDING_FAST)]


def test_a_recovery_skips_the_readers_never_told_and_forgets_them() -> None:
    told = frozenset({"acme/slack:acme-slack"})
    failing = AccountState(consecutive_failures=3, failing_notified=True)
    state = replace(failing, untold={Family.CHECK: told, Family.BALANCE: frozenset({"topic"})})
    decision = run(state, 5000, 1)

    [recovered] = decision.notifications
    assert recovered.kind is Kind.CHECK_RECOVERED
    assert recovered.skip == told
    assert decision.state.untold == {Family.BALANCE: frozenset({"topic"})}


# --- a plan that renews ---------------------------------------------------------------------------

TUESDAYS = Rules(renewal=Renewal("week", weekday=1))
"""T0 is a Sunday, 09:00 UTC: the plan renews at 00:00 on Tuesday 3 November, 39 hours later."""
TUESDAY = datetime(2026, 11, 3, tzinfo=UTC)
NEXT_TUESDAY = TUESDAY + timedelta(weeks=1)


def renewing(
    state: AccountState,
    balance: float,
    hours: float,
    rules: Rules | None = TUESDAYS,
    renews_at: datetime | None = None,
) -> Decision:
    result = CheckResult("lemlist", 1000, balance=Balance(balance, renews_at=renews_at))
    return decide(state, result, T0 + timedelta(hours=hours), LEVELS, POLICY, rules)


SLOW = AccountState(samples=samples((0, 1040), (12, 1030), (24, 1020)), checked_at=T0 + timedelta(hours=24))
"""46.7 credits a day: 970 credits last three weeks."""
FAST = AccountState(samples=samples((0, 3000), (12, 2000), (24, 1000)), checked_at=T0 + timedelta(hours=24))
"""2,000 credits a day: 500 credits last six hours."""


def test_a_balance_below_its_level_that_lasts_until_the_renewal_is_not_announced() -> None:
    lasting = renewing(SLOW, 970, 36)

    assert (kinds(lasting), lasting.lasts) == ([], True)
    assert (lasting.state.level, lasting.state.announced) == (Level.WARNING, Level.OK)
    assert lasting.state.renewal_due == TUESDAY
    assert kinds(renewing(SLOW, 970, 36, rules=None)) == ["LOW/WARNING"]  # no renewal: told at once


def test_the_vendors_renewal_date_is_the_one_a_balance_must_last_until() -> None:
    friday = datetime(2026, 11, 6, tzinfo=UTC)

    assert renewing(SLOW, 970, 36, rules=None, renews_at=friday).lasts is True
    before = renewing(FAST, 500, 30, rules=None, renews_at=friday)
    assert [(n.kind, n.renews_at) for n in before.notifications] == [(Kind.LOW, friday)]
    assert before.lasts is False


def test_a_low_that_comes_before_the_renewal_names_it_and_the_renewal_brings_the_recovery() -> None:
    low = renewing(FAST, 500, 30)
    assert [(n.kind, n.renews_at) for n in low.notifications] == [(Kind.LOW, TUESDAY)]

    renewed = renewing(low.state, 5000, 40)  # Tuesday 01:00: the plan's credits are back

    recovered, running_out = renewed.notifications
    assert (recovered.kind, recovered.renewed, recovered.renews_at) == (Kind.RECOVERED, True, NEXT_TUESDAY)
    # A new period re-arms every alert: at 2,000 a day, 5,000 credits run out before the next renewal.
    assert (running_out.kind, running_out.renews_at) == (Kind.RUNNING_OUT, NEXT_TUESDAY)
    assert renewed.state.renewal_due == NEXT_TUESDAY
    assert renewed.warnings == ()


def test_a_rise_just_before_the_renewal_date_is_the_renewal_and_the_next_one_is_expected() -> None:
    low = renewing(FAST, 500, 30)

    early = renewing(low.state, 5000, 38.5)  # Monday 23:30

    assert [(n.kind, n.renewed) for n in early.notifications] == [(Kind.RECOVERED, True)]
    assert early.state.renewal_due == NEXT_TUESDAY


def test_a_renewal_that_does_not_show_up_in_the_balance_is_said_once() -> None:
    low = renewing(FAST, 500, 30)

    missed = renewing(low.state, 480, 64)  # Wednesday 01:00: a day after, no rise

    assert missed.warnings == (
        "the renewal of 2026-11-03T00:00:00+00:00 did not show up in the balance (no rise within 1 day of"
        " it): check the plan, or the account's renewal setting",
    )
    assert (missed.state.renewal_missed, missed.state.renewal_due) == (TUESDAY, NEXT_TUESDAY)
    later = renewing(missed.state, 470, 65)
    assert later.warnings == ()
    assert later.state.renewal_missed == TUESDAY  # still shown by `status`


BARELY = Levels(warning=10)
"""A warning level FAST's account stays above: what it is sent is about its forecast."""


def watched(checks: Sequence[tuple[float, float | None]], levels: Levels = BARELY) -> list[tuple[float, str]]:
    """What FAST's account is sent through `checks` (hours after T0, balance; None: a failed check)."""
    state, sent = FAST, list[tuple[float, str]]()
    for hours, balance in checks:
        if balance is None:
            result = CheckResult("lemlist", 10, error=CheckError(FailureKind.TIMEOUT, "no answer"))
        else:
            result = CheckResult("lemlist", 10, balance=Balance(balance))
        decision = decide(state, result, T0 + timedelta(hours=hours), levels, POLICY, TUESDAYS)
        state, sent = decision.state, sent + [(hours, k) for k in kinds(decision)]
    return sent


def test_the_renewal_starts_a_new_period_once_at_its_date_rise_or_not() -> None:
    """RUNNING OUT before the renewal; the burn slows, and the renewal comes without a rise. From
    its date the credits are awaited, so the RUNNING OUT is over (CLEARED); when they have not come
    a day later, the new period is running out, and is told so once."""
    checks = [(30, 500), (31, 490), (36, 450), (39, 420), (40, 410), (41, 405), (63, 300), (64, 290)]

    assert watched(checks) == [
        (30, "RUNNING OUT/OK"),
        (39, "CLEARED/OK"),
        (63, "RUNNING OUT/OK"),
    ]  # 39 h: Tuesday


def test_a_failed_check_at_the_renewal_date_does_not_hide_the_renewal() -> None:
    """The first check after the date failed: the next one still starts the new period."""
    checks = [(30, 500), (36, 450), (39.5, None), (40, 420), (50, 400), (63, 300), (64, 290)]

    assert watched(checks) == [(30, "RUNNING OUT/OK"), (40, "CLEARED/OK"), (63, "RUNNING OUT/OK")]


def test_the_renewal_is_awaited_from_its_date_until_its_rise() -> None:
    """Checks before the date say nothing of it; from the date, the renewal is expected until the
    balance rises, and a rise the next day is still the renewal."""
    state, seen = FAST, list[tuple[float, list[str], tuple[str, ...], datetime | None]]()
    for hours, balance in [(30, 500), (31, 490), (39, 480), (50, 5000)]:  # 39 h: Tuesday, 00:00
        decision = renewing(state, balance, hours)
        state = decision.state
        seen.append((hours, kinds(decision), decision.warnings, state.renewal_due))

    assert seen == [
        (30, ["LOW/WARNING"], (), TUESDAY),
        (31, [], (), TUESDAY),
        (39, [], (), TUESDAY),  # the credits are awaited: the balance lasts until they come
        (50, ["RECOVERED/WARNING", "RUNNING OUT/OK"], (), NEXT_TUESDAY),  # a new period, running out
    ]
    assert decision.notifications[0].renewed is True


def test_a_renewal_missed_is_said_exactly_a_day_after_its_date_and_still_starts_a_new_period() -> None:
    levels = Levels(warning=10)
    before = decide(
        FAST,
        CheckResult("lemlist", 10, balance=Balance(500)),
        T0 + timedelta(hours=30),
        levels,
        POLICY,
        TUESDAYS,
    )

    day_after = decide(
        before.state,
        CheckResult("lemlist", 10, balance=Balance(300)),
        T0 + timedelta(hours=63),
        levels,
        POLICY,
        TUESDAYS,
    )

    assert len(day_after.warnings) == 1
    assert kinds(day_after) == ["RUNNING OUT/OK"]  # the first check since the date: re-armed


def test_a_vendor_that_moves_its_renewal_date_is_followed() -> None:
    friday, saturday = datetime(2026, 11, 6, tzinfo=UTC), datetime(2026, 11, 7, tzinfo=UTC)
    first = renewing(FAST, 500, 30, rules=None, renews_at=friday)

    moved = renewing(first.state, 490, 31, rules=None, renews_at=saturday)

    assert (first.state.renewal_due, moved.state.renewal_due) == (friday, saturday)


def test_a_rise_a_day_before_the_renewal_date_is_the_renewal() -> None:
    early = AccountState(
        samples=samples((0, 2000), (6, 1500), (12, 1000)), checked_at=T0 + timedelta(hours=12)
    )
    low = renewing(early, 900, 13)
    assert kinds(low) == ["LOW/WARNING"]

    back = renewing(low.state, 5000, 15)  # Monday, 00:00

    assert [(n.kind, n.renewed) for n in back.notifications] == [(Kind.RECOVERED, True)]


def test_a_renewal_removed_from_the_accounts_file_is_no_longer_expected() -> None:
    low = renewing(FAST, 500, 30)

    back = renewing(low.state, 5000, 40, rules=None)

    assert [(n.kind, n.renewed, n.renews_at) for n in back.notifications[:1]] == [
        (Kind.RECOVERED, True, None)
    ]
    assert back.state.renewal_due is None
    missed = AccountState(renewal_missed=TUESDAY)
    assert renewing(missed, 5000, 0, rules=None).state.renewal_missed == TUESDAY  # `status` still says it


def test_a_balance_that_lasts_exactly_until_the_renewal_lasts() -> None:
    """240 credits a day and 30 left at 21:00 on Monday: empty at 00:00 on Tuesday, as it renews."""
    state = AccountState(samples=samples((0, 390), (12, 270), (24, 150)), checked_at=T0 + timedelta(hours=24))

    exactly = renewing(state, 30, 36)

    assert exactly.forecast is not None
    assert exactly.forecast.days_left == 0.125
    assert (kinds(exactly), exactly.lasts) == ([], True)


def test_a_balance_below_its_level_that_is_not_falling_lasts_until_the_renewal() -> None:
    flat = AccountState(samples=samples((0, 970), (12, 970), (24, 970)), checked_at=T0 + timedelta(hours=24))

    steady = renewing(flat, 970, 36)

    assert steady.forecast is not None
    assert steady.forecast.status is ForecastStatus.NOT_DEPLETING
    assert (kinds(steady), steady.lasts) == ([], True)


# --- the pace of the burn -------------------------------------------------------------------------


def paced() -> tuple[Decision, float]:
    """Three weeks of hourly checks: 100 credits a day for two weeks, then 1,000 a day. The last
    decision, and the balance left."""
    state, balance = AccountState(), 50_000.0
    for hour in range(22 * 24):
        balance -= (100 if hour < 14 * 24 else 1000) / 24
        decision = run(state, balance, hour)
        state = decision.state
    return decision, balance


def test_a_change_of_pace_is_remembered_and_the_forecast_keeps_to_the_new_pace() -> None:
    """A week after the burn went from 100 to 1,000 credits a day, the forecast is the balance at
    1,000 a day: the two weeks before the change are not read as a burn growing day after day."""
    decision, balance = paced()

    assert decision.state.pace_since == T0 + timedelta(days=14, hours=-1)
    assert decision.forecast is not None
    assert decision.forecast.days_left is not None
    assert abs(decision.forecast.days_left - balance / 1000) < 0.1


def test_an_account_not_checked_or_a_stale_observation_still_reports_the_pace_since_it_changed() -> None:
    decision, balance = paced()
    state, now = decision.state, T0 + timedelta(hours=22 * 24)
    waiting = CheckResult("lemlist", 1000, not_checked="waiting its turn")
    stale = CheckResult("lemlist", 1000, balance=Balance(balance))

    for result, at in ((waiting, now), (stale, now - timedelta(hours=1))):
        reported = decide(state, result, at, LEVELS, POLICY).forecast
        assert reported is not None
        assert reported == decision.forecast


def test_a_checked_at_from_the_future_keeps_the_pace_recorded_before_now() -> None:
    decision, balance = paced()
    now = T0 + timedelta(hours=22 * 24)
    ahead = replace(decision.state, checked_at=now + timedelta(days=1))

    after = decide(ahead, CheckResult("lemlist", 1000, balance=Balance(balance - 40)), now, LEVELS, POLICY)

    assert after.future_checked_at == now + timedelta(days=1)
    assert after.state.pace_since == decision.state.pace_since
    assert after.forecast is not None
    assert after.forecast.days_left is not None
    assert abs(after.forecast.days_left - balance / 1000) < 0.1


def test_a_checked_at_from_the_future_forgets_a_pace_that_changed_after_now() -> None:
    """A pace change dated after now has no samples left behind it: the forecast reads the history
    whole. One dated exactly now is kept: its samples are yet to come."""
    decision, balance = paced()
    now = T0 + timedelta(hours=22 * 24)
    check = CheckResult("lemlist", 1000, balance=Balance(balance - 40))

    for since, kept in ((now + timedelta(hours=1), None), (now, now)):
        ahead = replace(decision.state, checked_at=now + timedelta(days=1), pace_since=since)
        after = decide(ahead, check, now, LEVELS, POLICY)
        assert after.state.pace_since == kept
        assert after.forecast is not None
        status = ForecastStatus.DEPLETING if kept is None else ForecastStatus.NOT_ENOUGH_HISTORY
        assert after.forecast.status is status


def test_a_checked_at_from_the_future_does_not_hide_a_renewal_that_has_passed() -> None:
    """RUNNING OUT before the renewal, then a state whose checked_at is far ahead: the renewal's
    date has passed for this check all the same, and starts a new period."""
    levels = Levels(warning=10)
    before = decide(
        FAST,
        CheckResult("lemlist", 10, balance=Balance(500)),
        T0 + timedelta(hours=30),
        levels,
        POLICY,
        TUESDAYS,
    )
    assert kinds(before) == ["RUNNING OUT/OK"]
    ahead = replace(before.state, checked_at=T0 + timedelta(days=100))

    after = decide(
        ahead,
        CheckResult("lemlist", 10, balance=Balance(410)),
        T0 + timedelta(hours=40),
        levels,
        POLICY,
        TUESDAYS,
    )

    assert after.future_checked_at == T0 + timedelta(days=100)
    assert kinds(after) == ["CLEARED/OK"]  # a new period, its credits awaited: RUNNING OUT is over


def test_a_failed_check_is_the_newest_observation_too() -> None:
    """An overlapping run that checked a moment before a failed check, and finished after it,
    changes nothing: its balance is older than what the failure recorded."""
    failed = run(run(AccountState(), 5000, 0).state, None, 2)

    late = run(failed.state, 900, 2 - 1 / 60)

    assert kinds(late) == []
    assert late.state == failed.state


def test_an_observation_made_at_the_newest_recorded_moment_changes_nothing() -> None:
    """A run re-reading its own applied write (botocore retried the conditional write)."""
    checked = run(AccountState(), 5000, 1)

    again = run(checked.state, 900, 1)

    assert kinds(again) == []
    assert again.state == checked.state


# --- the forecast's edges -------------------------------------------------------------------------


def test_running_out_is_sent_again_at_exactly_half_the_time_left_and_twelve_hours_earlier() -> None:
    """The last RUNNING OUT said a day from now; now it is 12 hours: half, and 12 hours earlier."""
    now = T0 + timedelta(hours=48)
    state = AccountState(
        running_out_notified=True,
        running_out_at=now + timedelta(days=1),
        samples=samples((0, 600), (24, 360)),
        checked_at=T0 + timedelta(hours=24),
    )

    decision = decide(
        state, CheckResult("lemlist", 10, balance=Balance(120)), now, Levels(warning=10), POLICY
    )

    assert kinds(decision) == ["RUNNING OUT/OK"]
    assert decision.state.running_out_at == now + timedelta(hours=12)


def test_a_forecast_ten_years_out_or_more_gives_no_running_out_date() -> None:
    """A policy that wants more days than that still gets no RUNNING OUT: such a date means nothing."""
    policy = replace(POLICY, min_days_left=5000)
    for first, balance in ((3652, 3650), (3652.5, 3650.5)):  # 1 credit a day: 3,650 and 3,650.5 days
        state = AccountState(
            samples=samples((0, first), (24, first - 1)), checked_at=T0 + timedelta(hours=24)
        )
        decision = decide(
            state,
            CheckResult("lemlist", 10, balance=Balance(balance)),
            T0 + timedelta(hours=48),
            Levels(10),
            policy,
        )
        assert decision.forecast is not None
        assert decision.forecast.days_left == balance
        assert kinds(decision) == []
        assert decision.state.running_out_at is None


def test_a_recovery_ends_the_running_out_it_carried_without_a_cleared() -> None:
    """LOW carried the forecast (running out in hours); a top-up: RECOVERED ends the incident, and no
    CLEARED repeats it."""
    low = run(FAST, 500, 30)
    assert kinds(low) == ["LOW/WARNING"]

    topped_up = run(low.state, 50_000, 31)

    assert kinds(topped_up) == ["RECOVERED/WARNING"]
    assert topped_up.state.running_out_notified is False


def test_a_notice_carries_the_vendors_pools_and_the_state_keeps_them_for_status() -> None:
    pools = (Pool("subscription", 600, renews=True), Pool("paid", 300))
    low = decide(
        AccountState(), CheckResult("lemlist", 1000, balance=Balance(900, pools=pools)), T0, LEVELS, POLICY
    )

    assert [(n.kind, n.pools) for n in low.notifications] == [(Kind.LOW, pools)]
    assert low.state.pools == pools


# --- spikes ---------------------------------------------------------------------------------------


def steady_hours(levels: Levels, balance: float = 20_000.0, hours: int = 72) -> tuple[AccountState, float]:
    """`hours` hourly checks using one credit an hour: the state, and the balance left."""
    state = AccountState()
    for hour in range(hours):
        balance -= 1
        state = decide(
            state, CheckResult("x", 100, balance=Balance(balance)), T0 + timedelta(hours=hour), levels, POLICY
        ).state
    return state, balance


def check(state: AccountState, balance: float, hours: float, levels: Levels) -> Decision:
    return decide(
        state, CheckResult("x", 100, balance=Balance(balance)), T0 + timedelta(hours=hours), levels, POLICY
    )


def test_a_spike_over_several_checks_is_one_spending_fast_and_status_keeps_the_last_one() -> None:
    levels = Levels(warning=100)
    state, balance = steady_hours(levels)

    began = check(state, balance - 6000, 72, levels)
    goes_on = check(began.state, balance - 12_000, 73, levels)
    stopped = check(goes_on.state, balance - 12_001, 74, levels)

    [spent] = began.notifications
    assert (spent.kind, spent.level, spent.spike) == (Kind.SPENDING_FAST, Level.OK, began.state.spike)
    assert spent.spike is not None
    assert spent.spike.spent == 6000
    assert kinds(goes_on) == []
    [cleared] = stopped.notifications
    assert (cleared.kind, cleared.level, cleared.clears) == (Kind.CLEARED, Level.OK, Kind.SPENDING_FAST)
    last = goes_on.state.spike
    assert last is not None
    assert last.spent == 12_000
    assert (began.state.last_spike, goes_on.state.last_spike, stopped.state.last_spike) == (
        spent.spike,
        last,
        last,
    )
    assert stopped.state.spike is None


def test_a_spike_that_crosses_a_level_is_one_spending_fast_naming_it() -> None:
    """No LOW beside it: the SPENDING FAST says the level it crossed, and its threshold."""
    levels = Levels(warning=15_000)
    state, balance = steady_hours(levels)

    crossed = check(state, balance - 6000, 72, levels)

    [spent] = crossed.notifications
    assert (spent.kind, spent.level, spent.threshold) == (Kind.SPENDING_FAST, Level.WARNING, 15_000)
    assert spent.spike is not None
    assert crossed.state.announced is Level.WARNING


def test_a_spike_while_low_stands_for_the_reminder_due() -> None:
    levels = Levels(warning=30_000)
    state, balance = steady_hours(levels, hours=73)  # LOW at the first check, a day ago and more

    spiked = check(state, balance - 6000, 73, levels)

    assert kinds(spiked) == ["SPENDING FAST/WARNING"]
    assert spiked.notifications[0].threshold is None  # it crossed nothing


def test_a_spike_of_the_warning_levels_size_is_material_on_a_large_balance() -> None:
    """1,500 credits in an hour from 99,928 is under 2 % of the balance, but above the warning level."""
    levels = Levels(warning=1000)
    state, balance = steady_hours(levels, balance=100_000)

    assert kinds(check(state, balance - 1500, 72, levels)) == ["SPENDING FAST/OK"]


def test_a_spike_recorded_before_a_checked_at_from_the_future_still_ends_with_its_cleared() -> None:
    """Its SPENDING FAST opened an incident (PagerDuty, webhooks): whatever the clock did, the spike
    goes on as one, and its end resolves the incident."""
    levels = Levels(warning=100)
    state, balance = steady_hours(levels)
    began = check(state, balance - 6000, 72, levels)
    ahead = replace(began.state, checked_at=T0 + timedelta(days=30))

    goes_on = check(ahead, balance - 12_000, 73, levels)
    stopped = check(ahead, balance - 6001, 73, levels)

    assert goes_on.future_checked_at == T0 + timedelta(days=30)
    assert kinds(goes_on) == []
    assert [(n.kind, n.clears) for n in stopped.notifications] == [(Kind.CLEARED, Kind.SPENDING_FAST)]


# --- receivers never told -------------------------------------------------------------------------


def test_a_new_notice_of_an_incident_goes_to_every_receiver_even_those_never_told_of_the_last() -> None:
    """A receiver whose last notice was given up hears of the next incident: it is its end it is
    spared, not a new beginning; which receivers it skips stays for that end."""
    untold = {Family.BALANCE: frozenset({"topic"})}
    for state in (AccountState(untold=untold), AccountState(untold=untold, failing_notified=True)):
        low = run(state, 900, 0)  # with a CHECK RECOVERED, which ends an incident, the second time

        assert [(n.kind, n.skip) for n in low.notifications if n.kind is Kind.LOW] == [
            (Kind.LOW, frozenset())
        ]
        assert low.state.untold == untold


def test_two_endings_of_one_incident_both_skip_its_untold_receivers() -> None:
    never_told = frozenset({"acme/pagerduty:acme-pd"})
    recovered = Notification(Kind.RECOVERED, "lemlist", Level.WARNING)
    cleared = Notification(Kind.CLEARED, "lemlist", Level.OK, clears=Kind.RUNNING_OUT)

    notes, untold = ended(
        [recovered, cleared], {Family.BALANCE: never_told, Family.SPIKE: frozenset({"topic"})}
    )

    assert [n.skip for n in notes] == [never_told, never_told]
    assert untold == {Family.SPIKE: frozenset({"topic"})}


def test_an_incident_records_who_was_told_and_its_end_is_due_to_them_and_to_those_still_owed() -> None:
    """A notice opens the record of its incident; its end carries who took a notice of it, and who
    was still owed one then (a notice pending), and closes the record."""
    state = run(AccountState(), 5000, 0).state
    for hour in (1, 2, 3):
        state = run(state, None, hour).state
    assert state.told == {Family.CHECK: frozenset()}

    failing = Notification(Kind.CHECK_FAILING, "lemlist", Level.OK, failures=3)
    owed = Pending(
        "run-3-lemlist-1",
        failing,
        T0,
        due=frozenset({"topic", "acme/pagerduty:acme-pd"}),
        delivered_to=frozenset({"topic"}),
    )
    state = replace(state, told={Family.CHECK: frozenset({"acme/slack:acme-slack"})}, outbox=(owed,))
    recovered = run(state, 5000, 4)

    [note] = recovered.notifications
    assert note.kind is Kind.CHECK_RECOVERED
    assert note.audience == frozenset({"acme/slack:acme-slack", "topic", "acme/pagerduty:acme-pd"})
    assert recovered.state.told == {}


def test_an_incident_opened_before_it_was_recorded_ends_with_no_audience() -> None:
    failing = AccountState(consecutive_failures=3, failing_notified=True)
    [note] = run(failing, 5000, 1).notifications
    assert note.kind is Kind.CHECK_RECOVERED
    assert note.audience is None


def month_end(refilled_at: int | None) -> list[tuple[str, str]]:
    """A plan renewed on the 1st, burning 10 credits an hour: below its warning (1,000) since the
    31st at noon, lasting until the renewal; the vendor refills it to 10,000 at `refilled_at` hours
    past the renewal's midnight (None: never). What it was sent, by local time, from the 29th on."""
    renewal = Rules(renewal=Renewal("month", day=1))
    start = datetime(2026, 10, 29, tzinfo=UTC)
    state, sent, balance = AccountState(), [], 1600.0
    for hour in range(5 * 24):
        now = start + timedelta(hours=hour)
        balance -= 10
        if refilled_at is not None and now == datetime(2026, 11, 1, refilled_at, tzinfo=UTC):
            balance = 10_000.0
        result = CheckResult("lemlist", 1000, balance=Balance(balance))
        decision = decide(state, result, now, LEVELS, POLICY, renewal)
        state = decision.state
        sent += [(now.strftime("%d %H:%M"), n.kind.value) for n in decision.notifications]
    return sent


@pytest.mark.parametrize("hours_late", [0, 3, 9, 23])
def test_a_renewal_the_vendor_refills_hours_after_its_date_sends_nothing_meanwhile(hours_late: int) -> None:
    """Vendors refill at their own billing hour, in their own zone: the hours between the declared
    renewal and its rise are no news (they were a LOW and a RECOVERED every month)."""
    assert month_end(hours_late) == []


def test_a_renewal_that_never_shows_up_alerts_once_its_grace_is_over() -> None:
    assert month_end(None) == [("02 00:00", "LOW")]


def test_a_check_after_one_that_saw_the_balance_at_the_renewal_date_starts_no_second_period() -> None:
    """The balance seen at Tuesday 00:00 exactly started the new period; the check after it is in
    that period still: what was told in it stays told (the RUNNING OUT is not re-armed)."""
    told = replace(
        FAST,
        samples=samples((0, 3000), (12, 2000), (24, 1000), (39, 420)),
        checked_at=TUESDAY,
        renewal_due=TUESDAY,
        running_out_notified=True,
        running_out_at=T0 + timedelta(hours=45),
    )

    after = decide(
        told,
        CheckResult("lemlist", 10, balance=Balance(410)),
        T0 + timedelta(hours=40),
        BARELY,
        POLICY,
        TUESDAYS,
    )

    assert after.state.renewal_due == TUESDAY
    assert (after.state.running_out_notified, after.state.running_out_at) == (True, T0 + timedelta(hours=45))


def test_a_renewal_passed_with_no_balance_seen_before_it_starts_a_new_period() -> None:
    """Every balance recorded lies ahead of the clock (a clock that ran ahead) and is forgotten: the
    first balance seen after the renewal date starts the new period, re-arming the RUNNING OUT."""
    ahead = AccountState(
        samples=samples((50, 400)),
        checked_at=T0 + timedelta(hours=50),
        renewal_due=TUESDAY,
        running_out_notified=True,
        running_out_at=T0 + timedelta(hours=60),
    )

    after = decide(
        ahead,
        CheckResult("lemlist", 10, balance=Balance(410)),
        T0 + timedelta(hours=40),
        BARELY,
        POLICY,
        TUESDAYS,
    )

    assert after.future_checked_at == T0 + timedelta(hours=50)
    assert (after.state.running_out_notified, after.state.running_out_at) == (False, None)


def test_the_end_of_an_incident_is_not_due_to_those_owed_a_notice_of_another_incident() -> None:
    """A LOW still owed to PagerDuty is the balance's incident, not the check's: the CHECK RECOVERED
    goes to those told of the failures only."""
    state = run(AccountState(), 5000, 0).state
    for hour in (1, 2, 3):
        state = run(state, None, hour).state
    low = Notification(Kind.LOW, "lemlist", Level.WARNING, balance=900, threshold=1000)
    other = Pending("run-3-lemlist-2", low, T0, due=frozenset({"topic", "acme/pagerduty:acme-pd"}))
    state = replace(state, told={Family.CHECK: frozenset({"acme/slack:acme-slack"})}, outbox=(other,))

    [note] = run(state, 5000, 4).notifications

    assert note.kind is Kind.CHECK_RECOVERED
    assert note.audience == frozenset({"acme/slack:acme-slack"})


def test_a_rise_at_the_renewal_date_after_the_clock_came_back_to_it_starts_no_second_period() -> None:
    """The balance was seen at Tuesday 00:00 (the new period began then); the clock ran ahead, then
    came back to that very moment, when the credits rise. The period is the one already begun: what
    was told in it stays told, so no second RUNNING OUT."""
    ahead = replace(
        FAST,
        samples=samples((0, 3000), (12, 2000), (24, 1000), (39, 420), (42, 400)),
        checked_at=T0 + timedelta(hours=42),
        renewal_due=TUESDAY,
        running_out_notified=True,
        running_out_at=T0 + timedelta(hours=45),
    )

    back = decide(ahead, CheckResult("lemlist", 10, balance=Balance(5000)), TUESDAY, BARELY, POLICY, TUESDAYS)

    assert back.future_checked_at == T0 + timedelta(hours=42)
    assert back.state.renewal_due == NEXT_TUESDAY
    assert kinds(back) == []
    assert back.state.running_out_notified is True
