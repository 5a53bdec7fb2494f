"""The weekly digest: one message with every account's balance, 7-day burn, days left and level,
most urgent first, like AWS Budgets' reports. Pure.

It is opt-in (template.yaml's DigestSchedule) and read from the alert state the scheduled checks
keep, so it asks no provider anything. It goes through an outbox like any notification: the
state item DIGEST_KEY records, in one conditional write, the week whose digest is pending, so a
week's digest is delivered at least once and never queued twice (see service.send_digest).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from credit_monitor.alerting import AccountState, Level, lasts_until
from credit_monitor.amounts import format_amount, format_rate
from credit_monitor.config import Account
from credit_monitor.forecast import Spike, forecast
from credit_monitor.messages import (
    MAX_MESSAGE_BYTES,
    MessageContext,
    RenderedMessage,
    chat_card,
    level_name,
    subject_line,
)
from credit_monitor.model import Pool

DIGEST_KEY = "#digest"
"""The state item of the digest's own outbox. No account id can start with '#'."""
BURN_DAYS = 7


@dataclass(frozen=True)
class Row:
    account: Account
    balance: float | None
    burn_per_day: float | None
    """Credits used per day over the last BURN_DAYS (top-ups do not count as negative use)."""
    days_left: float | None
    level: Level | None
    failing: bool
    renews_at: datetime | None = None
    lasts: bool = False
    """The balance lasts until `renews_at`, by the forecast."""
    pools: tuple[Pool, ...] = ()
    spike: Spike | None = None
    """A spike of the digest's week."""
    currency: str | None = None
    """The unit of the balance, the burn, the pools and the spike: None for credits, else an ISO
    4217 code."""

    def note(self) -> str:
        """The renewal, the pools and a spike of the week, in a few words."""
        notes = []
        if self.renews_at is not None:
            day = f"{self.renews_at:%d %b}"
            low = self.level in (Level.WARNING, Level.CRITICAL)
            notes.append(
                f"low, lasts until renewal {day}"
                if self.lasts and low
                else f"renews {day}"
                if self.lasts or self.days_left is None
                else f"runs out before renewal {day}"
            )
        if self.pools:
            notes.append(", ".join(f"{pool.name} {self.amount(pool.credits)}" for pool in self.pools))
        if self.spike is not None:
            notes.append(f"spent {self.amount(self.spike.spent)} at once on {self.spike.until:%a}")
        return "; ".join(notes)

    def amount(self, value: float) -> str:
        """An amount of this account, as the table shows it: "1,234" credits, "$12.40"."""
        return format_amount(value, self.currency, credits_word=False)

    @property
    def urgency(self) -> tuple[int, int, float, float, str]:
        """Failing first, then CRITICAL, then the fewest days left, then the smallest balance."""
        level = -1 if self.level is None else int(self.level)
        days = math.inf if self.days_left is None else self.days_left
        balance = math.inf if self.balance is None else self.balance
        return (-int(self.failing), -level, days, balance, self.account.id)


def week_of(at: datetime, context: MessageContext) -> date:
    """The Monday starting the week of `at`, on the schedule's wall clock."""
    day = at.astimezone(context.timezone).date()
    return day - timedelta(days=day.weekday())


def digest_id(week: date) -> str:
    """The notification id of a week's digest: the same on every copy of it."""
    year, number, _ = week.isocalendar()
    return f"digest-{year}-W{number:02d}"


def rows(
    accounts: Sequence[Account], states: Mapping[str, AccountState | Exception], now: datetime
) -> list[Row]:
    found = []
    for account in accounts:
        state = states.get(account.id, AccountState())  # absent: never checked yet
        if not isinstance(state, AccountState):
            found.append(Row(account, None, None, None, None, failing=True))
            continue
        samples = [sample for sample in state.samples if sample.at >= now - timedelta(days=BURN_DAYS)]
        burn = None
        if len(samples) >= 2 and samples[-1].at - samples[0].at >= timedelta(hours=1):
            used = sum(max(0.0, a.balance - b.balance) for a, b in pairwise(samples))
            burn = used / ((samples[-1].at - samples[0].at) / timedelta(days=1))
        outlook = forecast(state.samples, state.pace_since)
        renews_at = state.renewal_due if state.renewal_due is not None and state.renewal_due > now else None
        spike = state.last_spike
        found.append(
            Row(
                account,
                state.samples[-1].balance if state.samples else None,
                burn,
                outlook.days_left,
                state.level if state.samples else None,
                failing=state.consecutive_failures > 0,
                renews_at=renews_at,
                lasts=lasts_until(renews_at, outlook, now),
                pools=state.pools,
                spike=spike if spike is not None and now - spike.until <= timedelta(days=BURN_DAYS) else None,
                currency=state.currency,
            )
        )
    return sorted(found, key=lambda row: row.urgency)


def render_digest(
    found: Sequence[Row], week: date, at: datetime, context: MessageContext, notification_id: str
) -> RenderedMessage:
    """One message under SNS's limit (MAX_MESSAGE_BYTES): every account when it fits (500 of the
    longest ids do), else the most urgent, and how many less urgent ones are left out."""
    shown = len(found)
    message = _render(found, shown, week, at, context, notification_id)
    while message.size() > MAX_MESSAGE_BYTES and shown:
        shown = min(shown - 1, shown * MAX_MESSAGE_BYTES // message.size())
        message = _render(found, shown, week, at, context, notification_id)
    return message


def _render(
    found: Sequence[Row], shown: int, week: date, at: datetime, context: MessageContext, notification_id: str
) -> RenderedMessage:
    critical = sum(1 for row in found if row.level is Level.CRITICAL)
    low = sum(1 for row in found if row.level is Level.WARNING)
    failing = sum(1 for row in found if row.failing)
    counts = [f"{n} {what}" for n, what in ((critical, "CRITICAL"), (low, "low"), (failing, "failing")) if n]
    state = ", ".join(counts) if counts else "all OK"
    subject = f"Weekly digest, week of {week:%d %b %Y}: {state} ({len(found)} accounts)"
    header = ("Account", "Balance", "Burn/day (7 d)", "Days left", "Level", "Note")
    table = [header, *(_cells(row) for row in found[:shown])]
    left_out = len(found) - shown
    more = (
        [f"  ... and {left_out} more accounts, less urgent: credit-monitor status lists every one"]
        if left_out
        else []
    )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    text = "\n".join(
        [
            f"Every account, most urgent first ({state}).",
            f"  As of: {context.local(at)}",
            "",
            *(f"  {line}" for line in lines),
            *more,
            "",
            *([f"Dashboard: {context.dashboard_url}", ""] if context.dashboard_url else []),
            "-- credit-monitor",
        ]
    )
    chat = chat_card(
        f":bar_chart: {subject}",
        "\n".join(
            f"*{cells[0]}*: {cells[1]}, burn {cells[2]}/day, {cells[3]} days left, {cells[4]}"
            + (f" ({cells[5]})" if cells[5] else "")
            for cells in table[1:]
        )
        + "".join(f"\n{line.strip()}" for line in more),
        thread="credit-monitor-digest",
        event="DIGEST",
        summary=subject,
    )
    attributes = {"kind": "DIGEST", "level": "OK", "provider": "all", "notification_id": notification_id}
    return RenderedMessage(
        subject_line(subject), text, chat, attributes, notifications=((DIGEST_KEY, notification_id),)
    )


def _cells(row: Row) -> tuple[str, str, str, str, str, str]:
    balance = "unknown" if row.balance is None else row.amount(row.balance)
    burn = (
        "-" if row.burn_per_day is None else format_rate(row.burn_per_day, row.currency, credits_word=False)
    )
    days = "-" if row.days_left is None else f"{row.days_left:,.1f}"
    level = "FAILING" if row.failing else ("-" if row.level is None else level_name(row.level))
    return (row.account.id, balance, burn, days, level, row.note())
