"""When to notify: one notification per change, never one per run. Pure: state in, state and
notifications out. The service records each notification as pending in the same conditional
write as the state that produced it (see outbox.py), so a crash can delay a notification, never
lose it.

Lifecycle per account: LOW when the balance first falls below a level (warning, then critical);
a REMINDER every `reminder_hours` on the schedule's wall clock while it stays low; RECOVERED once
it is back above the warning level by a margin (a top-up). Every level is left only by that
margin, so one crossing is one notification. RUNNING OUT when the forecast says fewer than
`min_days_left` days; CHECK FAILING after `failures_before_alert` failed checks in a row, and
CHECK RECOVERED after.

An observation no newer than the newest one already recorded (two overlapping runs whose fetches
finished out of order, or a run re-reading its own applied write) changes nothing. A checked_at later than
any overlapping run can explain (a skewed clock, a bad restore) is reported, and the observation
is decided on all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import IntEnum, StrEnum

from credit_monitor.forecast import Forecast, ForecastStatus, Sample, add_sample, forecast
from credit_monitor.model import CheckResult, FailureKind

REMINDER_SLACK = timedelta(minutes=5)
"""Scheduled runs start a few seconds early or late; without slack, a reminder due after 24 h would
slip to the next run (25 h on an hourly schedule) whenever this run started a moment early. The
hours themselves are counted on the schedule's wall clock (see `reminder_due`)."""

RECOVERY_MARGIN = 0.05
"""A balance must climb 5 % above a level to leave it (above warning: recovered; above critical:
back to WARNING), so a balance wobbling around a threshold does not send LOW, RECOVERED, LOW, or
CRITICAL, CRITICAL, CRITICAL."""
MIN_RECOVERY_CREDITS = 1.0
"""The margin is at least one credit: 5 % of a level of 0 (a vendor whose balance can go below
zero) is no margin at all, and a one-credit wobble across it would change the level every run."""


MAX_RUN = timedelta(minutes=15)
"""Lambda's longest timeout. A run that started at `now` can meet a checked_at at most this much
later (a run that started while it was alive); a later one comes from a clock ahead of ours."""

HELD_BY_SNOOZE = frozenset({"LOW", "REMINDER", "RUNNING OUT"})
"""A snooze says "I know it is low, stop telling me". CHECK FAILING is not held: it means the
balance cannot be seen at all, which the person who snoozed does not know yet. RECOVERED is not
held either: good news ends the worry the snooze was for."""

RUNNING_OUT_REARM_FACTOR = 2.0
"""After RUNNING OUT, the forecast must reach twice MIN_DAYS_LEFT (or a top-up must come) before
it can be sent again: a burn in batches (25 credits every 6 hours) swings a young forecast by a
day or more, and a narrow margin turned each swing into another RUNNING OUT."""


class Level(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2


class Kind(StrEnum):
    LOW = "LOW"
    REMINDER = "REMINDER"
    RECOVERED = "RECOVERED"
    RUNNING_OUT = "RUNNING OUT"
    CHECK_FAILING = "CHECK FAILING"
    CHECK_RECOVERED = "CHECK RECOVERED"
    DIGEST = "DIGEST"
    """The weekly digest (digest.py): pending in its own outbox, never decided here."""


@dataclass(frozen=True)
class Levels:
    warning: float
    critical: float | None = None

    def classify(self, balance: float, current: Level) -> Level:
        """The level of `balance` for an account now at `current`. Falling below a level counts at
        once; leaving it needs the balance to climb RECOVERY_MARGIN above it (capped at the warning
        level for CRITICAL), so a balance wobbling around either level changes level once."""
        if self.critical is not None:
            leave_critical = min(_leave(self.critical), self.warning)
            if balance < self.critical or (current is Level.CRITICAL and balance < leave_critical):
                return Level.CRITICAL
        if balance < self.warning:
            return Level.WARNING
        if current is not Level.OK and balance < _leave(self.warning):
            return Level.WARNING  # inside the margin: not recovered yet
        return Level.OK

    def threshold_of(self, level: Level) -> float | None:
        return self.critical if level is Level.CRITICAL else self.warning


def _leave(level: float) -> float:
    """The balance that leaves `level`: RECOVERY_MARGIN above it, and at least MIN_RECOVERY_CREDITS."""
    return level + max(level * RECOVERY_MARGIN, MIN_RECOVERY_CREDITS)


class Status(StrEnum):
    """A check's status, the one vocabulary of the CLI's table, its exit code and the summary line."""

    OK = "OK"
    LOW = "LOW"
    CRITICAL = "CRITICAL"
    FAILED = "FAILED"
    NOT_CHECKED = "NOT CHECKED"
    """Not checked this run (waiting its turn on a shared key, or not started in time): no failure."""


def status_of(result: CheckResult, levels: Levels, level: Level | None = None) -> Status:
    """NOT CHECKED, FAILED, or the balance's level: the alert state's own `level` when known (it has
    the recovery margin), else the levels applied to the balance alone (the stateless CLI)."""
    if result.not_checked is not None:
        return Status.NOT_CHECKED
    if result.balance is None:
        return Status.FAILED
    if level is None:
        level = levels.classify(result.balance.credits, Level.OK)
    return {Level.OK: Status.OK, Level.WARNING: Status.LOW, Level.CRITICAL: Status.CRITICAL}[level]


@dataclass(frozen=True)
class AlertPolicy:
    reminder_hours: float = 24
    failures_before_alert: int = 3
    min_days_left: float = 7
    schedule_timezone: tzinfo = UTC
    """The schedule's zone (ScheduleTimezone): reminders count hours on its wall clock."""
    group_by: frozenset[str] | None = None
    """GROUP_BY: the labels whose values route notifications (one message per kind, provider and
    these labels' values, see grouping.py). None: every label the accounts declare."""


@dataclass(frozen=True)
class Notification:
    """What to tell people. `level` is the level it concerns (for RECOVERED: the one left behind)."""

    kind: Kind
    account: str
    level: Level
    balance: float | None = None
    threshold: float | None = None
    forecast: Forecast | None = None
    failures: int = 0
    reason: str | None = None
    failure: FailureKind | None = None
    since: datetime | None = None
    """CHECK FAILING: when the first of the failed checks in a row was made."""


@dataclass(frozen=True)
class Pending:
    """A notification not yet accepted by SNS. A run leases it before publishing, so an
    overlapping run leaves it alone until `lease_until` (the leasing run's own deadline)."""

    id: str
    note: Notification
    created_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    """Publishes SNS refused; bounded by outbox.MAX_ATTEMPTS."""


@dataclass(frozen=True)
class AccountState:
    """What survives between runs, one item per account. `version` guards concurrent writers."""

    level: Level = Level.OK
    notified_at: datetime | None = None
    consecutive_failures: int = 0
    failing_notified: bool = False
    running_out_notified: bool = False
    samples: tuple[Sample, ...] = ()
    checked_at: datetime | None = None
    """When the newest observation recorded here was made; older ones are ignored."""
    outbox: tuple[Pending, ...] = ()
    snoozed_until: datetime | None = None
    """Set by `credit-monitor snooze`: LOW, REMINDER and RUNNING OUT are held back until then."""
    snooze_reason: str | None = None
    failing_since: datetime | None = None
    """When the first of the current failed checks in a row was made; None while checks succeed."""
    last_sent: str | None = None
    """The kind of the newest notification SNS accepted (LOW, CHECK FAILING...), for `status`."""
    last_sent_at: datetime | None = None
    """When the run that delivered it started."""
    version: int = 0

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until


@dataclass(frozen=True)
class Decision:
    state: AccountState
    notifications: list[Notification] = field(default_factory=list)
    forecast: Forecast | None = None
    future_checked_at: datetime | None = None
    """The state's checked_at (or notified_at), when it was later than any run still alive could
    have written: a state problem to report. The decision was made on this observation all the same."""


def reminder_due(notified_at: datetime, now: datetime, policy: AlertPolicy) -> bool:
    """`reminder_hours` have passed on the schedule's wall clock (less REMINDER_SLACK). A daily
    schedule in a zone with summer time runs 23 or 25 hours apart when the clocks change: counted
    on the wall clock, its reminder still comes at every run, at the same local time."""
    zone = policy.schedule_timezone
    wall = now.astimezone(zone).replace(tzinfo=None) - notified_at.astimezone(zone).replace(tzinfo=None)
    return wall >= timedelta(hours=policy.reminder_hours) - REMINDER_SLACK


def decide(
    state: AccountState, result: CheckResult, now: datetime, levels: Levels, policy: AlertPolicy
) -> Decision:
    """`now` is when the result was observed (the run's start). An account not checked this run
    changes nothing: no failure counted, no notification, the state as it was."""
    if not result.checked:
        return Decision(state, forecast=forecast(state.samples))
    future = None
    if state.checked_at is not None and now <= state.checked_at:
        if state.checked_at - now <= MAX_RUN:
            # Stale: a newer run already decided, or this very run did (its write was applied, but
            # the reply was lost and botocore's retry of the conditional write then failed).
            return Decision(state, forecast=forecast(state.samples))
        future, state = state.checked_at, _without_future(state, now)
    elif state.notified_at is not None and state.notified_at - now > MAX_RUN:
        # A run notifies when it checks, so a notified_at ahead of checked_at is no overlapping
        # run's: left alone, it would hold every reminder back until that moment, silently.
        future, state = state.notified_at, _without_future(state, now)
    if result.error is not None:
        decision = _after_failure(state, result, now, policy)
    else:
        assert result.balance is not None
        decision = _after_success(state, result.account, result.balance.credits, now, levels, policy)
    return replace(decision, future_checked_at=future)


def _without_future(state: AccountState, now: datetime) -> AccountState:
    """Forget what a clock ahead of ours recorded: samples after `now` would bend the forecast,
    and a notified_at after it would hold the reminders back."""
    notified_at = state.notified_at if state.notified_at is None or state.notified_at <= now else now
    return replace(
        state,
        checked_at=None,
        notified_at=notified_at,
        samples=tuple(sample for sample in state.samples if sample.at <= now),
    )


def _after_failure(state: AccountState, result: CheckResult, now: datetime, policy: AlertPolicy) -> Decision:
    failures = state.consecutive_failures + 1
    since = state.failing_since if state.consecutive_failures else now  # None: an older item, unknown
    new_state = replace(state, consecutive_failures=failures, checked_at=now, failing_since=since)
    if failures >= policy.failures_before_alert and not state.failing_notified:
        error = result.error
        note = Notification(
            Kind.CHECK_FAILING,
            result.account,
            state.level,
            failures=failures,
            reason=error.message if error else None,
            failure=error.kind if error else None,
            since=since,
        )
        return Decision(replace(new_state, failing_notified=True), [note])
    return Decision(new_state)


def _after_success(
    state: AccountState, account: str, balance: float, now: datetime, levels: Levels, policy: AlertPolicy
) -> Decision:
    notes: list[Notification] = []
    if state.failing_notified:
        notes.append(
            Notification(
                Kind.CHECK_RECOVERED,
                account,
                state.level,
                balance=balance,
                failures=state.consecutive_failures,
            )
        )
    samples, topped_up = add_sample(state.samples, Sample(now, balance))
    outlook = forecast(samples)
    level = levels.classify(balance, state.level)
    notified_at = state.notified_at
    running_out_notified = state.running_out_notified and not topped_up

    def note(kind: Kind, at_level: Level, threshold: float | None = None) -> Notification:
        return Notification(
            kind,
            account,
            at_level,
            balance=balance,
            threshold=levels.threshold_of(at_level) if threshold is None else threshold,
            forecast=outlook,
        )

    if level > state.level:
        notes.append(note(Kind.LOW, level))
        notified_at = now
    elif level is Level.OK and state.level is not Level.OK:
        notes.append(note(Kind.RECOVERED, state.level, threshold=levels.warning))  # back above warning
        notified_at = None
    elif level is not Level.OK and notified_at is not None and reminder_due(notified_at, now, policy):
        notes.append(note(Kind.REMINDER, level))
        notified_at = now

    short = outlook.days_left is not None and outlook.days_left < policy.min_days_left
    if short and not running_out_notified:
        if not any(n.kind in (Kind.LOW, Kind.REMINDER) for n in notes):  # those already carry the forecast
            notes.append(note(Kind.RUNNING_OUT, level))
        running_out_notified = True
    elif outlook.status is not ForecastStatus.DEPLETING or (
        outlook.days_left is not None and outlook.days_left >= policy.min_days_left * RUNNING_OUT_REARM_FACTOR
    ):
        running_out_notified = False

    snoozed_until, snooze_reason = state.snoozed_until, state.snooze_reason
    if state.snoozed(now):
        notes = [n for n in notes if n.kind not in HELD_BY_SNOOZE]
    elif snoozed_until is not None:  # the snooze has ended: say once where things stand
        if level is not Level.OK and not any(n.kind in (Kind.LOW, Kind.REMINDER) for n in notes):
            notes = [n for n in notes if n.kind is not Kind.RUNNING_OUT]  # the reminder carries the forecast
            notes.append(note(Kind.REMINDER, level))
            notified_at = now
        snoozed_until, snooze_reason = None, None

    new_state = replace(
        state,
        level=level,
        notified_at=notified_at,
        consecutive_failures=0,
        failing_notified=False,
        failing_since=None,
        running_out_notified=running_out_notified,
        samples=samples,
        checked_at=now,
        snoozed_until=snoozed_until,
        snooze_reason=snooze_reason,
    )
    return Decision(new_state, notes, outlook)
