"""Which notifications travel together: one message per incident, not one per account. Pure.

The stages between deciding and publishing, as in Alertmanager's notify pipeline:
- inhibit: a vendor whose accounts fail (or recover) together in a run is one vendor outage,
  reported once for all of them, whatever their labels (`outages`);
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
"""A vendor's accounts failing in one run with the same failure kind are one vendor outage when
they are at least this share of its accounts (and at least MIN_OUTAGE_ACCOUNTS): one CHECK FAILING
names the vendor, the count and the cause, and one CHECK RECOVERED follows when they come back."""
MIN_OUTAGE_ACCOUNTS = 2
"""One account failing alone is reported on its own."""
VENDOR_DOWN = frozenset(
    {FailureKind.HTTP, FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.BAD_RESPONSE}
)
"""Failure kinds that are one cause for an outage: a vendor that is down answers 5xx or an error
page to some requests and times out or resets others, so its accounts fail with any of these.
A rejected key, a missing secret, a rate limit or TLS is each a cause of its own."""

Labels = tuple[tuple[str, str], ...]


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
    outage: bool = False
    """A vendor outage: the vendor's accounts failed (or recovered) together, whatever their labels."""
    vendor_accounts: int = 0
    """How many accounts the run watches at this vendor (an outage names the share it hit)."""

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
            Group(self.kind, self.vendor, part, self.labels, self.outage, self.vendor_accounts)
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
    found, rest = outages(ordered, per_vendor)
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


def outages(items: Sequence[Item], per_vendor: dict[Vendor, int]) -> tuple[list[Group], list[Item]]:
    """Inhibition: CHECK FAILING of one cause (`_cause`), or CHECK RECOVERED, on at least OUTAGE_SHARE
    of a vendor's accounts (and MIN_OUTAGE_ACCOUNTS) become one group; returns those and the rest."""
    candidates: dict[tuple[Kind, Vendor, object, int], list[Item]] = defaultdict(list)
    for item in items:
        note = item.pending.note
        if note.kind in (Kind.CHECK_FAILING, Kind.CHECK_RECOVERED):
            cause = _cause(note.failure) if note.kind is Kind.CHECK_FAILING else None
            candidates[(note.kind, item.account.vendor, cause, item.pending.attempts)].append(item)
    found: list[Group] = []
    taken: set[str] = set()
    for (kind, vendor, _, _), members in candidates.items():
        total = per_vendor.get(vendor, 0)
        if len(members) >= MIN_OUTAGE_ACCOUNTS and len(members) >= OUTAGE_SHARE * total:
            found.append(Group(kind, vendor, tuple(members), common_labels(members), True, total))
            taken.update(item.pending.id for item in members)
    return found, [item for item in items if item.pending.id not in taken]


def _cause(failure: FailureKind | None) -> object:
    """What an outage's accounts must share: the failure kind, or VENDOR_DOWN for any of those."""
    return VENDOR_DOWN if failure in VENDOR_DOWN else failure


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
