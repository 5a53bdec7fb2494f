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

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import IntEnum, StrEnum

from credit_monitor.forecast import (
    DEFAULT_SPIKE_RULE,
    Event,
    Forecast,
    ForecastStatus,
    Sample,
    Spike,
    SpikeRule,
    forecast,
    observe,
)
from credit_monitor.model import CheckResult, FailureKind, Pool
from credit_monitor.renewal import Renewal, next_renewal

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

HELD_BY_SNOOZE = frozenset({"LOW", "REMINDER", "RUNNING OUT", "SPENDING FAST"})
"""A snooze says "I know about this account, stop telling me". CHECK FAILING is not held: it means
the balance cannot be seen at all, which the person who snoozed does not know yet. RECOVERED is not
held either: good news ends the worry the snooze was for."""

RUNNING_OUT_REARM_FACTOR = 2.0
"""After RUNNING OUT, the forecast must reach twice MIN_DAYS_LEFT (or a renewal must come) before
it is re-armed: a burn in batches (25 credits every 6 hours) swings a young forecast by a day or
more, and a narrow margin turned each swing into another RUNNING OUT."""
RUNNING_OUT_RESEND_SHARE = 0.5
"""RUNNING OUT is sent again, with the new date, when the time left has shrunk to this share of what
the last one announced (halved) ..."""
RUNNING_OUT_RESEND_ADVANCE = timedelta(hours=12)
"""... and the new date is at least this much earlier: the last hours of a burn must not resend."""
RENEWAL_GRACE = timedelta(days=1)
"""A declared renewal must show in the balance (a rise) within this time of its date, either way;
otherwise it is said once, in `status` and the log, that it did not show up. Until it shows, or
this time has passed, the account is taken to last: vendors refill at their own hour."""


class Level(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2


class Family(StrEnum):
    """The incident a notification opens or ends, at receivers that keep incidents (PagerDuty)."""

    BALANCE = "balance"
    CHECK = "check"
    SPIKE = "spike"


class Kind(StrEnum):
    LOW = "LOW"
    REMINDER = "REMINDER"
    RECOVERED = "RECOVERED"
    RUNNING_OUT = "RUNNING OUT"
    SPENDING_FAST = "SPENDING FAST"
    """Far more credits used since the last check than usual (forecast.SpikeRule)."""
    CHECK_FAILING = "CHECK FAILING"
    CHECK_RECOVERED = "CHECK RECOVERED"
    CLEARED = "CLEARED"
    """A RUNNING OUT or a SPENDING FAST that no other message ends is over (the burn slowed, the
    spike stopped): it resolves their incident at the receivers that keep incidents open
    (PagerDuty, webhooks), and is not sent to people (routes.admits)."""
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
    spike: SpikeRule | None = DEFAULT_SPIKE_RULE
    """SPIKE_FACTOR and SPIKE_MIN_SHARE: the accounts' spike rule, unless an account sets its own;
    None: spikes are not watched."""


@dataclass(frozen=True)
class Rules:
    """What one account is watched for beyond its levels: its plan's renewal, and its spike rule
    (None: spikes are not watched for this account)."""

    renewal: Renewal | None = None
    spike: SpikeRule | None = DEFAULT_SPIKE_RULE


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
    renews_at: datetime | None = None
    """The account's next renewal, for the LOW, REMINDER and RUNNING OUT of a renewing account (which
    are sent only when it will not last until then), and for a RECOVERED at a renewal (`renewed`)."""
    renewed: bool = False
    """RECOVERED: the balance came back with the plan's renewal, not a top-up."""
    spike: Spike | None = None
    """SPENDING FAST: what was spent, from when, and the usual use over that time."""
    pools: tuple[Pool, ...] = ()
    """The vendor's split of the balance, when it gives one."""
    clears: Kind | None = None
    """CLEARED: the kind whose incident is over (RUNNING OUT or SPENDING FAST)."""
    skip: frozenset[str] = frozenset()
    """A recovery: the receivers never told of what it ends (its notice was given up): they are not
    told of its end either."""
    audience: frozenset[str] | None = None
    """A recovery: the receivers told of what it ends, or owed a notice of it when it was decided
    (`AccountState.told`), whatever the routes say by then; None for an incident opened before
    this was recorded (every receiver hearing of the account now, less `skip`)."""

    currency: str | None = None
    """The unit of `balance`, `threshold`, the spike and the pools: None for credits, else the ISO
    4217 code of the money the vendor reported (model.Balance.currency)."""

    @property
    def family(self) -> Family | None:
        """The incident it opens or ends; None for the digest."""
        kind = self.clears if self.kind is Kind.CLEARED and self.clears is not None else self.kind
        return FAMILIES.get(kind)

    @property
    def ends(self) -> bool:
        """It ends its family's incident (RECOVERED, CHECK RECOVERED, CLEARED)."""
        return self.kind in ENDINGS


FAMILIES = {
    Kind.LOW: Family.BALANCE,
    Kind.REMINDER: Family.BALANCE,
    Kind.RUNNING_OUT: Family.BALANCE,
    Kind.RECOVERED: Family.BALANCE,
    Kind.CHECK_FAILING: Family.CHECK,
    Kind.CHECK_RECOVERED: Family.CHECK,
    Kind.SPENDING_FAST: Family.SPIKE,
}
ENDINGS = frozenset({Kind.RECOVERED, Kind.CHECK_RECOVERED, Kind.CLEARED})


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
    """Runs in which a receiver it was due to refused it; bounded by outbox.MAX_ATTEMPTS."""
    due: frozenset[str] = frozenset()
    """The receivers it is due to, as the last run that leased it saw them (routes.Routing.due)."""
    delivered_to: frozenset[str] = frozenset()
    """The receivers that accepted it: never sent to again."""

    @property
    def owed(self) -> frozenset[str]:
        """The receivers still to take it."""
        return self.due - self.delivered_to


@dataclass(frozen=True)
class AccountState:
    """What survives between runs, one item per account. `version` guards concurrent writers."""

    level: Level = Level.OK
    """The balance's level (with the recovery margin), whether or not it was announced."""
    announced: Level = Level.OK
    """The level people were told of: LOW raises it, RECOVERED ends it. A renewing account below its
    level that lasts until its renewal is not told: its level rises, `announced` stays."""
    notified_at: datetime | None = None
    consecutive_failures: int = 0
    failing_notified: bool = False
    running_out_notified: bool = False
    running_out_at: datetime | None = None
    """When the last RUNNING OUT said the balance runs out (None: not sent, or sent without a date)."""
    samples: tuple[Sample, ...] = ()
    pace_since: datetime | None = None
    """When the pace of the burn last changed (forecast.pace_change); None: the history's start."""
    spike: Spike | None = None
    """A spike in progress (forecast.observe)."""
    last_spike: Spike | None = None
    """The latest spike, for `status` and the digest."""
    pools: tuple[Pool, ...] = ()
    """The vendor's split of the last balance."""
    currency: str | None = None
    """The unit of the last balance, its history and its spikes: None for credits, else the ISO 4217
    code of the money the vendor reported; for `status` and the digest."""
    renewal_due: datetime | None = None
    """The renewal expected next (declared or the vendor's): when it passes, alerts re-arm, and a
    rise of the balance is expected within RENEWAL_GRACE."""
    renewal_missed: datetime | None = None
    """A renewal that passed without a rise of the balance, said once in `status` and the log."""
    untold: Mapping[Family, frozenset[str]] = field(default_factory=dict)
    """By incident, the receivers whose notice of it was given up: they hear nothing of its end."""
    told: Mapping[Family, frozenset[str]] = field(default_factory=dict)
    """By incident open, the receivers that took a notice of it (outbox.settle): its end goes to
    them, and to no receiver that was never told, even when the accounts file changed meanwhile
    (a route added, renamed or removed, the account's labels, `stack_topic`)."""
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
    warnings: tuple[str, ...] = ()
    """Things to log once, not to notify (a renewal that did not show up in the balance)."""
    lasts: bool = False
    """The balance lasts until the account's renewal, by the forecast: its days left are not the
    days until it is empty (MinDaysUntilEmpty leaves it out)."""


def lasts_until(renews_at: datetime | None, outlook: Forecast, now: datetime) -> bool:
    """The balance lasts until `renews_at`, by the forecast: a balance not falling does; without a
    forecast, nothing is known to last."""
    if renews_at is None:
        return False
    if outlook.status is ForecastStatus.NOT_DEPLETING:
        return True
    return outlook.days_left is not None and now + timedelta(days=outlook.days_left) >= renews_at


def reminder_due(notified_at: datetime, now: datetime, policy: AlertPolicy) -> bool:
    """`reminder_hours` have passed on the schedule's wall clock (less REMINDER_SLACK). A daily
    schedule in a zone with summer time runs 23 or 25 hours apart when the clocks change: counted
    on the wall clock, its reminder still comes at every run, at the same local time."""
    zone = policy.schedule_timezone
    wall = now.astimezone(zone).replace(tzinfo=None) - notified_at.astimezone(zone).replace(tzinfo=None)
    return wall >= timedelta(hours=policy.reminder_hours) - REMINDER_SLACK


def decide(
    state: AccountState,
    result: CheckResult,
    now: datetime,
    levels: Levels,
    policy: AlertPolicy,
    rules: Rules | None = None,
) -> Decision:
    """`now` is when the result was observed (the run's start). An account not checked this run
    changes nothing: no failure counted, no notification, the state as it was. `rules`: the
    account's renewal and spike rule (None: no renewal, the policy's spike rule)."""
    rules = rules or Rules(spike=policy.spike)
    if not result.checked:
        return Decision(state, forecast=forecast(state.samples, state.pace_since))
    future = None
    if state.checked_at is not None and now <= state.checked_at:
        if state.checked_at - now <= MAX_RUN:
            # Stale: a newer run already decided, or this very run did (its write was applied, but
            # the reply was lost and botocore's retry of the conditional write then failed).
            return Decision(state, forecast=forecast(state.samples, state.pace_since))
        future, state = state.checked_at, _without_future(state, now)
    elif state.notified_at is not None and state.notified_at - now > MAX_RUN:
        # A run notifies when it checks, so a notified_at ahead of checked_at is no overlapping
        # run's: left alone, it would hold every reminder back until that moment, silently.
        future, state = state.notified_at, _without_future(state, now)
    if result.error is not None:
        decision = _after_failure(state, result, now, policy)
    else:
        assert result.balance is not None
        decision = _after_success(state, result, now, levels, policy, rules)
    notes, told = audiences(decision.notifications, state)
    decided = replace(decision.state, told=told)
    return replace(decision, state=decided, notifications=notes, future_checked_at=future)


def _without_future(state: AccountState, now: datetime) -> AccountState:
    """Forget what a clock ahead of ours recorded: samples after `now` would bend the forecast,
    and a notified_at after it would hold the reminders back. A spike in progress is kept: the
    SPENDING FAST it sent opened an incident, which only its CLEARED resolves."""
    notified_at = state.notified_at if state.notified_at is None or state.notified_at <= now else now
    return replace(
        state,
        notified_at=notified_at,
        samples=tuple(sample for sample in state.samples if sample.at <= now),
        pace_since=None if state.pace_since is not None and state.pace_since > now else state.pace_since,
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
    state: AccountState, result: CheckResult, now: datetime, levels: Levels, policy: AlertPolicy, rules: Rules
) -> Decision:
    assert result.balance is not None
    account, balance, pools = result.account, result.balance.credits, result.balance.pools
    currency = result.balance.currency
    notes: list[Notification] = []
    if state.failing_notified:
        notes.append(
            Notification(
                Kind.CHECK_RECOVERED,
                account,
                state.level,
                balance=balance,
                failures=state.consecutive_failures,
                currency=currency,
            )
        )
    seen = observe(state.samples, state.pace_since, state.spike, now, balance, rules.spike, levels.warning)
    outlook = forecast(seen.samples, seen.pace_since)
    level = levels.classify(balance, state.level)
    announced = min(state.announced, level) if level is not Level.OK else state.announced
    notified_at = state.notified_at
    running_out_notified, running_out_at = state.running_out_notified, state.running_out_at

    renews_at = next_renewal(rules.renewal, result.balance.renews_at, now, policy.schedule_timezone)
    renewal = _renewal(state, seen.event, now, renews_at, rules, policy)
    if renewal.passed:  # a new period: every alert re-arms
        running_out_notified, running_out_at = False, None
    warnings = [renewal.warning] if renewal.warning else []

    # A renewing account is told of a low balance only when it will not last until the renewal,
    # or while there is no forecast to say so. A renewal whose date has passed without its rise
    # (renewal.due still ahead of its grace) is one the vendor makes at its own billing hour, in its
    # own zone: the credits are coming, and the hours until they do are no news.
    awaiting = renewal.due is not None and renewal.due <= now
    lasts = awaiting or lasts_until(renews_at, outlook, now)

    def note(kind: Kind, at_level: Level, threshold: float | None = None) -> Notification:
        return Notification(
            kind,
            account,
            at_level,
            balance=balance,
            threshold=levels.threshold_of(at_level) if threshold is None else threshold,
            forecast=outlook,
            renews_at=renews_at,
            pools=pools,
            currency=currency,
        )

    if level > announced and not lasts:
        notes.append(note(Kind.LOW, level))
        announced, notified_at = level, now
    elif level is Level.OK and announced is not Level.OK:
        recovered = note(Kind.RECOVERED, announced, threshold=levels.warning)  # back above warning
        notes.append(replace(recovered, renewed=renewal.renewed))
        announced, notified_at = Level.OK, None
    elif (
        announced is not Level.OK
        and level is not Level.OK
        and not lasts
        and notified_at is not None
        and reminder_due(notified_at, now, policy)
    ):
        notes.append(note(Kind.REMINDER, level))
        notified_at = now

    if seen.event is Event.SPIKE and seen.spike is not None:
        # One message per spike: it names a level it crossed (instead of a LOW), and stands for the
        # RUNNING OUT its credits would bring.
        crossed = [n for n in notes if n.kind is Kind.LOW]
        notes = [n for n in notes if n.kind not in (Kind.LOW, Kind.REMINDER)]
        spent = note(Kind.SPENDING_FAST, crossed[0].level if crossed else level)
        notes.append(replace(spent, spike=seen.spike, threshold=crossed[0].threshold if crossed else None))

    days = outlook.days_left
    short = days is not None and days < policy.min_days_left and not lasts
    runs_out = now + timedelta(days=days) if days is not None and days < 3650 else None
    if short and runs_out is not None and seen.event is not Event.SPIKE:
        again = (
            running_out_notified
            and running_out_at is not None
            and runs_out - now <= RUNNING_OUT_RESEND_SHARE * (running_out_at - now)
            and running_out_at - runs_out >= RUNNING_OUT_RESEND_ADVANCE
        )
        if not running_out_notified or again:
            if not any(n.kind in (Kind.LOW, Kind.REMINDER) for n in notes):  # those carry the forecast
                notes.append(note(Kind.RUNNING_OUT, level))
            running_out_notified, running_out_at = True, runs_out
    elif outlook.status is ForecastStatus.NOT_DEPLETING or (
        days is not None and days >= policy.min_days_left * RUNNING_OUT_REARM_FACTOR
    ):
        running_out_notified, running_out_at = False, None

    # Incidents no other message ends: a RUNNING OUT of an account above its levels that the forecast
    # no longer bears out, and a spike that stopped (or became a new pace).
    recovering = any(n.kind is Kind.RECOVERED for n in notes)
    if state.running_out_notified and not running_out_notified and announced is Level.OK and not recovering:
        notes.append(replace(note(Kind.CLEARED, level), clears=Kind.RUNNING_OUT))
    if state.spike is not None and seen.spike is None:
        notes.append(replace(note(Kind.CLEARED, level), clears=Kind.SPENDING_FAST))

    snoozed_until, snooze_reason = state.snoozed_until, state.snooze_reason
    if state.snoozed(now):
        notes = [n for n in notes if n.kind not in HELD_BY_SNOOZE]
    elif snoozed_until is not None:  # the snooze has ended: say once where things stand
        if (
            announced is not Level.OK
            and not lasts
            and not any(n.kind in (Kind.LOW, Kind.REMINDER) for n in notes)
        ):
            notes = [n for n in notes if n.kind is not Kind.RUNNING_OUT]  # the reminder carries the forecast
            notes.append(note(Kind.REMINDER, level))
            notified_at = now
        snoozed_until, snooze_reason = None, None

    notes, untold = ended(notes, state.untold)
    new_state = replace(
        state,
        untold=untold,
        level=level,
        announced=announced,
        notified_at=notified_at,
        consecutive_failures=0,
        failing_notified=False,
        failing_since=None,
        running_out_notified=running_out_notified,
        running_out_at=running_out_at,
        samples=seen.samples,
        pace_since=seen.pace_since,
        spike=seen.spike,
        last_spike=seen.spike if seen.spike is not None else state.last_spike,
        pools=pools,
        currency=currency,
        renewal_due=renewal.due,
        renewal_missed=renewal.missed,
        checked_at=now,
        snoozed_until=snoozed_until,
        snooze_reason=snooze_reason,
    )
    return Decision(new_state, notes, outlook, warnings=tuple(warnings), lasts=lasts)


@dataclass(frozen=True)
class _Renewal:
    due: datetime | None
    missed: datetime | None
    passed: bool = False
    """The renewal expected came (by its date) since the last balance seen: a new period."""
    renewed: bool = False
    """The balance rose with it."""
    warning: str | None = None


def _renewal(
    state: AccountState,
    event: Event | None,
    now: datetime,
    renews_at: datetime | None,
    rules: Rules,
    policy: AlertPolicy,
) -> _Renewal:
    """The renewal expected (`AccountState.renewal_due`) after this check: whether it passed, and
    whether its rise came (a top-up from RENEWAL_GRACE before its date), or not by RENEWAL_GRACE
    after it (said once)."""
    due = state.renewal_due
    if due is None:
        return _Renewal(renews_at, state.renewal_missed)
    # Since the last balance seen, not the last check: a check that failed after the date saw no
    # renewal, and the next one to see the balance starts the new period.
    seen = state.samples[-1].at if state.samples else None
    passed = now >= due and (seen is None or seen < due)
    if event is Event.TOP_UP and now >= due - RENEWAL_GRACE:
        later = renews_at
        if later is not None and later <= due:  # risen just before its date: the one after it
            later = next_renewal(rules.renewal, None, due, policy.schedule_timezone)
        return _Renewal(later, None, passed=passed or now < due, renewed=True)
    if now >= due + RENEWAL_GRACE:
        return _Renewal(
            renews_at,
            due,
            passed=passed,
            warning=f"the renewal of {due.isoformat()} did not show up in the balance (no rise within"
            f" {RENEWAL_GRACE.days} day of it): check the plan, or the account's renewal setting",
        )
    return _Renewal(due if now >= due else renews_at, state.renewal_missed, passed=passed)


def audiences(
    notes: list[Notification], state: AccountState
) -> tuple[list[Notification], Mapping[Family, frozenset[str]]]:
    """Each incident's audience: a notice opens its family's record of who was told (`told`, which
    outbox.settle fills as receivers take its notices); its end is due to them, and to the receivers
    still owed one of its notices then (`Notification.audience`), and the record closes."""
    told = dict(state.told)
    out = []
    for n in notes:
        family = n.family
        if family is not None and not n.ends:
            told.setdefault(family, frozenset())
        elif family is not None and family in told:
            owed = (item.due for item in state.outbox if item.note.family is family and not item.note.ends)
            n = replace(n, audience=told.pop(family).union(*owed))
        out.append(n)
    return out, told


def ended(
    notes: list[Notification], untold: Mapping[Family, frozenset[str]]
) -> tuple[list[Notification], Mapping[Family, frozenset[str]]]:
    """Each note that ends an incident skips the receivers never told of it; its incident's
    untold receivers are then forgotten (the next one starts afresh)."""
    if not untold or not any(n.ends for n in notes):
        return notes, untold
    left = dict(untold)
    out = []
    for n in notes:
        family = n.family
        if n.ends and family is not None and family in untold:
            n = replace(n, skip=untold[family])
            left.pop(family, None)
        out.append(n)
    return out, left
