"""`credit-monitor status`: where every account stands, most urgent first. Pure: states in, rows out.

A terminal reader should see in two seconds which account needs money first: accounts are sorted
by level (CRITICAL, then WARNING), then failing checks, then days left, and each line ends with a
sparkline of its balance history. What came from the state table (account ids, snooze reasons,
problems) is shown through `printable`, in the table and the JSON alike: a hostile item can neither
drive the terminal nor break the output's encoding.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from credit_monitor.alerting import AccountState, Level, Pending, lasts_until
from credit_monitor.amounts import format_amount, format_rate
from credit_monitor.forecast import Sample, Spike, forecast
from credit_monitor.model import Pool
from credit_monitor.printable import printable
from credit_monitor.routes import TOPIC

SPARKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 16
MAX_SNOOZE = timedelta(days=365)
MAX_REASON = 200
"""Characters of a snooze reason, as written by `snooze` and as shown in the table."""
SPIKE_SHOWN_FOR = timedelta(days=7)
"""A spike is in the notes for a week after it."""
MAX_SHOWN_ACCOUNT = 64
"""An id from the accounts file is at most 64; a longer key in the table must not widen every row."""
MAX_SHOWN_RECEIVER = 120
"""A receiver id is a route name, a kind and an entry name (or a topic ARN): a longer one in the
state table is cut."""


@dataclass(frozen=True)
class AccountStatus:
    account: str
    level: str
    balance: float | None
    balance_at: datetime | None
    burn_per_day: float | None
    days_left: float | None
    notified_at: datetime | None
    """The last notification sent: `last_sent` at this time, or (items written before `last_sent`
    was kept) the reminder clock's last LOW or REMINDER."""
    consecutive_failures: int
    pending_notifications: int
    snoozed_until: datetime | None
    snooze_reason: str | None
    history: tuple[Sample, ...]
    problem: str | None = None
    """The item could not be read: what is wrong and how to reset it."""
    last_sent: str | None = None
    renews_at: datetime | None = None
    """The plan's next renewal, when it has one."""
    lasts: bool = False
    """The balance lasts until `renews_at`, by the forecast."""
    pools: tuple[Pool, ...] = ()
    last_spike: Spike | None = None
    renewal_missed: datetime | None = None
    currency: str | None = None
    """The unit of the balance, the burn, the pools and the spike: None for credits, else an ISO
    4217 code."""
    pending_by_receiver: Mapping[str, int] = field(default_factory=dict)
    """By receiver id (routes.Routing), the pending notifications it has still to take."""

    def as_json(self) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "account": printable(self.account),
            "level": self.level,
            "balance": self.balance,
            "currency": self.currency,
            "balance_at": iso(self.balance_at),
            "burn_per_day": self.burn_per_day,
            "days_left": self.days_left,
            "notified_at": iso(self.notified_at),
            "last_sent": printable(self.last_sent) if self.last_sent is not None else None,
            "consecutive_failures": self.consecutive_failures,
            "pending_notifications": self.pending_notifications,
            "snoozed_until": iso(self.snoozed_until),
            "snooze_reason": printable(self.snooze_reason) if self.snooze_reason is not None else None,
            "history": [[sample.at.isoformat(), sample.balance] for sample in self.history],
            "problem": printable(self.problem) if self.problem is not None else None,
            "renews_at": iso(self.renews_at),
            "lasts_until_renewal": self.lasts if self.renews_at is not None else None,
            "pools": {printable(pool.name): pool.credits for pool in self.pools},
            "last_spike": None
            if self.last_spike is None
            else {
                "since": iso(self.last_spike.since),
                "until": iso(self.last_spike.until),
                "spent": self.last_spike.spent,
                "usual": self.last_spike.usual,
            },
            "renewal_missed": iso(self.renewal_missed),
            "pending_by_receiver": {
                printable(receiver, MAX_SHOWN_RECEIVER): count
                for receiver, count in self.pending_by_receiver.items()
            },
        }

    def notes(self, now: datetime) -> list[str]:
        """What the columns do not say: the renewal, the pools, a recent spike."""
        notes = []
        if self.renews_at is not None:
            day = self.renews_at.strftime("%a %d %b")
            if self.lasts and self.level in (Level.WARNING.name, Level.CRITICAL.name):
                notes.append(f"low, but lasts until its renewal on {day}")
            elif not self.lasts and self.days_left is not None:
                notes.append(f"runs out before its renewal on {day}")
            else:
                notes.append(f"renews {day}")
        if self.renewal_missed is not None:
            notes.append(f"the renewal of {self.renewal_missed:%d %b} did not show in the balance")
        if self.pools:
            shown = (
                f"{printable(pool.name, 24)} {self.amount(pool.credits)}"
                + (" (renews)" if pool.renews else "")
                for pool in self.pools
            )
            notes.append(", ".join(shown))
        if self.last_spike is not None and now - self.last_spike.until <= SPIKE_SHOWN_FOR:
            spike = self.last_spike
            notes.append(
                f"spent {self.amount(spike.spent)} in {_span(spike.seconds)}, {_ago(spike.until, now)}"
            )
        return notes

    def amount(self, value: float) -> str:
        """An amount of this account, as the table shows it: "1,234" credits, "$12.40"."""
        return format_amount(value, self.currency, credits_word=False)


def account_status(account: str, state: AccountState, now: datetime) -> AccountStatus:
    last = state.samples[-1] if state.samples else None
    outlook = forecast(state.samples, state.pace_since)
    renews_at = state.renewal_due if state.renewal_due is not None and state.renewal_due > now else None
    return AccountStatus(
        account=account,
        level=state.level.name,
        balance=last.balance if last else None,
        balance_at=last.at if last else None,
        burn_per_day=outlook.burn_per_day if outlook.days_left is not None else None,
        days_left=outlook.days_left,
        notified_at=state.last_sent_at if state.last_sent else state.notified_at,
        last_sent=state.last_sent,
        consecutive_failures=state.consecutive_failures,
        pending_notifications=len(state.outbox),
        pending_by_receiver=owed_by_receiver(state.outbox),
        snoozed_until=state.snoozed_until if state.snoozed(now) else None,
        snooze_reason=state.snooze_reason if state.snoozed(now) else None,
        history=state.samples,
        renews_at=renews_at,
        lasts=lasts_until(renews_at, outlook, now),
        pools=state.pools,
        last_spike=state.last_spike,
        renewal_missed=state.renewal_missed,
        currency=state.currency,
    )


def owed_by_receiver(outbox: Iterable[Pending]) -> dict[str, int]:
    """How many of the pending notifications each receiver has still to take (Pending.owed), by
    receiver id, most first."""
    owed = Counter(receiver for item in outbox for receiver in item.owed)
    return dict(sorted(owed.items(), key=lambda pair: (-pair[1], pair[0])))


def pending_line(rows: Iterable[AccountStatus]) -> str | None:
    """What the receivers have still to take, all accounts together: "pending deliveries: 2 for
    acme/slack:acme-slack, 1 for the stack's topic"; None when nothing is owed."""
    owed: Counter[str] = Counter()
    for row in rows:
        owed.update(row.pending_by_receiver)
    if not owed:
        return None
    ordered = sorted(owed.items(), key=lambda pair: (-pair[1], pair[0]))
    shown = (
        f"{count} for {printable(_receiver(receiver), MAX_SHOWN_RECEIVER)}" for receiver, count in ordered
    )
    return "pending deliveries: " + ", ".join(shown)


def _receiver(receiver: str) -> str:
    """A receiver as the state item names it: "the stack's topic", or its id ("acme/slack:acme-slack",
    an entry's name, never a secret). The accounts file is not at hand here to say more."""
    return "the stack's topic" if receiver == TOPIC else receiver


def unreadable(account: str, problem: str) -> AccountStatus:
    return AccountStatus(account, "UNREADABLE", None, None, None, None, None, 0, 0, None, None, (), problem)


def urgency(row: AccountStatus) -> tuple[int, int, float, str]:
    """Sort key: unreadable and CRITICAL first, then WARNING, failing checks, fewest days left."""
    rank = {"UNREADABLE": 0, Level.CRITICAL.name: 1, Level.WARNING.name: 2}.get(row.level, 3)
    days = row.days_left if row.days_left is not None else math.inf
    return (rank, 0 if row.consecutive_failures else 1, days, row.account)


def sparkline(samples: tuple[Sample, ...], width: int = SPARK_WIDTH) -> str:
    """The balance history in `width` characters (the newest samples, averaged into buckets)."""
    if not samples:
        return ""
    scale = max(abs(s.balance) for s in samples) or 1.0  # near float's limit, high - low overflows
    values = [s.balance / scale for s in samples]
    size = math.ceil(len(values) / width)
    buckets = [
        sum(chunk) / len(chunk) for chunk in (values[i : i + size] for i in range(0, len(values), size))
    ]
    low, high = min(buckets), max(buckets)
    if high == low:
        return SPARKS[len(SPARKS) // 2] * len(buckets)
    return "".join(SPARKS[round((v - low) / (high - low) * (len(SPARKS) - 1))] for v in buckets)


def render(rows: list[AccountStatus], now: datetime) -> str:
    header = (
        "ACCOUNT",
        "LEVEL",
        "BALANCE",
        "AS OF",
        "BURN/DAY",
        "DAYS LEFT",
        "NOTIFIED",
        "FAIL",
        "PEND",
        "SNOOZED",
        "NOTES",
    )
    table = [header]
    for row in sorted(rows, key=urgency):
        table.append(
            (
                printable(row.account, MAX_SHOWN_ACCOUNT),
                row.level,
                row.amount(row.balance) if row.balance is not None else "-",
                _ago(row.balance_at, now),
                format_rate(row.burn_per_day, row.currency, credits_word=False)
                if row.burn_per_day is not None
                else "-",
                f"{row.days_left:,.1f}" if row.days_left is not None else "-",
                f"{printable(row.last_sent, 16)} {_ago(row.notified_at, now)}"
                if row.last_sent
                else _ago(row.notified_at, now),
                str(row.consecutive_failures) if row.consecutive_failures else "-",
                str(row.pending_notifications) if row.pending_notifications else "-",
                _snooze(row),
                "; ".join(row.notes(now)) or "-",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) for line in table]
    ordered = sorted(rows, key=urgency)
    for index, row in enumerate(ordered, start=1):
        lines[index] += "  " + (printable(row.problem) if row.problem else sparkline(row.history))
    if pending := pending_line(rows):
        lines.append(pending)
    return "\n".join(line.rstrip() for line in lines)


def to_the_minute(moment: datetime) -> str:
    """ "2026-12-03 09:00 UTC": what a person reads, whatever zone the time was written in."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def when(moment: datetime, now: datetime) -> str:
    """A time for people: to the minute, in UTC, and how far from now, e.g.
    "2026-12-03 09:00 UTC (in 2 days)"; minutes under two hours, hours under two days."""
    shown = to_the_minute(moment)
    minutes = round((moment - now).total_seconds() / 60)
    if minutes == 0:
        return f"{shown} (now)"
    size = abs(minutes)
    amount, unit = (
        (size, "minute") if size < 120 else (size // 60, "hour") if size < 2880 else (size // 1440, "day")
    )
    span = f"{amount} {unit}{'' if amount == 1 else 's'}"
    return f"{shown} (in {span})" if minutes > 0 else f"{shown} ({span} ago)"


def _snooze(row: AccountStatus) -> str:
    if row.snoozed_until is None:
        return "-"
    until = to_the_minute(row.snoozed_until)
    return f"{until} ({printable(row.snooze_reason, MAX_REASON)})" if row.snooze_reason else until


def _span(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:,.0f} h"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


RATE = re.compile(r"rate\((\d{1,4}) (minute|hour|day)s?\)")
FIRST_RUN_GRACE = timedelta(minutes=10)
"""EventBridge Scheduler's own slack, and the run's: later than this past due, the run is overdue."""


def schedule_period(schedule: str | None, alarm_period_seconds: str | None) -> timedelta | None:
    """The time between scheduled runs: a rate()'s, else the stack's AlarmPeriodSeconds (one
    alarm period per run, which the template enforces); None when neither says."""
    if schedule and (rate := RATE.fullmatch(schedule.strip())):
        return timedelta(**{f"{rate.group(2)}s": int(rate.group(1))})
    try:
        seconds = float(alarm_period_seconds or "")
    except ValueError:
        return None
    return timedelta(seconds=seconds) if 0 < seconds <= 86_400 * 7 else None


def first_run_note(
    schedule: str | None, period: timedelta | None, created: datetime | None, now: datetime, test_alert: str
) -> list[str]:
    """What `status` says after the first deploy, while no account has been checked: when the first
    scheduled run is due (or that it is overdue, and where to look), and how to see a message now."""
    if schedule and period and created:
        due = created + period
        if now <= due + FIRST_RUN_GRACE:
            first = f"The first scheduled run ({printable(schedule)}) is due by {when(due, now)}."
        else:
            first = (
                f"The first scheduled run ({printable(schedule)}) was due by {when(due, now)} and recorded"
                " nothing: look at the function's errors (see troubleshooting in the docs)."
            )
    else:
        first = (
            "The first scheduled run is due within the hour of the deploy (with the default schedule,"
            " rate(1 hour))."
        )
    return [first, f"To see a message arrive now: {test_alert}"]


def snooze_until(now: datetime, duration: str | None, until: str | None) -> datetime:
    """`--for 3d` (m, h, d or w) or `--until 2026-12-01[T09:00[+01:00]]`; a date means midnight UTC.
    Raises ValueError saying what is wrong; at most a year ahead, and in the future."""
    if (duration is None) == (until is None):
        raise ValueError("give exactly one of --for (e.g. 3d) and --until (e.g. 2026-12-01)")
    if duration is not None:
        units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        amount, unit = duration[:-1], duration[-1:]
        if unit not in units or not re.fullmatch(r"[0-9]{1,7}", amount):
            raise ValueError(f"--for must be a number and a unit (m, h, d or w), e.g. 3d; got {duration!r}")
        try:
            end = now + timedelta(**{units[unit]: int(amount)})
        except OverflowError:
            raise ValueError("a snooze lasts at most a year; raise the account's threshold instead") from None
    else:
        assert until is not None
        try:
            end = datetime.fromisoformat(until)
        except ValueError:
            raise ValueError(f"--until must be a date or time such as 2026-12-01; got {until!r}") from None
        if end.tzinfo is None:
            end = end.replace(tzinfo=now.tzinfo)
    if end <= now:
        raise ValueError(f"the snooze would end in the past ({end.isoformat()})")
    if end - now > MAX_SNOOZE:
        raise ValueError("a snooze lasts at most a year; raise the account's threshold instead")
    return end
