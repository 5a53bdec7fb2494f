"""Which notifications travel together: one message per incident, not one per account. Pure.

The stages between deciding and publishing, as in Alertmanager's notify pipeline:
- wait: a vendor-side CHECK FAILING waits, while the vendor's outage is still forming, for the
  accounts that reach theirs a run or two later (`hold`), as Alertmanager's group_wait does;
- inhibit: accounts that fail (or work again) together for one cause are one incident, reported
  once for all of them, whatever their labels (`incidents`): a vendor outage when the cause is on
  the vendor's side, else what is on ours (one key entry they share, keys rejected, no key in the
  secret). A vendor is down when half its accounts fail this run for a cause on its side, whatever
  run each one's CHECK FAILING was queued in (one account a failure ahead, the rest of an outage
  a killed run left unrecorded);
- group: the rest go as one message per (kind, vendor, routing labels). Routing labels are
  `group_by` (GROUP_BY; by default every label the accounts declare), so a group never mixes
  accounts a subscription filter policy tells apart.

A group SNS refused is retried in halves (`retried`): notifications refused the same number of
times go in two groups, so a notification SNS keeps refusing (poisoned) is alone after about
log2(n) refusals and holds back nothing else for long, while one throttled publish of a large group
costs two messages, not one per account.
Silencing is the snooze, decided earlier (alerting.HELD_BY_SNOOZE).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from credit_monitor.alerting import Kind, Level, Pending
from credit_monitor.config import Account
from credit_monitor.model import FailureKind
from credit_monitor.providers import Vendor

OUTAGE_SHARE = 0.5
"""A vendor's accounts failing in one run with the same cause are one incident when they are at
least this share of its accounts (and at least MIN_OUTAGE_ACCOUNTS): one CHECK FAILING names the
vendor, the count and the cause, and one CHECK RECOVERED follows when they work again."""
MIN_OUTAGE_ACCOUNTS = 2
"""One account failing alone is reported on its own."""
VENDOR_DOWN = frozenset(
    {FailureKind.HTTP, FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.BAD_RESPONSE}
)
"""Failure kinds that are one cause for an outage: a vendor that is down answers 5xx or an error
page to some requests and times out or resets others, so its accounts fail with any of these.
A rejected key, a missing secret, a rate limit or TLS is each a cause of its own, on our side
or undetermined: never called an outage."""
KEY_FAILURES = frozenset({FailureKind.SECRET, FailureKind.AUTH, FailureKind.RATE_LIMITED})
"""Failure kinds of a key: accounts that name one key entry (`key = "..."`) and fail with one of
these fail of that key, however few they are among the vendor's accounts."""

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Failing:
    """An account whose check failed in this run, as the run decided it."""

    kind: FailureKind
    to_alert: int
    """Failed checks in a row still to go before its CHECK FAILING: 0 once reached, negative for
    each run since."""


Failings = Mapping[str, Failing]
"""This run's failed checks, by account id."""


@dataclass(frozen=True)
class Incident:
    """Why a group's accounts go as one message whatever their labels: they failed, or work
    again, together. Only `vendor_down` is an outage; a recovery's cause is not known."""

    vendor_down: bool = False
    """The cause is on the vendor's side (VENDOR_DOWN)."""
    entry: str | None = None
    """The secret entry whose key they all use, when that key is the cause (KEY_FAILURES)."""


@dataclass(frozen=True)
class Item:
    """One leased notification and the account it is about."""

    account: Account
    pending: Pending


@dataclass(frozen=True)
class Group:
    """Notifications sent as one message. Every item has the same kind and vendor; `labels` are
    the labels every item's account has in common (the routing labels at least)."""

    kind: Kind
    vendor: Vendor
    items: tuple[Item, ...]
    labels: Labels = ()
    incident: Incident | None = None
    """The accounts failed (or work again) together, whatever their labels: why."""
    vendor_accounts: int = 0
    """How many accounts the run watches at this vendor (an incident names the share it hit)."""
    failing: int = 0
    """An outage: how many of the vendor's accounts fail this run for a cause on its side; more than
    its own accounts when the others' CHECK FAILING went out before."""

    @property
    def outage(self) -> bool:
        """A vendor outage: its accounts failed together for a cause on its side."""
        return self.incident is not None and self.incident.vendor_down

    @property
    def ids(self) -> list[str]:
        return [item.pending.id for item in self.items]

    @property
    def accounts(self) -> list[str]:
        return list(dict.fromkeys(item.account.id for item in self.items))

    @property
    def level(self) -> Level:
        """How bad: the highest level among its notifications."""
        return max(item.pending.note.level for item in self.items)

    @property
    def failure(self) -> FailureKind | None:
        kinds = {item.pending.note.failure for item in self.items}
        return kinds.pop() if len(kinds) == 1 else None

    def halves(self) -> list[Group]:
        """Two groups of (nearly) half the items each, for a message too big for SNS."""
        middle = math.ceil(len(self.items) / 2)
        return [replace(self, items=part) for part in (self.items[:middle], self.items[middle:])]


def routing_labels(account: Account, group_by: Collection[str] | None) -> Labels:
    """The labels that route this account's messages: `group_by`'s (None: all of its labels)."""
    names = sorted(account.labels) if group_by is None else sorted(group_by)
    return tuple((name, account.labels.get(name, "")) for name in names)


def group(
    items: Iterable[Item],
    accounts: Sequence[Account],
    group_by: Collection[str] | None,
    failing: Failings | None = None,
) -> list[Group]:
    """Every item in exactly one group; the groups oldest first, their items in the order given.
    `failing`: this run's failed checks, which tell a vendor that is down."""
    ordered = list(items)
    per_vendor = _per_vendor(accounts)
    found, rest = incidents(ordered, per_vendor, _down(accounts, failing or {}))
    buckets: dict[tuple[object, ...], list[Item]] = {}
    for item in rest:
        note = item.pending.note
        key: tuple[object, ...] = (
            note.kind,
            item.account.vendor,
            routing_labels(item.account, group_by),
        )
        buckets.setdefault((*key, item.pending.attempts), []).append(item)
    groups = found + [
        Group(
            items[0].pending.note.kind,
            items[0].account.vendor,
            tuple(items),
            common_labels(items),
            vendor_accounts=per_vendor[items[0].account.vendor],
        )
        for items in buckets.values()
    ]
    return sorted(retried(groups), key=lambda g: min(item.pending.created_at for item in g.items))


def retried(groups: Iterable[Group]) -> list[Group]:
    """A group of notifications SNS refused before (every group holds one number of refusals) goes
    as its two halves, by notification id, so that the same refusals split it again next time."""
    out: list[Group] = []
    for found in groups:
        if found.items[0].pending.attempts and len(found.items) > 1:
            ordered = tuple(sorted(found.items, key=lambda item: item.pending.id))
            out += replace(found, items=ordered).halves()
        else:
            out.append(found)
    return out


def hold(
    items: Sequence[Item], accounts: Sequence[Account], failing: Failings
) -> tuple[list[Item], list[Item]]:
    """Group wait: (to send now, held back). A CHECK FAILING of a vendor-side cause waits while its
    vendor is down (`_is_down`) and most of the accounts failing there still count up to theirs:
    they reach it within a run or two, and the outage is then one message with all of them. It
    waits only while its own account keeps failing, and no longer than the slowest of those needs
    (at most `failures_before_alert` - 1 runs), so it cannot be held for ever."""
    per_vendor, down = _per_vendor(accounts), _down(accounts, failing)
    wait: dict[Vendor, int] = {}
    for vendor, failed in down.items():
        counting = [f.to_alert for f in failed if f.to_alert > 0]
        if _is_down(vendor, down, per_vendor) and len(failed) - len(counting) < OUTAGE_SHARE * len(failed):
            wait[vendor] = max(counting)
    ready: list[Item] = []
    held: list[Item] = []
    for item in items:
        note, own = item.pending.note, failing.get(item.account.id)
        waits = (
            note.kind is Kind.CHECK_FAILING
            and note.failure in VENDOR_DOWN
            and own is not None
            and own.kind in VENDOR_DOWN
            and -own.to_alert < wait.get(item.account.vendor, 0)
        )
        (held if waits else ready).append(item)
    return ready, held


def _per_vendor(accounts: Sequence[Account]) -> defaultdict[Vendor, int]:
    """How many of the accounts each vendor has: 0 for a vendor none of them has."""
    per_vendor: defaultdict[Vendor, int] = defaultdict(int)
    for account in accounts:
        per_vendor[account.vendor] += 1
    return per_vendor


def _down(accounts: Sequence[Account], failing: Failings) -> dict[Vendor, list[Failing]]:
    """Each vendor's accounts that failed this run for a cause on its side."""
    down: dict[Vendor, list[Failing]] = defaultdict(list)
    for account in accounts:
        failed = failing.get(account.id)
        if failed is not None and failed.kind in VENDOR_DOWN:
            down[account.vendor].append(failed)
    return down


def _is_down(
    vendor: Vendor, down: Mapping[Vendor, list[Failing]], per_vendor: defaultdict[Vendor, int]
) -> bool:
    """At least OUTAGE_SHARE of the vendor's accounts (and MIN_OUTAGE_ACCOUNTS) fail this run for a
    cause on its side."""
    failed = len(down.get(vendor, ()))
    return failed >= MIN_OUTAGE_ACCOUNTS and failed >= OUTAGE_SHARE * per_vendor[vendor]


def incidents(
    items: Sequence[Item],
    per_vendor: defaultdict[Vendor, int],
    down: Mapping[Vendor, list[Failing]] | None = None,
) -> tuple[list[Group], list[Item]]:
    """Inhibition: CHECK FAILING of one cause (`_cause`), or CHECK RECOVERED, on at least OUTAGE_SHARE
    of a vendor's accounts (and MIN_OUTAGE_ACCOUNTS), become one group; so do accounts that fail of
    one key entry they share, however few, and work again together; and every vendor-side CHECK
    FAILING of a vendor that is down this run (`down`, `_is_down`). Returns those groups and the rest."""
    down = down or {}
    candidates: dict[tuple[Kind, Vendor, object, int], list[Item]] = defaultdict(list)
    for item in items:
        note = item.pending.note
        if note.kind in (Kind.CHECK_FAILING, Kind.CHECK_RECOVERED):
            cause = _cause(note.failure) if note.kind is Kind.CHECK_FAILING else None
            candidates[(note.kind, item.account.vendor, cause, item.pending.attempts)].append(item)
    found: list[Group] = []
    for (kind, vendor, cause, _), members in candidates.items():
        total = per_vendor[vendor]
        together = len(members) >= MIN_OUTAGE_ACCOUNTS and len(members) >= OUTAGE_SHARE * total
        if together or (cause is VENDOR_DOWN and _is_down(vendor, down, per_vendor)):
            incident = Incident(vendor_down=cause is VENDOR_DOWN, entry=_shared_entry(members, cause))
            accounts = len({item.account.id for item in members})
            failing = max(len(down.get(vendor, ())), accounts) if incident.vendor_down else 0
            labels = common_labels(members)
            found.append(Group(kind, vendor, tuple(members), labels, incident, total, failing))
        elif cause in KEY_FAILURES or kind is Kind.CHECK_RECOVERED:  # working again as they failed
            by_entry: dict[str, list[Item]] = defaultdict(list)
            for item in members:
                if item.account.key_entry:
                    by_entry[item.account.key_entry].append(item)
            for entry, sharing in by_entry.items():
                if len(sharing) >= MIN_OUTAGE_ACCOUNTS:
                    labels = common_labels(sharing)
                    found.append(Group(kind, vendor, tuple(sharing), labels, Incident(entry=entry), total))
    taken = {item.pending.id for found_group in found for item in found_group.items}
    return found, [item for item in items if item.pending.id not in taken]


def _cause(failure: FailureKind | None) -> object:
    """What an incident's accounts must share: the failure kind, or VENDOR_DOWN for any of those."""
    return VENDOR_DOWN if failure in VENDOR_DOWN else failure


def _shared_entry(members: Sequence[Item], cause: object) -> str | None:
    """The key entry every member uses, when they fail of a key (KEY_FAILURES)."""
    entries = {item.account.key_entry for item in members}
    if cause not in KEY_FAILURES or len(entries) != 1:  # (a recovery's cause is None: not known)
        return None
    return entries.pop() or None


def common_labels(items: Sequence[Item]) -> Labels:
    """The labels every item's account has, with the same value."""
    first = dict(items[0].account.labels)
    return tuple(
        sorted(
            (name, value)
            for name, value in first.items()
            if all(item.account.labels.get(name) == value for item in items)
        )
    )
