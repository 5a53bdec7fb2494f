"""What a notification says: a subject, an e-mail body and a chat card. Pure.

SNS delivers per protocol from one publish (MessageStructure=json): e-mail and SQS subscribers get
the readable text, https subscribers (Amazon Q Developer in chat applications) get the custom
notification JSON it renders as a card.
"""

from __future__ import annotations

import json
import math
import shlex
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from credit_monitor.alerting import Kind, Level, Notification
from credit_monitor.amounts import ascii_amounts, format_amount, format_rate
from credit_monitor.config import Account
from credit_monitor.forecast import ForecastStatus
from credit_monitor.grouping import Group, Item
from credit_monitor.model import FailureKind
from credit_monitor.providers import Vendor

SUBJECT_MAX_LENGTH = 99
"""SNS refuses a Subject of 100 characters or more, or with anything but printable ASCII."""
PREFIX = "[credit-monitor]"
MAX_MESSAGE_BYTES = 250_000
"""SNS refuses a message over 256 KiB (262,144 bytes: body, subject and attributes together); a
group whose message would be bigger is split (`render_group`), with room to spare."""


MAX_RUNS_OUT_DAYS = 365.0
"""A forecast further out gets no date: it says nothing that precise."""
SNOOZE_FOR = "3d"


@dataclass(frozen=True)
class MessageContext:
    """What every message needs beyond the notification: the zone people read times in
    (ScheduleTimezone) and the dashboard's address (DASHBOARD_URL; empty: none)."""

    timezone: tzinfo = UTC
    dashboard_url: str = ""

    def local(self, at: datetime) -> str:
        """A time as people read it in the schedule's zone, e.g. Mon 02 Nov 2026 10:00 CET."""
        return at.astimezone(self.timezone).strftime("%a %d %b %Y %H:%M %Z")

    def day(self, at: datetime) -> str:
        """A day as people read it in the schedule's zone, e.g. Tue 01 Dec 2026."""
        return at.astimezone(self.timezone).strftime("%a %d %b %Y")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    chat: dict[str, Any]
    attributes: dict[str, str]
    """SNS message attributes, for subscription filter policies: provider, kind, level (the highest
    in a group), the labels every account in it shares, `account` when it is about one, and
    `notification_id`: the ids of every notification it delivers, comma-separated."""
    notifications: tuple[tuple[str, str], ...] = field(default=())
    """(account, notification id) of each notification this message delivers."""
    levels: tuple[tuple[str, str], ...] = field(default=())
    """(account, level name) of each account of a group, the highest of its notifications: what a
    receiver alerting per account (PagerDuty) tells of it, where `attributes`' level is the group's."""

    def sns_message(self) -> str:
        return json.dumps({"default": self.text, "email": self.text, "https": json.dumps(self.chat)})

    def size(self) -> int:
        """The bytes SNS counts against its limit: body, subject, each attribute's name, type, value."""
        attributes = sum(len(f"{name}String{value}".encode()) for name, value in self.attributes.items())
        return len(self.sns_message().encode()) + len(self.subject.encode()) + attributes

    @property
    def ids(self) -> list[str]:
        return [notification_id for _, notification_id in self.notifications]


def level_name(level: Level) -> str:
    return {Level.OK: "ok", Level.WARNING: "warning", Level.CRITICAL: "CRITICAL"}[level]


def render(
    note: Notification,
    account: Account,
    checked_at: datetime | None = None,
    context: MessageContext | None = None,
) -> RenderedMessage:
    """One notification's message. `checked_at`: when the check behind it was made (the pending
    notification's created_at), for the time of the check and the date a balance runs out."""
    context = context or MessageContext()
    name = account.display_name
    amount = _amount(note, note.balance, credits_word=False)
    # A money balance is "the balance", one amount; credits are many.
    what, are, run = ("credits", "are", "run") if note.currency is None else ("balance", "is", "runs")
    level = level_name(note.level)
    headline, subject = {
        Kind.LOW: (
            f"{name} {what} fell below the {level} level.",
            f"{name} {what} below {level}: {amount} left",
        ),
        Kind.REMINDER: (
            f"{name} {what} {are} still below the {level} level.",
            f"Reminder: {name} still below {level}, {amount} left",
        ),
        Kind.RECOVERED: (
            f"{name} {what} {are} back above the warning level"
            + (": the plan renewed." if note.renewed else "."),
            f"{name} {what} {'renewed' if note.renewed else 'recovered'}: {amount}",
        ),
        Kind.RUNNING_OUT: (
            f"{name} {what} will run out soon at the current burn rate"
            + (", before the plan renews." if note.renews_at is not None else "."),
            f"{name} {what} {run} out in {_days(note)}"
            + (", before renewal" if note.renews_at is not None else ""),
        ),
        Kind.SPENDING_FAST: (
            f"{name} used {_spent(note)}, far more than usual.",
            f"{name} spending fast: {_spent(note)}",
        ),
        Kind.CHECK_FAILING: (
            f"The {name} balance could not be checked {note.failures} times in a row.",
            f"{name} check failing ({note.failures} in a row)",
        ),
        Kind.CHECK_RECOVERED: (f"The {name} balance check works again.", f"{name} check working again"),
        Kind.CLEARED: (
            f"{name} no longer spends fast: the spike is over."
            if note.clears is Kind.SPENDING_FAST
            else f"{name} credits no longer run out within the warning time: the burn slowed.",
            f"{name} spike over" if note.clears is Kind.SPENDING_FAST else f"{name} no longer running out",
        ),
        Kind.DIGEST: (f"The weekly digest includes {name}.", "Weekly digest"),  # digest.py renders it
    }[note.kind]

    facts = [("Provider", name)]
    if note.kind in (Kind.CHECK_FAILING,):
        facts.append(("Last error", note.reason or "unknown"))
        if note.since is not None:
            facts.append(("Failing since", context.local(note.since)))
    else:
        facts.append(("Balance", _amount(note, note.balance)))
    if note.pools:
        facts.append(("Pools", pools_fact(note, context)))
    if note.spike is not None and note.kind is Kind.SPENDING_FAST:
        facts.extend(_spike_facts(note, context))
    if note.threshold is not None and note.kind in (Kind.LOW, Kind.REMINDER, Kind.SPENDING_FAST):
        facts.append(("Level crossed", f"{level} ({_amount(note, note.threshold)})"))
    if note.threshold is not None and note.kind is Kind.RECOVERED:
        # Recovery is always above the warning level, whichever level it came from (note.level), and
        # the engine passes that warning level as the threshold.
        facts.append(("Level crossed", f"back above warning ({_amount(note, note.threshold)})"))
    if note.forecast is not None and note.kind is not Kind.CHECK_FAILING:
        if note.forecast.status is ForecastStatus.DEPLETING and note.forecast.burn_per_day is not None:
            facts.append(("Burn rate", f"{format_rate(note.forecast.burn_per_day, note.currency)}/day"))
        if note.kind is Kind.SPENDING_FAST:
            pass  # the spike's own facts say how long the balance lasts at its pace
        elif note.balance is not None and note.balance <= 0:
            facts.append(("Days left", "none: the balance is empty"))
        elif note.forecast.days_left is not None:
            facts.append(("Days left", _days(note) + _runs_out(note, checked_at, context)))
        elif note.kind is not Kind.RECOVERED:  # after a top-up, "not enough history" says nothing
            facts.append(("Days left", note.forecast.describe()))
    if note.renews_at is not None and note.kind in (
        Kind.LOW,
        Kind.REMINDER,
        Kind.RUNNING_OUT,
        Kind.RECOVERED,
    ):
        facts.append(("Renews", renewal_fact(note, checked_at, context)))
    if account.labels:
        facts.append(
            ("Labels", ", ".join(f"{name}={value}" for name, value in sorted(account.labels.items())))
        )
    if checked_at is not None:
        facts.append(("Checked", context.local(checked_at)))

    steps = [*_next_steps(note, account.vendor), *_act_steps(note.kind, account.id, context, note.renews_at)]
    width = max(len(label) for label, _ in facts) + 2
    text = "\n".join(
        [
            headline,
            "",
            *(f"  {label + ':':<{width}}{value}" for label, value in facts),
            "",
            "What to do:",
            *(f"  - {step}" for step in steps),
            "",
            "-- credit-monitor",
        ]
    )
    chat = chat_card(
        f"{_emoji(note)} {subject}",
        "\n".join(f"*{label}:* {value}" for label, value in facts),
        thread=f"credit-monitor-{account.id}",
        event=note.kind.value,
        summary=headline,
        next_steps=steps,
    )
    attributes = {
        **account.labels,
        "account": account.id,
        "provider": account.vendor.id,
        "kind": note.kind.value,
        "level": note.level.name,
        **({"clears": note.clears.value} if note.clears is not None else {}),
    }
    return RenderedMessage(subject=subject_line(subject), text=text, chat=chat, attributes=attributes)


def chat_card(
    title: str,
    description: str,
    *,
    thread: str,
    event: str,
    summary: str,
    next_steps: list[str] | None = None,
) -> dict[str, Any]:
    """An Amazon Q Developer (in chat applications) custom notification: what a Slack or Teams channel
    subscribed to the topic shows. `thread` keeps one subject's messages in one thread."""
    content: dict[str, Any] = {"textType": "client-markdown", "title": title, "description": description}
    if next_steps is not None:
        content["nextSteps"] = next_steps
    return {
        "version": "1.0",
        "source": "custom",
        "content": content,
        "metadata": {"threadId": thread, "eventType": event, "summary": summary},
    }


TEST_KIND = "TEST"
"""The `kind` attribute of a test alert: a filter policy can route or drop it like any kind."""


def render_test_alert(at: datetime, context: MessageContext | None = None) -> RenderedMessage:
    """The message `credit-monitor test-alert` has the function send to each receiver: marked as a
    test in its subject, its text and its `kind`, so nobody acts on it."""
    context = context or MessageContext()
    subject = "TEST: alerts reach you here; nothing needs doing"
    text = "\n".join(
        [
            "This is a test message from credit-monitor, sent on request (credit-monitor test-alert).",
            "Nothing needs doing: no balance is low and no check has failed because of it.",
            "",
            "If you are reading it, the monitor's alerts reach you here.",
            f"  Sent: {context.local(at)}",
            "",
            *([f"Dashboard: {context.dashboard_url}", ""] if context.dashboard_url else []),
            "-- credit-monitor",
        ]
    )
    chat = chat_card(
        f":white_check_mark: {PREFIX} {subject}",
        "This is a test message, sent on request (`credit-monitor test-alert`). Nothing needs doing:"
        " the monitor's alerts reach this channel.",
        thread="credit-monitor-test",
        event=TEST_KIND,
        summary=f"{PREFIX} {subject}",
    )
    attributes = {"kind": TEST_KIND, "level": Level.OK.name, "provider": "all"}
    return RenderedMessage(subject_line(subject), text, chat, attributes)


def render_group(
    group: Group,
    context: MessageContext | None = None,
    fits: Callable[[RenderedMessage], bool] | None = None,
) -> list[tuple[Group, RenderedMessage]]:
    """The group's message, or, when it would be over MAX_MESSAGE_BYTES or not `fits` a receiver
    (its own limit: Slack's text, a Teams card, a PagerDuty event), its halves' (in turn split as
    needed): every notification in exactly one message. A group of one reads like `render`'s; one
    still too big is the receiver's to cut, with a pointer to the rest."""
    context = context or MessageContext()
    message = _group_message(group, context)
    fit = message.size() <= MAX_MESSAGE_BYTES and (fits is None or fits(message))
    if fit or len(group.items) == 1:
        return [(group, message)]
    return [part for half in group.halves() for part in render_group(half, context, fits)]


def _group_message(group: Group, context: MessageContext) -> RenderedMessage:
    ids = tuple((item.account.id, item.pending.id) for item in group.items)
    delivers = {"notification_id": ",".join(notification_id for _, notification_id in ids)}
    if len(group.items) == 1 and group.incident is None:
        [item] = group.items
        single = render(item.pending.note, item.account, item.pending.created_at, context)
        return RenderedMessage(
            single.subject, single.text, single.chat, {**single.attributes, **delivers}, notifications=ids
        )
    items = sorted(group.items, key=_urgency)
    vendor = group.vendor
    count = len(group.accounts)
    headline, subject = _group_headline(group, vendor.name, count, items)
    labels = ", ".join(f"{name}={value}" for name, value in group.labels)
    facts = [("Provider", vendor.name), ("Accounts", _accounts_fact(group, count))]
    failing_together = group.incident is not None and group.kind is Kind.CHECK_FAILING
    if failing_together:
        facts.append(("Cause", _cause(group, items)))
        starts = [item.pending.note.since for item in items if item.pending.note.since is not None]
        if starts:
            facts.append(("Failing since", context.local(min(starts))))
    if labels:
        facts.append(("Labels", labels))
    facts.append(("Checked", context.local(max(item.pending.created_at for item in items))))
    one_cause = failing_together and group.failure is not None
    lines = [_account_line(item, context, cause_given=one_cause) for item in items]
    about = group.accounts[0] if count == 1 else "ACCOUNT"  # one account's notifications: its own command
    entry = group.incident.entry if group.incident else None
    steps = [*_next_steps(items[0].pending.note, vendor, entry), *_act_steps(group.kind, about, context)]
    width = max(len(label) for label, _ in facts) + 2
    text = "\n".join(
        [
            headline,
            "",
            *(f"  {label + ':':<{width}}{value}" for label, value in facts),
            "",
            "Accounts, most urgent first:" if group.kind in _LOW_KINDS else "Accounts:",
            *(f"  - {line}" for line in lines),
            "",
            "What to do:",
            *(f"  - {step}" for step in steps),
            "",
            "-- credit-monitor",
        ]
    )
    worst = items[0].pending.note
    chat = chat_card(
        f"{_emoji(replace(worst, level=group.level))} {subject}",
        "\n".join([*(f"*{label}:* {value}" for label, value in facts), *(f"- {line}" for line in lines)]),
        thread=f"credit-monitor-{vendor.id}-{group.kind.value.lower().replace(' ', '-')}",
        event=group.kind.value,
        summary=headline,
        next_steps=steps,
    )
    attributes = {
        **dict(group.labels),
        "provider": vendor.id,
        "kind": group.kind.value,
        "level": group.level.name,
        **({"account": group.accounts[0]} if count == 1 else {}),
        **delivers,
    }
    levels: dict[str, Level] = {}
    for item in group.items:
        levels[item.account.id] = max(levels.get(item.account.id, Level.OK), item.pending.note.level)
    by_account = tuple((account, level.name) for account, level in levels.items())
    return RenderedMessage(
        subject_line(subject), text, chat, attributes, notifications=ids, levels=by_account
    )


_LOW_KINDS = (Kind.LOW, Kind.REMINDER, Kind.RUNNING_OUT, Kind.SPENDING_FAST)


def _urgency(item: Item) -> tuple[int, float, str]:
    """Highest level first, then the fewest days left, then the smallest balance."""
    note = item.pending.note
    days = note.forecast.days_left if note.forecast and note.forecast.days_left is not None else math.inf
    balance = note.balance if note.balance is not None else math.inf
    spent = -note.spike.spent if note.spike is not None else 0.0
    ordered = days if note.kind is Kind.RUNNING_OUT else spent if note.kind is Kind.SPENDING_FAST else balance
    return (-note.level, ordered, item.account.id)


def _cause(group: Group, items: list[Item]) -> str:
    """An incident's cause: its failure kind and error, or, for a vendor failing several ways at
    once (grouping.VENDOR_DOWN), each kind with how many accounts it hit."""
    if group.failure is not None:
        return f"{group.failure}: {items[0].pending.note.reason or 'unknown'}"
    counts = Counter(str(item.pending.note.failure or "unknown") for item in items)
    return ", ".join(f"{kind} ({n})" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _accounts_fact(group: Group, count: int) -> str:
    if group.incident is None:
        return str(count)
    fact = f"{count} of the {group.vendor_accounts} {group.vendor.name} accounts watched"
    if group.failing > count:  # the others' CHECK FAILING went out in an earlier message
        fact += f" (the other {group.failing - count} failing were reported before)"
    return fact


def _group_headline(group: Group, name: str, count: int, items: list[Item]) -> tuple[str, str]:
    """The headline and the subject: how many accounts, and how bad."""
    accounts = f"{name} account {group.accounts[0]}" if count == 1 else f"{count} {name} accounts"
    critical = sum(1 for item in items if item.pending.note.level is Level.CRITICAL)
    worst = f" ({critical} CRITICAL)" if critical and group.kind in (Kind.LOW, Kind.REMINDER) else ""
    lowest = items[0].pending.note.balance
    shown = _amount(items[0].pending.note, lowest, credits_word=False)
    least = f", lowest {shown} left" if lowest is not None else ""
    if group.kind is Kind.LOW:
        return f"{accounts} fell below their level{worst}.", f"{accounts} low{worst}{least}"
    if group.kind is Kind.REMINDER:
        return (
            f"{accounts} are still below their level{worst}.",
            f"Reminder: {accounts} still low{worst}{least}",
        )
    if group.kind is Kind.RECOVERED:
        if all(item.pending.note.renewed for item in items):
            return (
                f"{accounts} are back above their warning level: their plans renewed.",
                f"{accounts} renewed",
            )
        return f"{accounts} are back above their warning level.", f"{accounts} recovered"
    if group.kind is Kind.RUNNING_OUT:
        soonest = _days(items[0].pending.note)
        return (
            f"{accounts} will run out soon at the current burn rate.",
            f"{accounts} run out soon, the first in {soonest}",
        )
    if group.kind is Kind.SPENDING_FAST:
        money = all(item.pending.note.currency is not None for item in items)
        return (
            f"{accounts} {'spent far more' if money else 'used far more credits'} than usual since the last"
            " check.",
            f"{accounts} spending fast, the most {_spent(items[0].pending.note)}",
        )
    if group.kind is Kind.CLEARED:
        spike = items[0].pending.note.clears is Kind.SPENDING_FAST
        what = "spend at their usual pace again" if spike else "no longer run out within the warning time"
        return f"{accounts} {what}.", f"{accounts} {'spike over' if spike else 'no longer running out'}"
    if group.kind is Kind.CHECK_FAILING:
        cause = group.failure.value if group.failure else "several causes"
        if group.outage:
            failing = max(group.failing, count)
            return (
                f"{name} looks down: {failing} of its {group.vendor_accounts} accounts could not be"
                f" checked ({cause}).",
                f"{name} outage: {failing} accounts failing ({cause})",
            )
        if group.incident is not None and group.failure is not None:
            return _our_side(group, name, count, group.failure)
        return f"The balances of {accounts} could not be checked.", f"{accounts}: check failing ({cause})"
    if group.incident is not None:  # together, but of what is not known: never "the vendor is back"
        return (
            f"The balance checks of {count} of the {group.vendor_accounts} {name} accounts work again.",
            f"{count} {name} accounts: checks working again",
        )
    return f"The balance checks of {accounts} work again.", f"{accounts}: check working again"


def _our_side(group: Group, name: str, count: int, failure: FailureKind) -> tuple[str, str]:
    """An incident whose cause is not the vendor's side, said as what it is: one key entry the
    accounts share, or one cause across the vendor's accounts (keys rejected, no key in the secret)."""
    entry = group.incident.entry if group.incident else None
    accounts = f"{count} {name} accounts"
    if entry is not None:
        what, short = {
            FailureKind.SECRET: (
                f"the key entry {entry!r} they share is missing from the secret or unusable",
                f"shared key entry {entry!r} missing or unusable",
            ),
            FailureKind.AUTH: (
                f"{name} rejected the key they share (entry {entry!r})",
                "their shared key was rejected",
            ),
            FailureKind.RATE_LIMITED: (
                f'{name} refused the key they share (entry {entry!r}) with "too many requests"',
                "their shared key is rate limited",
            ),
        }[failure]
        return f"{accounts} could not be checked: {what}.", f"{accounts}: {short} ({failure})"
    what, short = {
        FailureKind.SECRET: ("the secret holds no usable key for them", "no usable key in the secret"),
        FailureKind.AUTH: (f"{name} rejected their keys", "keys rejected"),
        FailureKind.RATE_LIMITED: (f'{name} refused them with "too many requests"', "rate limited"),
        FailureKind.TLS: (f"the TLS connection to {name} failed", "TLS failing"),
    }.get(failure, (f"they failed with {failure}", "check failing"))
    return (
        f"{count} of the {group.vendor_accounts} {name} accounts could not be checked: {what}.",
        f"{accounts}: {short} ({failure})",
    )


def _account_line(item: Item, context: MessageContext, *, cause_given: bool = False) -> str:
    """One account's line: its figure, its level and where to top it up (an outage's lines leave
    out the error the message's Cause already gives)."""
    note, account = item.pending.note, item.account
    if note.kind is Kind.CHECK_FAILING:
        reason = "" if cause_given else f" ({note.reason or 'unknown'})"
        return f"{account.id}: {note.failures} failed checks in a row{reason}"
    figure = _amount(note, note.balance) if note.balance is not None else "balance unknown"
    if note.kind in (Kind.RECOVERED, Kind.CHECK_RECOVERED):
        return f"{account.id}: {figure}"
    parts = [f"{account.id}: {figure}"]
    if note.level is not Level.OK:  # RUNNING OUT above every level: no level to name
        parts.append(level_name(note.level))
        if note.threshold is not None:
            parts[-1] += f" (below {_amount(note, note.threshold, credits_word=False)})"
    if note.kind is Kind.SPENDING_FAST and note.spike is not None:
        parts.append(f"{_spent(note)} ({_usual(note)})")
    elif note.forecast is not None and note.forecast.days_left is not None:
        parts.append(f"{_days(note)} left{_runs_out(note, item.pending.created_at, context)}")
    if note.renews_at is not None and note.kind in _LOW_KINDS:
        parts.append(renewal_fact(note, item.pending.created_at, context))
    top_up = account.vendor.top_up_url
    if top_up:
        parts.append(f"top up at {top_up}")
    return ", ".join(parts)


def _runs_out(note: Notification, checked_at: datetime | None, context: MessageContext) -> str:
    """ " (runs out around <date and hour>)" in the schedule's zone, when the forecast gives one."""
    days = note.forecast.days_left if note.forecast else None
    if checked_at is None or days is None or not 0 <= days <= MAX_RUNS_OUT_DAYS:
        return ""
    at = (
        (checked_at + timedelta(days=days))
        .astimezone(context.timezone)
        .replace(minute=0, second=0, microsecond=0)
    )
    return f" (runs out around {context.local(at)})"


def _act_steps(
    kind: Kind, account: str, context: MessageContext, renews_at: datetime | None = None
) -> list[str]:
    """What else a reader can do from the message: hold the reminders (until the renewal, for a plan
    that renews), look at the dashboard."""
    steps = []
    if kind in _LOW_KINDS and renews_at is not None and kind is not Kind.SPENDING_FAST:
        until = renews_at.astimezone(context.timezone).date().isoformat()
        command = f"credit-monitor snooze {shlex.quote(account)} --until {until}"  # meant to be pasted
        steps.append(f"Waiting for the renewal? Hold its reminders until then: {command}")
    elif kind in _LOW_KINDS:
        command = f"credit-monitor snooze {shlex.quote(account)} --for {SNOOZE_FOR}"  # meant to be pasted
        steps.append(f"Already on it? Hold its reminders: {command}")
    if context.dashboard_url:
        steps.append(f"Dashboard: {context.dashboard_url}")
    return steps


def _spent(note: Notification) -> str:
    """ "6,000 credits in 1 h", "$60.00 in 1 h": a spike's amount and the time it took."""
    if note.spike is None:
        return "unknown"
    return f"{_amount(note, note.spike.spent)} in {_duration(note.spike.seconds)}"


def _usual(note: Notification) -> str:
    assert note.spike is not None
    if note.spike.usual <= 0:
        return "none in that time in the last 8 days"
    return f"usually at most {_amount(note, note.spike.usual, credits_word=False)} in that time"


def _spike_facts(note: Notification, context: MessageContext) -> list[tuple[str, str]]:
    """Spent, from when, the usual, and how long the balance lasts if the pace goes on."""
    assert note.spike is not None
    seconds = note.spike.seconds
    usual = (
        f"at most {_amount(note, note.spike.usual)} in {_duration(seconds)}, in the last 8 days"
        if note.spike.usual > 0
        else f"none in any {_duration(seconds)} of the last 8 days"
    )
    facts = [("Spent", f"{_spent(note)} (since {context.local(note.spike.since)})"), ("Usual pace", usual)]
    if note.balance is not None and note.spike.spent > 0 and seconds > 0:
        left = max(0.0, note.balance) / (note.spike.spent / seconds)
        facts.append(("If it goes on", f"the balance lasts about {_duration(left)}"))
    return facts


def _duration(seconds: float) -> str:
    """ "45 min", "1 h", "7 h", "2.5 days": the scale a person reads."""
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 48 * 3600:
        hours = seconds / 3600
        return f"{hours:,.0f} h" if hours >= 10 or hours.is_integer() else f"{hours:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def pools_fact(note: Notification, context: MessageContext) -> str:
    """ "subscription 400 (renews Tue 01 Dec 2026), paid 20": the vendor's split of the balance, and
    which part the plan's renewal refills."""
    parts = []
    for pool in note.pools:
        text = f"{pool.name} {_amount(note, pool.credits, credits_word=False)}"
        if pool.renews:
            when = f" {context.day(note.renews_at)}" if note.renews_at is not None else ""
            text += f" (renews{when})"
        parts.append(text)
    return ", ".join(parts)


def renewal_fact(note: Notification, checked_at: datetime | None, context: MessageContext) -> str:
    """ "Tue 01 Dec 2026, 10 days after it runs out (around Sat 21 Nov 2026)"."""
    assert note.renews_at is not None
    renews = context.day(note.renews_at)
    days = note.forecast.days_left if note.forecast else None
    if note.balance is not None and note.balance <= 0 and checked_at is not None:
        wait = _duration((note.renews_at - checked_at).total_seconds())
        return f"empty until it renews on {renews}, {wait} from now"
    if checked_at is None or days is None or not 0 <= days <= MAX_RUNS_OUT_DAYS:
        return f"renews on {renews}"
    empty = checked_at + timedelta(days=days)
    gap = (note.renews_at - empty) / timedelta(days=1)
    if gap <= 0:
        return f"renews on {renews}, before it would run out"
    when = (
        "less than a day before it renews"
        if gap < 1
        else f"{gap:,.0f} day{'s' if round(gap) != 1 else ''} before it renews"
    )
    return f"runs out around {context.day(empty)}, {when} on {renews}"


def _days(note: Notification) -> str:
    days = note.forecast.days_left if note.forecast else None
    return "unknown" if days is None else f"about {days:,.1f} days"


def subject_line(text: str) -> str:
    """A subject SNS accepts: printable ASCII (an amount in euros reads "8.00 EUR", other characters
    become '?'), under 100 characters."""
    subject = "".join(char if " " <= char <= "~" else "?" for char in ascii_amounts(f"{PREFIX} {text}"))
    return subject if len(subject) <= SUBJECT_MAX_LENGTH else subject[: SUBJECT_MAX_LENGTH - 3] + "..."


def _emoji(note: Notification) -> str:
    if note.kind in (Kind.RECOVERED, Kind.CHECK_RECOVERED):
        return ":white_check_mark:"
    if note.kind is Kind.CHECK_FAILING or note.level is Level.CRITICAL:
        return ":rotating_light:"
    return ":warning:"


def _next_steps(note: Notification, vendor: Vendor, entry: str | None = None) -> list[str]:
    if note.kind is Kind.CHECK_FAILING:
        steps = _failure_steps(note.failure, vendor, entry)
        return [*steps, "You will hear again when the check works again."]
    if note.kind in (Kind.RECOVERED, Kind.CHECK_RECOVERED):
        return ["Nothing: monitoring continues."]
    if note.kind is Kind.SPENDING_FAST:
        return [
            "If nobody expected it, find what uses this key now: a runaway automation, or a leaked key"
            f" (replace it at {vendor.name}, then: credit-monitor keys set ACCOUNT).",
            "If it was expected, nothing: the forecast measures the burn afresh, and you will hear"
            " RUNNING OUT if the pace goes on and the balance will not last.",
        ]
    top_up = f"Top up at {vendor.top_up_url}" if vendor.top_up_url else f"Top up your {vendor.name} plan"
    return [top_up, "Or lower usage until the next renewal."]


def _failure_steps(failure: FailureKind | None, vendor: Vendor, entry: str | None = None) -> list[str]:
    """What a person can do about each kind of failure, naming its real cause; the log line has the
    full detail. Our own pacing never fails a check (an account waiting its turn on a shared key is
    "not checked this run"), so RATE_LIMITED is always the provider refusing with "too many requests"."""
    name = vendor.name
    if failure in (FailureKind.AUTH, FailureKind.SECRET):
        where = f"the secret's entry {entry!r}" if entry else "the secret"
        return [
            f"Check that the {name} key in {where} is present, valid and not revoked.",
            "After updating the secret, the next run picks the new key up by itself.",
        ]
    if failure is FailureKind.RATE_LIMITED:
        return [
            f'{name} refused with "too many requests" after retries: something else is using this key\'s'
            " rate limit (your own jobs or scripts); it usually clears by itself.",
            "If it happens at every run, find what else uses this key, or give the monitor a key of its own.",
        ]
    if failure is FailureKind.TLS:
        return ["A proxy may be re-signing TLS: give the function its CA bundle through SSL_CERT_FILE."]
    if failure is FailureKind.BAD_RESPONSE:
        return [f"{name} answered something unexpected: see the function's log; its API may have changed."]
    if failure is FailureKind.TIMEOUT:
        return [
            f"{name} may be down or slow to answer: check its status page and the function's log.",
            "If many accounts time out together, the function itself may be too slow: see its Duration.",
        ]
    return [f"{name} may be down or unreachable: check its status page and the function's log."]


def _amount(note: Notification, value: float | None, *, credits_word: bool = True) -> str:
    """An amount of the notification's account in its unit (amounts.format_amount)."""
    if value is None:
        return "unknown credits" if credits_word and note.currency is None else "unknown"
    return format_amount(value, note.currency, credits_word=credits_word)
