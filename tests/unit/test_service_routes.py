"""Routes in a run: each receiver hears its route's accounts only, every incident whole, at least
once, and a receiver that is down holds back no other. In memory: the receivers are fakes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from credit_monitor.adapters.receivers import MAX_DELIVERY_SECONDS
from credit_monitor.alerting import AlertPolicy, Family
from credit_monitor.budget import Budget
from credit_monitor.config import Account, CheckSettings
from credit_monitor.delivery import Delivery, Outcome, Receiver
from credit_monitor.messages import RenderedMessage
from credit_monitor.outbox import MAX_ATTEMPTS
from credit_monitor.providers import HttpReply, Request, RetryPolicy, lemlist
from credit_monitor.routes import TOPIC, ReceiverKind, ReceiverSpec, Route, Routing, StackTopic
from credit_monitor.service import Ports, RunReport, _Sending, _turned, run_once
from tests.support.fakes import FakeHttp, MemoryNotifier, MemoryReceivers, MemoryState

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
POLICY = AlertPolicy()
ACME = Route("acme", {"client": "acme"}, (ReceiverSpec(ReceiverKind.SLACK, "acme-slack"),))
GLOBEX = Route(
    "globex",
    {"client": "globex"},
    (ReceiverSpec(ReceiverKind.SLACK, "globex-slack"), ReceiverSpec(ReceiverKind.PAGERDUTY, "globex-pd")),
)
ROUTING = Routing((ACME, GLOBEX))
ACME_SLACK, GLOBEX_SLACK, GLOBEX_PD = (
    "acme/slack:acme-slack",
    "globex/slack:globex-slack",
    "globex/pagerduty:globex-pd",
)
SIX = CheckSettings(
    accounts=tuple(
        Account(
            f"lm-{n}",
            lemlist.PROVIDER,
            "https://lemlist.test",
            100,
            labels={"client": ("acme", "globex")[n % 2]},
        )
        for n in range(6)
    ),
    deadline_seconds=5,
)


class Keys:
    def key_hint(self, account_id: str) -> str:
        return "set them in the fake"

    def api_keys(self, *, refresh: bool = False) -> dict[str, str]:
        return {account.id: f"lm-key-{account.id}-7d2e5b9c" for account in SIX.accounts}


class Down(FakeHttp):
    """lemlist answers 503 to every request."""

    def send(self, request: Request, policy: RetryPolicy, deadline: float, pace: object = None) -> HttpReply:
        return HttpReply(503, b"Service Unavailable", "text/plain")


class World:
    def __init__(self, routing: Routing = ROUTING) -> None:
        self.state = MemoryState()
        self.topic = MemoryNotifier()
        self.others = {rid: MemoryNotifier(id=rid) for rid in (ACME_SLACK, GLOBEX_SLACK, GLOBEX_PD)}
        self.routing = routing

    def run(self, hours: float, credits: float | None = 500, http: FakeHttp | None = None) -> RunReport:
        http = http or FakeHttp(lemlist=credits if credits is not None else 0)
        ports = Ports(Keys(), http, self.state, MemoryReceivers(self.topic, self.others))
        budget = Budget.start(30, SIX.deadline_seconds)
        return run_once(SIX, POLICY, ports, lambda: T0 + timedelta(hours=hours), budget, routing=self.routing)

    def accounts_heard(self, receiver: MemoryNotifier) -> set[str]:
        return {account for account, _, _ in receiver.sent}


def test_each_route_hears_only_its_accounts_and_the_stack_topic_all() -> None:
    world = World()
    world.run(0)
    world.run(1, credits=10)

    assert world.accounts_heard(world.others[ACME_SLACK]) == {"lm-0", "lm-2", "lm-4"}
    assert world.accounts_heard(world.others[GLOBEX_SLACK]) == {"lm-1", "lm-3", "lm-5"}
    assert world.accounts_heard(world.topic) == {f"lm-{n}" for n in range(6)}
    for message in world.others[ACME_SLACK].messages:
        assert not any(f"lm-{n}" in message.text for n in (1, 3, 5)), "never another client's ids"
    assert [state.outbox for state in map(world.state.state, (a.id for a in SIX.accounts))] == [()] * 6


def test_an_outage_is_one_message_per_route_naming_its_accounts_and_its_recovery_reaches_the_same() -> None:
    world = World()
    world.run(0)
    for hours in (1, 2, 3):
        world.run(hours, http=Down())
    world.run(4)

    for rid, own in ((ACME_SLACK, {"lm-0", "lm-2", "lm-4"}), (GLOBEX_SLACK, {"lm-1", "lm-3", "lm-5"})):
        kinds = [m.attributes["kind"] for m in world.others[rid].messages]
        assert kinds == ["CHECK FAILING", "CHECK RECOVERED"], rid
        for message in world.others[rid].messages:
            assert {account for account, _ in message.notifications} == own
            assert "3 of the 3" in message.text or "back" in message.subject or "again" in message.subject
    assert [m.attributes["kind"] for m in world.topic.messages] == ["CHECK FAILING", "CHECK RECOVERED"]


def test_a_receiver_that_is_down_gets_it_at_the_next_run_and_the_others_get_it_once() -> None:
    world = World()
    world.run(0)
    world.others[ACME_SLACK].wait = True
    first = world.run(1, credits=10)

    assert len(world.others[GLOBEX_SLACK].messages) == 1
    assert world.others[ACME_SLACK].messages == []
    assert [r.pending for r in first.accounts] == [1, 0, 1, 0, 1, 0]
    assert any("did not take (yet)" in str(problem) for problem in first.problems)

    world.others[ACME_SLACK].wait = False
    world.run(2, credits=10)

    # A group a receiver did not take goes again as its halves (grouping.retried): all three LOWs.
    assert {m.attributes["kind"] for m in world.others[ACME_SLACK].messages} == {"LOW"}
    assert world.accounts_heard(world.others[ACME_SLACK]) == {"lm-0", "lm-2", "lm-4"}
    assert len(world.topic.messages) == 2, "the stack's topic took it the first time: never again"
    assert len(world.others[GLOBEX_SLACK].messages) == 1
    assert all(not world.state.state(a.id).outbox for a in SIX.accounts)


def test_a_receiver_refusing_for_good_is_given_up_visibly_and_never_holds_back_the_others() -> None:
    world = World()
    world.run(0)
    world.others[ACME_SLACK].poisoned = {(f"lm-{n}", "LOW") for n in (0, 2, 4)}
    reports = [world.run(1 + hour, credits=10) for hour in range(MAX_ATTEMPTS)]

    assert world.accounts_heard(world.topic) == {f"lm-{n}" for n in range(6)}
    given_up = [str(p) for p in reports[-1].problems if "gave up" in str(p)]
    assert len(given_up) == 3
    assert all(f"{ACME_SLACK} never had it" in problem for problem in given_up)
    assert all(not world.state.state(a.id).outbox for a in SIX.accounts)


def test_a_recovery_is_not_sent_to_a_receiver_never_told_of_the_failure() -> None:
    world = World()
    world.run(0)
    world.others[GLOBEX_PD].refuse = {f"lm-{n}": 1 for n in (1, 3, 5)}
    for hour in range(MAX_ATTEMPTS):
        world.run(1 + hour, credits=10)
    assert world.state.state("lm-1").untold == {Family.BALANCE: frozenset({GLOBEX_PD})}

    world.run(MAX_ATTEMPTS + 1, credits=5000)

    assert world.others[GLOBEX_PD].messages == [], "it never heard of the LOW: no RECOVERED either"
    assert [m.attributes["kind"] for m in world.others[GLOBEX_SLACK].messages][-1] == "RECOVERED"
    assert world.state.state("lm-1").untold == {}


def test_a_recovery_waits_for_its_failure_at_a_receiver_still_refusing_it_and_is_dropped_with_it() -> None:
    """The stack's topic refuses lm-0's CHECK FAILING; the account recovers three runs later, long
    before the failure is given up: the topic is told of neither (never "check working again" for a
    failure it never had, nor the failure after the recovery). acme's Slack, down meanwhile, gets
    both, in order, once it is back."""
    world = World()
    world.run(0)
    world.topic.poisoned = {("lm-0", "CHECK FAILING")}
    world.others[ACME_SLACK].wait = True
    for hour in (1, 2, 3, 4):
        world.run(hour, http=Down())
    world.run(5)
    world.others[ACME_SLACK].wait = False
    for hour in range(6, 5 + MAX_ATTEMPTS):
        world.run(hour)

    assert [kind for account, kind, _ in world.topic.sent if account == "lm-0"] == []
    assert [kind for account, kind, _ in world.topic.sent if account == "lm-2"] == [
        "CHECK FAILING",
        "CHECK RECOVERED",
    ]
    assert [kind for account, kind, _ in world.others[ACME_SLACK].sent if account == "lm-0"] == [
        "CHECK FAILING",
        "CHECK RECOVERED",
    ]
    assert world.state.state("lm-0").outbox == ()


def test_cleared_reaches_incident_receivers_only() -> None:
    """A burn that trips RUNNING OUT and then stops: PagerDuty gets the CLEARED that resolves it; the
    Slack channel and the stack's topic, whose readers need no news of it, do not."""
    world = World()
    balance = 9000.0
    for hour in range(12):
        world.run(hour, credits=balance)
        balance -= 200
    for hour in range(12, 40):
        world.run(hour, credits=balance)

    assert [m.attributes["kind"] for m in world.others[GLOBEX_PD].messages] == ["RUNNING OUT", "CLEARED"]
    assert [m.attributes["kind"] for m in world.others[GLOBEX_SLACK].messages] == ["RUNNING OUT"]
    assert "CLEARED" not in [m.attributes["kind"] for m in world.topic.messages]


def test_the_stack_topic_can_hear_only_the_unrouted_or_nothing() -> None:
    lonely = Route("acme", {"client": "acme"}, (ReceiverSpec(ReceiverKind.SLACK, "acme-slack"),))
    unrouted = World(Routing((lonely,), StackTopic.UNROUTED))
    unrouted.run(0)
    unrouted.run(1, credits=10)
    silent = World(Routing((lonely,), StackTopic.NONE))
    silent.run(0)
    silent.run(1, credits=10)

    assert unrouted.accounts_heard(unrouted.topic) == {"lm-1", "lm-3", "lm-5"}
    assert silent.accounts_heard(silent.topic) == set()
    assert silent.accounts_heard(silent.others[ACME_SLACK]) == {"lm-0", "lm-2", "lm-4"}
    assert all(not silent.state.state(a.id).outbox for a in SIX.accounts), "nobody hears globex: nothing owed"


def test_receiver_ids_name_the_route_and_the_entry_never_a_secret() -> None:
    assert ROUTING.receivers_for(SIX.accounts[1]) == (TOPIC, GLOBEX_SLACK, GLOBEX_PD)


class Hanging:
    """A receiver that answers nothing, as long as a delivery may last (MAX_DELIVERY_SECONDS), or
    until `released`."""

    def __init__(self, receiver_id: str, released: threading.Event) -> None:
        self.id, self.released = receiver_id, released

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        self.released.wait(
            timeout=max(0.0, min(deadline, time.monotonic() + MAX_DELIVERY_SECONDS) - time.monotonic())
        )
        return Delivery(Outcome.RETRY_LATER, "not delivered: no answer before the read timeout")

    def fits(self, message: RenderedMessage) -> bool:
        return True


@dataclass
class Releasing(MemoryNotifier):
    """A receiver that works, and releases the hanging ones once it has its messages."""

    released: threading.Event = field(default_factory=threading.Event)

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        delivery = super().deliver(message, deadline)
        self.released.set()
        return delivery


def test_receivers_that_hang_hold_back_no_other_however_many_they_are() -> None:
    released = threading.Event()
    hanging = {
        f"a{n:02d}/slack:hang-{n:02d}": Hanging(f"a{n:02d}/slack:hang-{n:02d}", released) for n in range(33)
    }
    routes = tuple(
        Route(
            receiver.partition("/")[0], {}, (ReceiverSpec(ReceiverKind.SLACK, receiver.rpartition(":")[2]),)
        )
        for receiver in hanging
    )
    good = Releasing(id="zz/slack:good", released=released)
    routing = Routing((*routes, Route("zz", {}, (ReceiverSpec(ReceiverKind.SLACK, "good"),))))
    state, topic = MemoryState(), MemoryNotifier()
    others: dict[str, Receiver] = {**hanging, good.id: good}

    def run(hours: float, credits: float) -> RunReport:
        ports = Ports(Keys(), FakeHttp(lemlist=credits), state, Receivers(topic, others))
        budget = Budget.start(18, SIX.deadline_seconds)
        return run_once(SIX, POLICY, ports, lambda: T0 + timedelta(hours=hours), budget, routing=routing)

    run(0, 500)
    run(1, 10)

    assert world_heard(good) == {a.id for a in SIX.accounts}
    assert world_heard(topic) == {a.id for a in SIX.accounts}


@dataclass
class Receivers:
    """The ReceiverSource port over receivers of any kind, by id."""

    topic: Receiver
    others: dict[str, Receiver]

    def receivers(self, routing: Routing, *, fresh: bool = False) -> dict[str, Receiver]:
        return {TOPIC: self.topic, **self.others}


def test_past_the_deliveries_at_once_every_receiver_comes_first_in_turn_and_the_topic_always() -> None:
    """Receivers hanging past MAX_CONCURRENT_DELIVERIES hold the others back for some runs, never
    for every run: each route's receiver leads within as many hours as there are of them."""
    plan = [_Sending(receiver, None, []) for receiver in ("a/slack:a", TOPIC, "b/slack:b", "c/teams:c")]
    leaders = []
    for hour in range(6):
        turned = _turned(plan, T0 + timedelta(hours=hour))
        assert turned[0].receiver_id == TOPIC
        assert sorted(s.receiver_id for s in turned) == sorted(s.receiver_id for s in plan)
        leaders.append(turned[1].receiver_id)
    assert set(leaders[:3]) == {"a/slack:a", "b/slack:b", "c/teams:c"}
    assert leaders[3:] == leaders[:3]
    assert [s.receiver_id for s in _turned(plan[1:2], T0)] == [TOPIC]


def world_heard(receiver: MemoryNotifier) -> set[str]:
    return {account for account, _, _ in receiver.sent}
