"""What a notification says: a subject, an e-mail body and a chat card. Pure.

SNS delivers per protocol from one publish (MessageStructure=json): e-mail and SQS subscribers get
the readable text, https subscribers (Amazon Q Developer in chat applications) get the custom
notification JSON it renders as a card.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from credit_monitor.alerting import Kind, Level, Notification
from credit_monitor.config import Account
from credit_monitor.forecast import ForecastStatus
from credit_monitor.model import FailureKind
from credit_monitor.providers import Provider

SUBJECT_MAX_LENGTH = 99
"""SNS refuses a Subject of 100 characters or more, or with anything but printable ASCII."""
PREFIX = "[credit-monitor]"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    chat: dict[str, Any]
    attributes: dict[str, str]
    """SNS message attributes, for subscription filter policies: account, provider, kind, level
    and each of the account's labels."""

    def sns_message(self) -> str:
        return json.dumps({"default": self.text, "email": self.text, "https": json.dumps(self.chat)})


def level_name(level: Level) -> str:
    return {Level.OK: "ok", Level.WARNING: "warning", Level.CRITICAL: "CRITICAL"}[level]


def render(note: Notification, account: Account) -> RenderedMessage:
    provider = account.provider
    name = account.display_name
    credits = format_balance(note.balance) if note.balance is not None else "unknown"
    level = level_name(note.level)
    headline, subject = {
        Kind.LOW: (
            f"{name} credits fell below the {level} level.",
            f"{name} credits below {level}: {credits} left",
        ),
        Kind.REMINDER: (
            f"{name} credits are still below the {level} level.",
            f"Reminder: {name} still below {level}, {credits} left",
        ),
        Kind.RECOVERED: (
            f"{name} credits are back above the warning level.",
            f"{name} credits recovered: {credits}",
        ),
        Kind.RUNNING_OUT: (
            f"{name} credits will run out soon at the current burn rate.",
            f"{name} credits run out in {_days(note)}",
        ),
        Kind.CHECK_FAILING: (
            f"The {name} balance could not be checked {note.failures} times in a row.",
            f"{name} check failing ({note.failures} in a row)",
        ),
        Kind.CHECK_RECOVERED: (f"The {name} balance check works again.", f"{name} check working again"),
    }[note.kind]

    facts = [("Provider", name)]
    if note.kind in (Kind.CHECK_FAILING,):
        facts.append(("Last error", note.reason or "unknown"))
    else:
        facts.append(("Balance", f"{credits} credits"))
    if note.threshold is not None and note.kind in (Kind.LOW, Kind.REMINDER):
        facts.append(("Level crossed", f"{level} ({format_balance(note.threshold)} credits)"))
    if note.threshold is not None and note.kind is Kind.RECOVERED:
        # Recovery is always above the warning level, whichever level it came from (note.level), and
        # the engine passes that warning level as the threshold.
        facts.append(("Level crossed", f"back above warning ({format_balance(note.threshold)} credits)"))
    if note.forecast is not None and note.kind is not Kind.CHECK_FAILING:
        if note.forecast.status is ForecastStatus.DEPLETING and note.forecast.burn_per_day is not None:
            facts.append(("Burn rate", f"{note.forecast.burn_per_day:,.1f} credits/day"))
        facts.append(
            ("Days left", _days(note) if note.forecast.days_left is not None else note.forecast.describe())
        )

    steps = _next_steps(note, provider)
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
    chat = {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": f"{_emoji(note)} {subject}",
            "description": "\n".join(f"*{label}:* {value}" for label, value in facts),
            "nextSteps": steps,
        },
        "metadata": {
            "threadId": f"credit-monitor-{account.id}",
            "eventType": note.kind.value,
            "summary": headline,
        },
    }
    attributes = {
        **account.labels,
        "account": account.id,
        "provider": provider.name,
        "kind": note.kind.value,
        "level": note.level.name,
    }
    return RenderedMessage(subject=_subject(subject), text=text, chat=chat, attributes=attributes)


def _days(note: Notification) -> str:
    days = note.forecast.days_left if note.forecast else None
    return "unknown" if days is None else f"about {days:,.1f} days"


def _subject(text: str) -> str:
    """A subject SNS accepts: printable ASCII (others become '?'), under 100 characters."""
    subject = "".join(char if " " <= char <= "~" else "?" for char in f"{PREFIX} {text}")
    return subject if len(subject) <= SUBJECT_MAX_LENGTH else subject[: SUBJECT_MAX_LENGTH - 3] + "..."


def _emoji(note: Notification) -> str:
    if note.kind in (Kind.RECOVERED, Kind.CHECK_RECOVERED):
        return ":white_check_mark:"
    if note.kind is Kind.CHECK_FAILING or note.level is Level.CRITICAL:
        return ":rotating_light:"
    return ":warning:"


def _next_steps(note: Notification, provider: Provider) -> list[str]:
    if note.kind is Kind.CHECK_FAILING:
        return [*_failure_steps(note.failure, provider), "You will hear again when the check works again."]
    if note.kind in (Kind.RECOVERED, Kind.CHECK_RECOVERED):
        return ["Nothing: monitoring continues."]
    top_up = (
        f"Top up at {provider.top_up_url}"
        if provider.top_up_url
        else f"Top up your {provider.display_name} plan"
    )
    return [top_up, "Or lower usage until the next renewal."]


def _failure_steps(failure: FailureKind | None, provider: Provider) -> list[str]:
    """What a person can do about each kind of failure, naming its real cause; the log line has the
    full detail. Our own pacing never fails a check (an account waiting its turn on a shared key is
    "not checked this run"), so RATE_LIMITED is always the provider refusing with "too many requests"."""
    name = provider.display_name
    if failure in (FailureKind.AUTH, FailureKind.SECRET):
        return [
            f"Check that the {name} key in the secret is present, valid and not revoked.",
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


def format_balance(value: float) -> str:
    """Whole numbers as they are, else cents rounded DOWN: rounding to nearest showed 999.999, below
    a 1,000 level, as "1,000.00". A shown figure is never more than the balance, so never on the
    wrong side of a level it is below. Decimal of the repr floors exactly (0.29 * 100 is 28.99...)."""
    from decimal import ROUND_FLOOR, Decimal

    if not math.isfinite(value) or float(value).is_integer():
        return f"{value:,.0f}"
    cents = Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return f"{cents:,.2f}"
