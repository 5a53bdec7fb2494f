"""Small in-memory fakes of the service's ports, for service tests that run in milliseconds.

Each can be told to fail. A Tripwire shared by the state and the receivers stands for SIGKILL:
after its Nth call has taken effect, every later call of either raises Killed, so nothing more
reaches the outside world, and every step of a run can be interrupted in turn.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from credit_monitor.adapters.http import Pace
from credit_monitor.adapters.state import encode
from credit_monitor.alerting import AccountState
from credit_monitor.config import Account, CheckSettings
from credit_monitor.delivery import Delivery, Outcome, Receiver
from credit_monitor.messages import RenderedMessage
from credit_monitor.providers import HttpReply, Request, RetryPolicy, fullenrich, lemlist
from credit_monitor.routes import TOPIC, Routing
from credit_monitor.service import Ports, StateError, StateWrite


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the service handles it."""


@dataclass
class Tripwire:
    """The process dies right after the `after`-th call counted here (None: never): every call,
    or only those of one kind ("put", "put_many" or "publish")."""

    after: int | None = None
    counting: str | None = None
    calls: int = 0
    last: str | None = None
    """The kind of the last call that took effect."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self) -> None:
        """Before a call: a dead process does nothing more."""
        with self.lock:
            if self.after is not None and self.calls >= self.after:
                raise Killed

    def tick(self, kind: str) -> None:
        """After a call took effect (the caller holds its own lock, so the order is exact)."""
        if self.after is not None and self.calls >= self.after:
            return
        self.last = kind
        if self.counting in (None, kind):
            self.calls += 1

    @property
    def tripped(self) -> bool:
        return self.after is not None and self.calls >= self.after


SETTINGS = CheckSettings(
    accounts=(
        Account("fullenrich", fullenrich.PROVIDER, "https://fullenrich.test", threshold=1000),
        Account("lemlist", lemlist.PROVIDER, "https://lemlist.test", threshold=100),
    ),
    deadline_seconds=5,
)


class FakeKeys:
    def key_hint(self, account_id: str) -> str:
        return "set them in the fake"

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        return {"fullenrich": "fe-key-4f1c9a7e2b8d", "lemlist": "lm-key-7d2e5b9c1a3f"}


class FakeHttp:
    """The Http port: answers like the two APIs with the balances in `balances`, without a socket."""

    def __init__(self, **balances: float) -> None:
        self.balances = dict(balances)

    def send(
        self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
    ) -> HttpReply:
        if "fullenrich" in request.url:
            body = {"balance": self.balances["fullenrich"]}
        else:
            body = {"credits": self.balances["lemlist"]}
        return HttpReply(200, json.dumps(body).encode(), "application/json")


def _encodable(state: AccountState) -> bool:
    """Whether the adapter can store it (encode refuses numbers that are not finite)."""
    try:
        encode(state)
    except ValueError:
        return False
    return True


@dataclass
class MemoryState:
    """The StateStore port in a dict, with DynamoDB's conditional-write semantics."""

    items: dict[str, AccountState | StateError] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    tripwire: Tripwire = field(default_factory=Tripwire)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, providers: Iterable[str]) -> dict[str, AccountState | StateError]:
        self.tripwire.check()
        with self.lock:
            return {name: self.items.get(name, AccountState()) for name in providers}

    def put(self, provider: str, state: AccountState, expected_version: int) -> bool:
        self.tripwire.check()
        if provider in self.failing:
            raise StateError(f"could not write alert state for {provider}: throttled")
        if not _encodable(state):
            raise StateError(f"could not write alert state for {provider}: a number is not finite")
        with self.lock:
            current = self.items.get(provider, AccountState())
            if isinstance(current, StateError) or current.version != expected_version:
                return False
            self.items[provider] = state
            self.tripwire.tick("put")
        return True

    def put_many(self, writes: Sequence[StateWrite]) -> dict[str, bool]:
        """All or nothing, like the adapter's TransactWriteItems: one write that would fail or lose
        leaves every account of the batch unwritten (False), for the service to write alone; a
        state the adapter could not encode is left out of the batch (False)."""
        self.tripwire.check()
        written = dict.fromkeys((write.account for write in writes), False)
        batch = [write for write in writes if _encodable(write.state)]
        with self.lock:
            for write in batch:
                current = self.items.get(write.account, AccountState())
                if (
                    write.account in self.failing
                    or isinstance(current, StateError)
                    or current.version != write.expected_version
                ):
                    return written
            for write in batch:
                self.items[write.account] = write.state
                written[write.account] = True
            if batch:
                self.tripwire.tick("put_many")
        return written

    def state(self, provider: str) -> AccountState:
        item = self.items[provider]
        assert isinstance(item, AccountState)
        return item

    def seed(self, provider: str, state: AccountState) -> None:
        self.items[provider] = replace(state, version=1)


@dataclass
class MemoryNotifier:
    """A receiver (the Receiver port) as a list of notifications (account, kind, id) and of
    messages; `refuse` refuses a message about an account from that account's Nth delivery on,
    `poisoned` every message with one (account, kind), and `wait` answers every one with "retry
    later". By default it is the stack's topic."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    messages: list[RenderedMessage] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)
    poisoned: set[tuple[str, str]] = field(default_factory=set)
    tripwire: Tripwire = field(default_factory=Tripwire)
    lock: threading.Lock = field(default_factory=threading.Lock)
    id: str = TOPIC
    wait: bool = False
    limit: int | None = None
    """Messages of more characters than this do not fit (a receiver's size limit)."""

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        self.tripwire.check()
        kind = message.attributes["kind"]
        accounts = list(dict.fromkeys(account for account, _ in message.notifications))
        with self.lock:
            if self.wait:
                return Delivery(Outcome.RETRY_LATER, f"{self.id} asks to wait", retry_after=60)
            for account in accounts:
                attempts = sum(1 for sent_to, _, _ in self.sent if sent_to == account) + 1
                if (account, kind) in self.poisoned or (
                    account in self.refuse and attempts >= self.refuse[account]
                ):
                    return Delivery(Outcome.REFUSED, f"could not publish the {account} {kind} notification")
            self.sent.extend(
                (account, kind, notification_id) for account, notification_id in message.notifications
            )
            self.messages.append(message)
            self.tripwire.tick("publish")
        return Delivery.accepted_all(message, "accepted", ack="message-id")

    def fits(self, message: RenderedMessage) -> bool:
        return self.limit is None or len(message.text) <= self.limit

    def kinds(self) -> list[str]:
        return sorted(f"{provider}: {kind}" for provider, kind, _ in self.sent)


@dataclass
class MemoryReceivers:
    """The ReceiverSource port: the stack's topic, and any other receivers by id."""

    topic: MemoryNotifier
    others: dict[str, MemoryNotifier] = field(default_factory=dict)
    fresh: list[bool] = field(default_factory=list)
    """Each call's `fresh`: whether the secret was to be read afresh."""

    def receivers(self, routing: Routing, *, fresh: bool = False) -> dict[str, Receiver]:
        self.fresh.append(fresh)
        return {TOPIC: self.topic, **self.others}


def ports(
    http: FakeHttp,
    state: MemoryState,
    notifier: MemoryNotifier,
    others: dict[str, MemoryNotifier] | None = None,
) -> Ports:
    return Ports(keys=FakeKeys(), http=http, state=state, receivers=MemoryReceivers(notifier, others or {}))
