"""Messages as the function renders them, for the receivers' tests: one account's, and a group's of
any size, of any kind, through messages.render_group as the service renders them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from credit_monitor.alerting import Kind, Level, Notification, Pending
from credit_monitor.config import Account
from credit_monitor.grouping import Group, Incident, Item
from credit_monitor.messages import MessageContext, RenderedMessage, render_group
from credit_monitor.model import FailureKind
from credit_monitor.providers import lemlist

CHECKED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DASHBOARD = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home#dashboards:name=credit-monitor"
CONTEXT = MessageContext(dashboard_url=DASHBOARD)


def account(number: int = 1, client: str = "acme") -> Account:
    return Account(
        f"{client}-{number:03d}",
        lemlist.PROVIDER,
        "https://api.lemlist.com/api",
        threshold=500,
        critical_threshold=100,
        labels={"client": client},
    )


def note(
    kind: Kind, account_id: str, level: Level = Level.WARNING, reason: str = "timed out"
) -> Notification:
    if kind in (Kind.CHECK_FAILING,):
        return Notification(kind, account_id, level, failures=3, reason=reason, failure=FailureKind.TIMEOUT)
    balance = {Level.CRITICAL: 42.0, Level.WARNING: 420.0, Level.OK: 4200.0}[level]
    threshold = 100.0 if level is Level.CRITICAL else 500.0
    return Notification(kind, account_id, level, balance=balance, threshold=threshold)


def message(
    kind: Kind = Kind.LOW,
    accounts: int = 1,
    level: Level = Level.WARNING,
    client: str = "acme",
    outage: bool = False,
    reason: str = "timed out",
    clears: Kind | None = None,
) -> RenderedMessage:
    """The one message of a group of `accounts` accounts of `client` (an outage's, with `outage`);
    `clears`: the kind a CLEARED ends."""
    members = [account(n, client) for n in range(1, accounts + 1)]
    items = tuple(
        Item(
            member,
            Pending(
                f"run-7-{member.id}-1",
                replace(note(kind, member.id, level, reason), clears=clears),
                CHECKED_AT,
            ),
        )
        for member in members
    )
    incident = Incident(vendor_down=True) if outage else None
    group = Group(kind, lemlist.PROVIDER.vendor, items, (("client", client),), incident, accounts)
    [(_, rendered)] = render_group(group, CONTEXT)
    return rendered
