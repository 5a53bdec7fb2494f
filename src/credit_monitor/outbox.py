"""The outbox: at-least-once notifications, by construction. Pure: state in, state out.

A notification is recorded as pending in the same conditional write that records the state
transition producing it, and removed only after SNS accepted it. Every run publishes what is
pending (older first), so a run killed at any point delays a notification and never loses it.

A notification SNS keeps refusing is given up after MAX_ATTEMPTS refusals or once MAX_AGE old
(see `refused`), and never holds back the others: each is tried in turn.

Overlapping runs (Lambda's retry and the next schedule) must not both publish the same pending
notification. Before publishing, a run leases what it will send, in the same write: the lease ends
at that run's own deadline, after which Lambda has killed it if it has not finished, so a lease
never outlives its holder. The one window for a duplicate is "SNS accepted, the process died before
recording it": every publish carries the notification's id so a subscriber can drop a repeat.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from credit_monitor.alerting import AccountState, Notification, Pending

MAX_LEASE = timedelta(minutes=15)
"""Lambda's longest timeout: no run can hold a lease longer."""
MAX_PENDING = 20
"""Bounds the state item. Reaching it means SNS has refused everything for days; the oldest
notifications are then dropped, and each drop is logged as an error (never silently)."""
MAX_ATTEMPTS = 24
"""Refused publishes before a notification is given up: a day of hourly runs. SNS refusing one
message that often refuses that message (too big, an attribute it rejects), not an outage."""
MAX_AGE = timedelta(days=3)
"""A refused notification this old is given up at its next refusal, whatever the schedule: a
daily schedule would otherwise try a poisoned one for 24 days. Its news is stale by then."""


def enqueue(
    state: AccountState, notes: Sequence[Notification], run_id: str, now: datetime
) -> tuple[AccountState, list[Pending]]:
    """Append new notifications; returns the new state and any pending ones dropped by the cap."""
    added = tuple(Pending(f"{run_id}-{note.account}-{i}", note, now) for i, note in enumerate(notes, start=1))
    outbox = (*state.outbox, *added)
    dropped = list(outbox[: max(0, len(outbox) - MAX_PENDING)])
    return replace(state, outbox=outbox[len(dropped) :]), dropped


def lease(state: AccountState, run_id: str, now: datetime, until: datetime) -> AccountState:
    """Lease every pending notification no other live run holds."""
    return replace(
        state,
        outbox=tuple(
            replace(item, lease_owner=run_id, lease_until=until) if is_free(item, run_id, now) else item
            for item in state.outbox
        ),
    )


def is_free(item: Pending, run_id: str, now: datetime) -> bool:
    """Unleased, leased by this run, or leased by a run that must be over: its lease ended, or
    reaches past any Lambda's life (a skewed clock or a hand edit must not hold it forever)."""
    return (
        item.lease_owner is None
        or item.lease_owner == run_id
        or item.lease_until is None
        or item.lease_until <= now
        or item.lease_until > now + MAX_LEASE
    )


def leased_by(state: AccountState, run_id: str) -> list[Pending]:
    return [item for item in state.outbox if item.lease_owner == run_id]


def settle(
    state: AccountState,
    delivered: Collection[str] = (),
    released: Collection[str] = (),
    sent_at: datetime | None = None,
) -> AccountState:
    """Drop what SNS accepted; give back the lease of what could not be sent, for the next run.
    With `sent_at`, remember the newest notification delivered, for `status`."""
    accepted = [item for item in state.outbox if item.id in delivered]
    if accepted and sent_at is not None:
        newest = max(accepted, key=lambda item: item.created_at)
        state = replace(state, last_sent=newest.note.kind.value, last_sent_at=sent_at)
    return replace(
        state,
        outbox=tuple(
            replace(item, lease_owner=None, lease_until=None) if item.id in released else item
            for item in state.outbox
            if item.id not in delivered
        ),
    )


def refused(state: AccountState, ids: Collection[str], now: datetime) -> tuple[AccountState, list[Pending]]:
    """Count a refused publish for each of `ids` and give back its lease; returns the new state and
    those given up (MAX_ATTEMPTS refusals, or MAX_AGE old), which leave the outbox."""
    kept: list[Pending] = []
    given_up: list[Pending] = []
    for item in state.outbox:
        if item.id in ids:
            item = replace(item, lease_owner=None, lease_until=None, attempts=item.attempts + 1)
            if item.attempts >= MAX_ATTEMPTS or now - item.created_at >= MAX_AGE:
                given_up.append(item)
                continue
        kept.append(item)
    return replace(state, outbox=tuple(kept)), given_up
