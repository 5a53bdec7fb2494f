"""The outbox: at-least-once notifications, by construction, to every receiver. Pure: state in,
state out.

A notification is recorded as pending in the same conditional write that records the state
transition producing it, and removed only once every receiver it is due to (the stack's topic, and
each receiver of a route that matches its account: `Pending.due`) accepted it, or it was given up.
Every run sends what is pending (older first) to the receivers that still owe it
(`Pending.owed`), so a run killed at any point delays a notification and never loses it, and a
receiver that accepted it never gets it again, while one that is down gets it at the next runs.

A notification a receiver keeps refusing is given up after MAX_ATTEMPTS runs of refusals or once
MAX_AGE old (see `refused`), and never holds back the others: each is tried in turn. A receiver
whose notice of an incident was given up is not told of its end either (`AccountState.untold`).

Overlapping runs (Lambda's retry and the next schedule) must not both publish the same pending
notification. Before publishing, a run leases what it will send, in the same write: the lease ends
at that run's own deadline, after which Lambda has killed it if it has not finished, so a lease
never outlives its holder. The one window for a duplicate is "SNS accepted, the process died before
recording it": every publish carries the notification's id so a subscriber can drop a repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from credit_monitor.alerting import AccountState, Family, Notification, Pending

Receipts = Mapping[str, Collection[str]] | Collection[str]
"""What receivers did with notifications: by notification id, the receivers (ids) that did it; or
only the ids, for every receiver each one is owed to."""

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
    return replace(state, outbox=untell(outbox[len(dropped) :], dropped)), dropped


def lease(
    state: AccountState,
    run_id: str,
    now: datetime,
    until: datetime,
    due: Callable[[Notification], frozenset[str]] | None = None,
) -> AccountState:
    """Lease every pending notification no other live run holds; with `due`, say afresh which
    receivers each one is due to (the routes may have changed), and drop those it owes nothing
    any more (no receiver hears about its account, or every one has it)."""
    outbox = []
    for item in state.outbox:
        if is_free(item, run_id, now):
            item = replace(item, lease_owner=run_id, lease_until=until)
            if due is not None:
                item = replace(item, due=due(item.note))
                if not item.owed:
                    continue
        outbox.append(item)
    return replace(state, outbox=tuple(outbox))


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
    delivered: Receipts = (),
    released: Collection[str] = (),
    sent_at: datetime | None = None,
) -> AccountState:
    """Record what receivers accepted: a notification no receiver owes any more leaves the outbox.
        Give back the lease of what could not be sent, for the next run. With `sent_at`, remember the
        newest notification delivered, for `status`. A receiver that took an incident's notice is
        told of it, whatever an earlier notice's fate (`AccountState.untold`), and hears of its end
    (`AccountState.told`)."""
    took = _by_id(delivered, state)
    accepted = [item for item in state.outbox if took.get(item.id)]
    if accepted and sent_at is not None:
        newest = max(accepted, key=lambda item: item.created_at)
        state = replace(state, last_sent=newest.note.kind.value, last_sent_at=sent_at)
    untold, told = dict(state.untold), dict(state.told)
    outbox = []
    for item in state.outbox:
        receivers = took.get(item.id, frozenset())
        family = item.note.family
        if receivers and family in untold and not item.note.ends:
            untold[family] = untold[family] - receivers
        if receivers and family in told and not item.note.ends:
            told[family] = told[family] | receivers.difference({ANY})
        if receivers:
            item = replace(item, delivered_to=item.delivered_to | receivers)
            if not item.owed:
                continue
        if item.id in released:
            item = replace(item, lease_owner=None, lease_until=None)
        outbox.append(item)
    return replace(state, outbox=tuple(outbox), untold=_kept(untold), told=told)


def refused(state: AccountState, ids: Receipts, now: datetime) -> tuple[AccountState, list[Pending]]:
    """Count a run of refusals for each of `ids` and give back its lease; returns the new state and
    those given up (MAX_ATTEMPTS runs of refusals, or MAX_AGE old), which leave the outbox. The
    receivers that never had an incident's notice given up are untold of it (`AccountState.untold`),
    and of its end already pending (`untell`)."""
    refusing = _by_id(ids, state)
    untold = dict(state.untold)
    kept: list[Pending] = []
    given_up: list[Pending] = []
    for item in state.outbox:
        if item.id in refusing:
            item = replace(item, lease_owner=None, lease_until=None, attempts=item.attempts + 1)
            if item.attempts >= MAX_ATTEMPTS or now - item.created_at >= MAX_AGE:
                given_up.append(item)
                family = item.note.family
                if family is not None and not item.note.ends and item.owed:
                    untold[family] = untold.get(family, frozenset()) | item.owed
                continue
        kept.append(item)
    return replace(state, outbox=untell(kept, given_up), untold=_kept(untold)), given_up


def untell(outbox: Sequence[Pending], dropped: Sequence[Pending]) -> tuple[Pending, ...]:
    """The outbox without what its ends of incidents owe the receivers that never had a notice of
    theirs: each dropped notice's receivers are skipped by the later ends of its incident (an end
    left owing nothing leaves too)."""
    kept = []
    for item in outbox:
        note = item.note
        never = [old.owed for old in dropped if _notice_of(item, old)]
        if never:
            skipped = note.skip.union(*never)
            item = replace(item, note=replace(note, skip=skipped), due=item.due - skipped)
            if not item.owed:
                continue
        kept.append(item)
    return tuple(kept)


def waits(outbox: Sequence[Pending], item: Pending) -> frozenset[str]:
    """The receivers `item`, the end of an incident, waits for: those still owed an earlier notice
    of it. It goes to each after that notice (a recovery never comes first, or alone: the notice
    given up, the end is skipped there too, `untell`)."""
    if item.note.family is None:
        return frozenset()
    return frozenset().union(*(old.owed for old in outbox if _notice_of(item, old)))


def _notice_of(end: Pending, old: Pending) -> bool:
    """`old` is a notice, no later than `end`, of the incident `end` ends (its family's), when `end`
    is an end at all."""
    return (
        end.note.ends
        and not old.note.ends
        and old.note.family is end.note.family
        and old.created_at <= end.created_at
    )


def _by_id(receipts: Receipts, state: AccountState) -> dict[str, frozenset[str]]:
    """Receipts by notification id; plain ids stand for every receiver the notification owes."""
    if isinstance(receipts, Mapping):
        return {key: frozenset(value) for key, value in receipts.items()}
    wanted = set(receipts)
    return {item.id: item.owed or frozenset({ANY}) for item in state.outbox if item.id in wanted}


ANY = "*"
"""A receipt for a notification that owes no receiver it knows of (one never leased with routes)."""


def _kept(untold: Mapping[Family, frozenset[str]]) -> dict[Family, frozenset[str]]:
    return {family: receivers for family, receivers in untold.items() if receivers}
