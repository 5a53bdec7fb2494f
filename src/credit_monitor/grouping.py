"""Which notifications travel together: one message per incident, not one per account. Pure.

The stages between deciding and publishing, as in Alertmanager's notify pipeline:
- inhibit: accounts that fail (or work again) together for one cause are one incident, reported
  once for all of them, whatever their labels (`incidents`): a vendor outage when the cause is on
  the vendor's side, else what is on ours (one key entry they share, keys rejected, no key in the
  secret);
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
from collections.abc import Collection, Iterable, Sequence
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
        return [
            Group(self.kind, self.vendor, part, self.labels, self.incident, self.vendor_accounts)
            for part in (self.items[:middle], self.items[middle:])
        ]


def routing_labels(account: Account, group_by: Collection[str] | None) -> Labels:
    """The labels that route this account's messages: `group_by`'s (None: all of its labels)."""
    names = sorted(account.labels) if group_by is None else sorted(group_by)
    return tuple((name, account.labels.get(name, "")) for name in names)


def group(
    items: Iterable[Item], accounts: Sequence[Account], group_by: Collection[str] | None
) -> list[Group]:
    """Every item in exactly one group; the groups oldest first, their items in the order given."""
    ordered = list(items)
    per_vendor: dict[Vendor, int] = defaultdict(int)
    for account in accounts:
        per_vendor[account.vendor] += 1
    found, rest = incidents(ordered, per_vendor)
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


def incidents(items: Sequence[Item], per_vendor: dict[Vendor, int]) -> tuple[list[Group], list[Item]]:
    """Inhibition: CHECK FAILING of one cause (`_cause`), or CHECK RECOVERED, on at least OUTAGE_SHARE
    of a vendor's accounts (and MIN_OUTAGE_ACCOUNTS), become one group; so do accounts that fail of
    one key entry they share, however few. Returns those groups and the rest."""
    candidates: dict[tuple[Kind, Vendor, object, int], list[Item]] = defaultdict(list)
    for item in items:
        note = item.pending.note
        if note.kind in (Kind.CHECK_FAILING, Kind.CHECK_RECOVERED):
            cause = _cause(note.failure) if note.kind is Kind.CHECK_FAILING else None
            candidates[(note.kind, item.account.vendor, cause, item.pending.attempts)].append(item)
    found: list[Group] = []
    for (kind, vendor, cause, _), members in candidates.items():
        total = per_vendor.get(vendor, 0)
        if len(members) >= MIN_OUTAGE_ACCOUNTS and len(members) >= OUTAGE_SHARE * total:
            incident = Incident(vendor_down=cause is VENDOR_DOWN, entry=_shared_entry(members, cause))
            found.append(Group(kind, vendor, tuple(members), common_labels(members), incident, total))
        elif cause in KEY_FAILURES:
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
    if cause not in KEY_FAILURES or len(entries) != 1:
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
