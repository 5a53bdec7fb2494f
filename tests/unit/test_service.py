"""One run of the service against in-memory ports: delivery survives faults at every step."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from credit_monitor import service
from credit_monitor.alerting import AccountState, AlertPolicy, Level, decide
from credit_monitor.budget import AWS_CALL_SECONDS, Budget
from credit_monitor.config import Account, CheckSettings
from credit_monitor.delivery import Delivery, Outcome, Receiver
from credit_monitor.digest import DIGEST_KEY
from credit_monitor.forecast import Sample
from credit_monitor.messages import MessageContext, RenderedMessage
from credit_monitor.model import Balance, CheckResult
from credit_monitor.outbox import MAX_ATTEMPTS, enqueue, lease
from credit_monitor.providers import HttpReply, Request, RetryPolicy, lemlist
from credit_monitor.routes import ReceiverKind, ReceiverSpec, Route, Routing
from credit_monitor.service import (
    DeliveryError,
    DigestReport,
    OutOfTime,
    Ports,
    RunReport,
    StateError,
    StateWrite,
    run_once,
    send_digest,
    send_test_alert,
)
from tests.support.fakes import (
    SETTINGS,
    FakeHttp,
    Killed,
    MemoryNotifier,
    MemoryReceivers,
    MemoryState,
    Tripwire,
    ports,
)

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
POLICY = AlertPolicy()
FAILING = AccountState(consecutive_failures=3, failing_notified=True)
"""lemlist after three failed checks, CHECK FAILING already sent."""


def fixed(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def budget(seconds: float = 30) -> Budget:
    return Budget.start(seconds, SETTINGS.deadline_seconds)


def run(
    state: MemoryState, notifier: MemoryNotifier, at: datetime, seconds: float = 30, **balances: float
) -> RunReport:
    http = FakeHttp(**({"fullenrich": 5000, "lemlist": 800} | balances))
    return run_once(SETTINGS, POLICY, ports(http, state, notifier), lambda: at, budget(seconds))


def test_both_low_sends_one_notification_each_and_leaves_nothing_pending() -> None:
    state, notifier = MemoryState(), MemoryNotifier()

    report = run(state, notifier, T0, fullenrich=10, lemlist=10)

    assert notifier.kinds() == ["fullenrich: LOW", "lemlist: LOW"]
    assert [p.pending for p in report.accounts] == [0, 0]
    assert report.problems == []
    assert (state.state("lemlist").last_sent, state.state("lemlist").last_sent_at) == ("LOW", T0)


def test_a_partial_publish_failure_resends_only_what_was_not_sent() -> None:
    state, notifier = MemoryState(), MemoryNotifier(refuse={"lemlist": 2})
    state.seed("lemlist", FAILING)

    first = run(state, notifier, T0, lemlist=10)  # CHECK RECOVERED goes out, LOW is refused
    del notifier.refuse["lemlist"]
    retry = run(state, notifier, T0 + timedelta(minutes=1), lemlist=10)

    assert [type(p).__name__ for p in first.problems] == ["DeliveryError"]
    assert first.accounts[1].pending == 1
    assert retry.problems == []
    assert notifier.kinds() == ["lemlist: CHECK RECOVERED", "lemlist: LOW"]


def test_one_providers_delivery_failure_never_stops_anothers() -> None:
    state, notifier = MemoryState(), MemoryNotifier(refuse={"fullenrich": 1})

    report = run(state, notifier, T0, fullenrich=10, lemlist=10)

    assert notifier.kinds() == ["lemlist: LOW"]
    assert [p.pending for p in report.accounts] == [1, 0]


def test_one_providers_state_failure_never_stops_anothers() -> None:
    state, notifier = MemoryState(failing={"fullenrich"}), MemoryNotifier()

    report = run(state, notifier, T0, fullenrich=10, lemlist=10)

    assert notifier.kinds() == ["lemlist: LOW"]
    assert [type(p) for p in report.problems] == [StateError]


def test_corrupt_state_is_that_providers_visible_failure_only() -> None:
    state, notifier = MemoryState(), MemoryNotifier()
    state.items["fullenrich"] = StateError("alert state for 'fullenrich' cannot be decoded")

    report = run(state, notifier, T0, fullenrich=10, lemlist=10)

    assert notifier.kinds() == ["lemlist: LOW"]
    assert [str(p) for p in report.problems] == ["alert state for 'fullenrich' cannot be decoded"]
    assert report.accounts[0].result.balance is not None  # its balance is still a metric


def test_what_does_not_fit_in_the_budget_stays_pending_for_the_next_run() -> None:
    state, notifier = MemoryState(), MemoryNotifier()
    # Enough for the checks and the claim write, not for a publish after it.
    tight = Budget(checks_end=time.monotonic() + 5, run_end=time.monotonic() + AWS_CALL_SECONDS + 0.5)
    http = FakeHttp(fullenrich=5000, lemlist=10)
    clock = [T0]
    original_put = state.put

    def slow_put(*args: object, **kwargs: object) -> bool:
        time.sleep(0.6)  # the claim write eats the rest of the budget
        return original_put(*args, **kwargs)  # type: ignore[arg-type]

    state.put = slow_put  # type: ignore[method-assign]
    report = run_once(SETTINGS, POLICY, ports(http, state, notifier), lambda: clock[0], tight)
    state.put = original_put  # type: ignore[method-assign]

    assert notifier.sent == []
    assert any(isinstance(p, OutOfTime) for p in report.problems)
    assert report.accounts[1].pending == 1
    run(state, notifier, T0 + timedelta(hours=1), lemlist=10)
    assert notifier.kinds() == ["lemlist: LOW"]


def test_an_overlapping_run_leaves_a_live_lease_alone() -> None:
    """A run that lost the race sees the winner's pending LOW leased until the winner's deadline."""
    # The winner dies right after SNS accepted its LOW: the one window for a repeat.
    process = Tripwire(after=1, counting="publish")
    state, notifier = MemoryState(tripwire=process), MemoryNotifier(tripwire=process)
    run(state, notifier, T0, fullenrich=5000, lemlist=10)
    assert process.tripped
    process.after = None  # the runs below are other processes
    winner_lease = state.state("lemlist").outbox[0].lease_until
    assert winner_lease is not None

    during = run(state, MemoryNotifier(), T0 + timedelta(seconds=5), lemlist=10)
    assert during.accounts[1].sent == []  # still leased by a run that may be alive

    after = MemoryNotifier()
    run(state, after, winner_lease, lemlist=10)
    assert [(p, k) for p, k, _ in after.sent] == [("lemlist", "LOW")]
    assert after.sent[0][2] == notifier.sent[0][2], "the repeat carries the same notification_id"


@pytest.mark.parametrize("after", range(8))
def test_a_run_killed_after_any_step_loses_nothing(after: int) -> None:
    """Kill the run after its Nth write or publish (0: before the first); the next run finishes.
    Every notification arrives; only those SNS accepted before the kill, and not yet recorded, may
    arrive twice, each with its own notification id, and the next run sends each once."""
    process = Tripwire(after=after)
    state, notifier = MemoryState(tripwire=process), MemoryNotifier(tripwire=process)
    state.seed("lemlist", FAILING)
    with contextlib.suppress(Killed):  # a kill in the run's own thread ends it there
        run(state, notifier, T0, fullenrich=10, lemlist=10)
    by_killed_run = list(notifier.sent)
    process.after = None  # the next run is a new process

    report = run(state, notifier, T0 + timedelta(hours=1), fullenrich=10, lemlist=10)

    expected = ["fullenrich: LOW", "lemlist: CHECK RECOVERED", "lemlist: LOW"]
    assert sorted(set(notifier.kinds())) == expected
    by_next_run = notifier.sent[len(by_killed_run) :]
    assert len(set(by_next_run)) == len(by_next_run), "the next run sends each notification once"
    ids = [notification_id for _, _, notification_id in notifier.sent]
    assert len(set(ids)) == len(expected), "a repeat is the same notification, with the same id"
    if not by_killed_run:
        assert len(notifier.sent) == len(expected)
    assert [p.pending for p in report.accounts] == [0, 0]
    assert state.state("lemlist").level is Level.WARNING


def test_a_lost_write_race_decides_again_on_the_winners_state() -> None:
    state, notifier = MemoryState(), MemoryNotifier()
    low = CheckResult("lemlist", 100, balance=Balance(10))
    decision = decide(AccountState(), low, T0, SETTINGS.accounts[1].levels, POLICY)
    claimed, _ = enqueue(decision.state, decision.notifications, "winner", T0)
    winner = replace(lease(claimed, "winner", T0, T0 + timedelta(seconds=30)), version=1)
    original_put_many = state.put_many

    def lose_once(writes: Sequence[StateWrite]) -> dict[str, bool]:
        if any(write.account == "lemlist" for write in writes) and "lemlist" not in state.items:
            state.items["lemlist"] = winner  # the other run wrote first, and is still publishing
        return original_put_many(writes)

    state.put_many = lose_once  # type: ignore[method-assign]
    report = run(state, notifier, T0, lemlist=10)

    assert notifier.sent == []  # the LOW is the winner's to send
    assert report.accounts[1].level is Level.WARNING
    assert state.state("lemlist").outbox == winner.outbox


def test_the_memory_state_writes_a_batch_all_or_nothing_as_the_adapters_transaction_does() -> None:
    """The service's tests must see what DynamoStateStore.put_many does (test_state_store.py): one
    write in a batch that loses its race leaves the whole batch unwritten, every account False, for
    the service to write each alone; a state that cannot be encoded is left out, the rest written."""
    state = MemoryState()
    state.seed("lemlist", AccountState())  # another writer moved lemlist to version 1
    low = AccountState(samples=(Sample(T0, 10.0),), checked_at=T0, version=1)

    raced = state.put_many([StateWrite("fullenrich", low, 0), StateWrite("lemlist", low, 0)])

    assert raced == {"fullenrich": False, "lemlist": False}
    assert "fullenrich" not in state.items, "a cancelled transaction writes nothing"

    infinite = replace(low, samples=(Sample(T0, math.inf),))
    assert state.put_many([StateWrite("fullenrich", infinite, 0), StateWrite("lemlist", low, 1)]) == {
        "fullenrich": False,
        "lemlist": True,
    }
    assert "fullenrich" not in state.items, "what the adapter cannot encode is never stored"


def test_a_write_applied_whose_reply_was_lost_is_not_decided_twice() -> None:
    """botocore retries a PutItem whose reply timed out; the first attempt had been applied, so the
    retry's condition fails, and the run re-reads its own write. It must not count it again."""
    state, notifier = MemoryState(), MemoryNotifier()
    original_put = state.put

    def applied_then_lost(account: str, new: AccountState, expected_version: int) -> bool:
        original_put(account, new, expected_version)
        return False  # what the retry of an applied conditional write reports

    state.put = applied_then_lost  # type: ignore[method-assign,assignment]
    failing = FakeHttp(fullenrich=5000, lemlist=800)
    failing.balances.pop("lemlist")  # lemlist's check fails (the fake raises, the check reports)
    for at in (T0, T0 + timedelta(hours=1)):
        run_once(SETTINGS, POLICY, ports(failing, state, notifier), fixed(at), budget())
    run(state, notifier, T0 + timedelta(hours=2))

    assert notifier.sent == []  # two failures in a row, not four: no CHECK FAILING
    assert [s.balance for s in state.state("fullenrich").samples] == [5000, 5000, 5000]


def test_a_publish_starts_only_if_the_write_recording_it_fits_too() -> None:
    """With room for one AWS call but not two, publishing would send what could not be recorded:
    the next run would send it again. It stays pending instead."""
    state, notifier = MemoryState(), MemoryNotifier()
    now = time.monotonic()
    one_call = Budget(checks_end=now + 5, run_end=now + AWS_CALL_SECONDS * 1.5)

    report = run_once(
        SETTINGS, POLICY, ports(FakeHttp(fullenrich=5000, lemlist=10), state, notifier), fixed(T0), one_call
    )

    assert notifier.sent == []
    assert report.accounts[1].pending == 1
    assert any(isinstance(p, OutOfTime) for p in report.problems)


def test_a_checked_at_from_the_future_is_a_visible_state_problem_and_the_run_still_alerts() -> None:
    state, notifier = MemoryState(), MemoryNotifier()
    future = T0 + timedelta(days=3)
    state.seed("lemlist", AccountState(checked_at=future))

    report = run(state, notifier, T0, lemlist=10)

    assert notifier.kinds() == ["lemlist: LOW"]
    [problem] = report.problems
    assert isinstance(problem, StateError)
    assert str(problem).startswith("lemlist: ")
    assert future.isoformat() in str(problem)
    assert state.state("lemlist").checked_at == T0
    assert run(state, notifier, T0 + timedelta(hours=1), lemlist=10).problems == []


def test_a_notification_sns_always_refuses_holds_nothing_back_and_is_given_up() -> None:
    """SNS refuses lemlist's CHECK RECOVERED every time: the LOW queued after it is delivered in the
    same run, and the refused one is given up after MAX_ATTEMPTS runs, visibly."""
    state, notifier = MemoryState(), MemoryNotifier(poisoned={("lemlist", "CHECK RECOVERED")})
    state.seed("lemlist", FAILING)
    reports = [
        run(state, notifier, T0 + timedelta(hours=hour), lemlist=10) for hour in range(MAX_ATTEMPTS + 1)
    ]

    assert notifier.kinds()[:1] == ["lemlist: LOW"]  # in the first run, behind the refused one
    assert [r.accounts[1].pending for r in reports[:2]] == [1, 1]
    first_problems = [str(p) for p in reports[0].problems]
    assert first_problems == [
        "lemlist: the stack's topic refused the CHECK RECOVERED message (could not publish the lemlist"
        " CHECK RECOVERED notification); it stays pending"
    ]
    gave_up = reports[MAX_ATTEMPTS - 1]
    assert gave_up.accounts[1].dropped == 1
    assert gave_up.accounts[1].pending == 0
    assert any(
        isinstance(p, DeliveryError)
        and str(p).startswith("lemlist: gave up on the CHECK RECOVERED notification")
        and f"after {MAX_ATTEMPTS} refused attempts" in str(p)
        for p in gave_up.problems
    )
    assert reports[MAX_ATTEMPTS].problems == []
    assert state.state("lemlist").outbox == ()


def test_refused_publishes_of_one_account_are_each_tried_while_the_budget_allows() -> None:
    state, notifier = MemoryState(), MemoryNotifier(refuse={"lemlist": 1})
    state.seed("lemlist", FAILING)

    report = run(state, notifier, T0, lemlist=10)

    assert len(report.problems) == 2  # CHECK RECOVERED and LOW were both tried
    assert [item.attempts for item in state.state("lemlist").outbox] == [1, 1]


class _AllKeys:
    def key_hint(self, account_id: str) -> str:
        return "set them in the fake"

    def api_keys(self, *, refresh: bool = False) -> dict[str, str]:
        return {account.id: f"lm-key-{account.id}-7d2e5b9c" for account in TEN.accounts}


TEN = CheckSettings(
    accounts=tuple(
        Account(f"lm-{n:02d}", lemlist.PROVIDER, "https://lemlist.test", 100, labels={"client": f"c{n % 2}"})
        for n in range(10)
    ),
    deadline_seconds=5,
)


def run_ten(state: MemoryState, notifier: MemoryNotifier, at: datetime, credits: float) -> RunReport:
    ports = Ports(
        keys=_AllKeys(), http=FakeHttp(lemlist=credits), state=state, receivers=MemoryReceivers(notifier)
    )
    return run_once(TEN, POLICY, ports, fixed(at), budget())


def test_a_notification_several_receivers_took_is_reported_sent_once() -> None:
    """The run's list of what it sent (the handler's answer, its log line) names each notification
    once, however many receivers took it."""
    state, topic = MemoryState(), MemoryNotifier()
    slack = MemoryNotifier(id="all/slack:ops-slack")
    routing = Routing((Route("all", {}, (ReceiverSpec(ReceiverKind.SLACK, "ops-slack"),)),))
    http = FakeHttp(fullenrich=5000, lemlist=10)

    report = run_once(
        SETTINGS, POLICY, ports(http, state, topic, {slack.id: slack}), fixed(T0), budget(), routing=routing
    )

    assert topic.kinds() == slack.kinds() == ["lemlist: LOW"]
    assert report.sent == ["lemlist: LOW"]


def test_ten_accounts_crossing_their_level_in_two_routing_groups_are_two_messages() -> None:
    state, notifier = MemoryState(), MemoryNotifier()

    report = run_ten(state, notifier, T0, credits=10)

    assert sorted(m.attributes.get("client", "") for m in notifier.messages) == ["c0", "c1"]
    assert sorted(len(m.notifications) for m in notifier.messages) == [5, 5]
    assert len(notifier.sent) == 10
    assert report.problems == []
    assert all(r.pending == 0 for r in report.accounts)
    for message in notifier.messages:
        assert message.attributes["notification_id"] == ",".join(message.ids)


def test_a_refused_group_counts_a_refusal_for_each_and_is_retried_in_halves() -> None:
    """SNS refuses any message about lm-00 (poisoned): its group of five fails once; the next run
    sends it as two halves (the one without lm-00 goes out), and so on until lm-00 is alone."""
    state, notifier = MemoryState(), MemoryNotifier(poisoned={("lm-00", "LOW")})

    first = run_ten(state, notifier, T0, credits=10)

    assert [m.attributes["client"] for m in notifier.messages] == ["c1"]
    assert [str(p) for p in first.problems] == [
        "lm-00, lm-02, lm-04, lm-06, lm-08: the stack's topic refused the LOW message (could not publish"
        " the lm-00 LOW notification); it stays pending"
    ]
    held = [f"lm-{n:02d}" for n in range(0, 10, 2)]
    assert [state.state(name).outbox[0].attempts for name in held] == [1] * 5

    second = run_ten(state, notifier, T0 + timedelta(hours=1), credits=10)  # halves: 00 02 04 | 06 08
    third = run_ten(state, notifier, T0 + timedelta(hours=2), credits=10)  # halves: 00 02 | 04
    fourth = run_ten(state, notifier, T0 + timedelta(hours=3), credits=10)  # halves: 00 | 02

    assert [len(m.ids) for m in notifier.messages] == [5, 2, 1, 1]
    assert sorted(a for a, _, _ in notifier.sent) == sorted(f"lm-{n:02d}" for n in range(1, 10))
    assert [r.pending for r in fourth.accounts] == [1] + [0] * 9
    assert state.state("lm-00").outbox[0].attempts == 4
    assert all(report.problems for report in (second, third, fourth)), "each refusal is visible"


@pytest.mark.parametrize("after", [1, 2])
def test_a_kill_between_sending_and_recording_resends_the_group_with_the_same_ids(after: int) -> None:
    """Two groups are published, then the ten accounts' writes record them: a kill after the Nth
    publish sends exactly those groups again, whole and with the same ids; nothing is lost."""
    process = Tripwire(after=after, counting="publish")
    state, notifier = MemoryState(tripwire=process), MemoryNotifier(tripwire=process)
    run_ten(state, notifier, T0, credits=10)
    by_killed_run = [frozenset(m.ids) for m in notifier.messages]
    process.after = None

    run_ten(state, notifier, T0 + timedelta(hours=1), credits=10)

    by_next_run = [frozenset(m.ids) for m in notifier.messages[len(by_killed_run) :]]
    assert len(by_killed_run) == after
    assert set(by_killed_run) <= set(by_next_run), "each group the dead run sent comes again, whole"
    assert sorted(i for ids in by_next_run for i in ids) == sorted({a for _, _, a in notifier.sent})
    assert len({a for _, _, a in notifier.sent}) == 10


def digest(state: MemoryState, notifier: MemoryNotifier, at: datetime) -> DigestReport:
    return send_digest(SETTINGS, POLICY, ports(FakeHttp(), state, notifier), fixed(at), budget())


def test_the_weekly_digest_is_sent_once_a_week_with_its_weeks_id() -> None:
    state, notifier = MemoryState(), MemoryNotifier()
    run(state, notifier, T0, fullenrich=10, lemlist=800)
    notifier.messages.clear()

    first = digest(state, notifier, T0)
    again = digest(state, notifier, T0 + timedelta(hours=1))  # Lambda's retry, or a second schedule
    next_week = digest(state, notifier, T0 + timedelta(days=7))

    assert (first.sent, again.sent, next_week.sent) == ("digest-2026-W45", None, "digest-2026-W46")
    assert [m.ids for m in notifier.messages] == [["digest-2026-W45"], ["digest-2026-W46"]]
    assert "fullenrich" in notifier.messages[0].text
    assert state.state(DIGEST_KEY).outbox == ()


def test_a_refused_digest_stays_pending_and_a_killed_one_comes_again_with_the_same_id() -> None:
    state, notifier = MemoryState(), MemoryNotifier(poisoned={(DIGEST_KEY, "DIGEST")})
    refused = digest(state, notifier, T0)
    assert refused.sent is None
    assert isinstance(refused.incomplete(), DeliveryError)
    assert [p.attempts for p in state.state(DIGEST_KEY).outbox] == [1]

    process = Tripwire(after=1, counting="publish")
    state.tripwire = process
    killed = MemoryNotifier(tripwire=process)
    with pytest.raises(Killed):
        digest(state, killed, T0 + timedelta(hours=1))
    process.after = None

    after = digest(state, killed, T0 + timedelta(hours=2))

    assert after.problems == []
    assert [m.ids for m in killed.messages] == [["digest-2026-W45"], ["digest-2026-W45"]]
    assert state.state(DIGEST_KEY).outbox == ()


def refused_past_lambdas_retries(state: MemoryState) -> None:
    """This week's digest refused by SNS at its invocation and at Lambda's two retries."""
    notifier = MemoryNotifier(poisoned={(DIGEST_KEY, "DIGEST")})
    for minutes in (0, 1, 3):
        assert digest(state, notifier, T0 + timedelta(minutes=minutes)).sent is None


def test_a_digest_never_accepted_before_the_next_weeks_is_given_up_visibly() -> None:
    state, notifier = MemoryState(), MemoryNotifier()
    run(state, notifier, T0)
    refused_past_lambdas_retries(state)

    next_week = digest(state, notifier, T0 + timedelta(days=7))

    assert next_week.sent == "digest-2026-W46"
    assert [str(p) for p in next_week.problems] == [
        "gave up on the digest digest-2026-W45: SNS did not accept it before the next week's replaced it"
    ]
    assert isinstance(next_week.incomplete(), DeliveryError)
    again = digest(state, notifier, T0 + timedelta(days=7, minutes=1))  # Lambda's retry of that run
    assert (again.sent, again.problems) == (None, [])


def test_a_digest_sns_refused_past_lambdas_retries_still_arrives_within_its_week() -> None:
    """Once Lambda's two retries of the digest run are spent, the next hourly run delivers it,
    once, with its week's id; the runs after it do not send it again."""
    state, notifier = MemoryState(), MemoryNotifier()
    run(state, notifier, T0)
    refused_past_lambdas_retries(state)

    reports = [run(state, notifier, T0 + timedelta(hours=hours)) for hours in range(1, 24)]

    assert [m.ids for m in notifier.messages] == [["digest-2026-W45"]]
    assert reports[0].digest.sent == "digest-2026-W45"
    assert reports[0].sent == ["weekly digest: digest-2026-W45"]
    assert all(report.digest.sent is None for report in reports[1:])
    assert all(report.incomplete() is None for report in reports)
    assert not state.state(DIGEST_KEY).outbox


def test_an_hourly_run_never_queues_a_digest_of_its_own() -> None:
    """Only the digest schedule starts a week's digest: an hourly run delivers one left pending,
    never a new one, whatever the day."""
    state, notifier = MemoryState(), MemoryNotifier()

    for hours in range(0, 24 * 8, 6):
        run(state, notifier, T0 + timedelta(hours=hours))

    assert notifier.messages == []
    assert DIGEST_KEY not in state.items


def test_a_digest_an_hourly_run_cannot_deliver_is_counted_and_fails_the_invocation() -> None:
    """A refusal is that digest's problem: it counts a refusal, stays pending, and the run fails
    after its metrics so Lambda's retry (or the next run) tries again."""
    state, notifier = MemoryState(), MemoryNotifier()
    run(state, notifier, T0)
    refused_past_lambdas_retries(state)
    refusing = MemoryNotifier(poisoned={(DIGEST_KEY, "DIGEST")})

    report = run(state, refusing, T0 + timedelta(hours=1))

    assert report.digest.sent is None
    assert isinstance(report.incomplete(), DeliveryError)
    [pending] = state.state(DIGEST_KEY).outbox
    assert pending.attempts == 4  # the digest run, Lambda's two retries, this hourly run


class SharedKeys:
    """Every account's key is one lemlist key."""

    def __init__(self, accounts: int) -> None:
        self.keys = {f"team-{n:02d}": "lm-shared-key-7d2e5b9c" for n in range(accounts)}

    def key_hint(self, account_id: str) -> str:
        return "set them in the fake"

    def api_keys(self, *, refresh: bool = False) -> dict[str, str]:
        return self.keys


class HungState(MemoryState):
    """A state read that never answers in time (DynamoDB unreachable), until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def load(self, providers: Iterable[str]) -> dict[str, AccountState | StateError]:
        self.release.wait()
        return super().load(providers)


def shared_key_settings(accounts: int) -> CheckSettings:
    """Accounts on one key whose requests differ (each its own URL): they take turns."""
    return CheckSettings(
        tuple(
            Account(f"team-{n:02d}", lemlist.PROVIDER, f"https://lemlist.test/{n}", threshold=100)
            for n in range(accounts)
        ),
        deadline_seconds=3,
    )


def test_turns_follow_the_state_so_a_schedule_that_skips_runs_starves_no_account() -> None:
    """30 accounts on one key, 10 a run (k = 3), and every run three periods after the last, so the
    run number mod k never changes: each run checks the 10 checked least recently."""
    settings, state = shared_key_settings(30), MemoryState()
    checked: list[set[str]] = []
    for n in range(6):
        report = run_once(
            settings,
            POLICY,
            Ports(SharedKeys(30), FakeHttp(lemlist=800), state, MemoryReceivers(MemoryNotifier())),
            fixed(T0 + timedelta(hours=3 * n)),
            budget(),
        )
        checked.append({r.name for r in report.accounts if r.result.balance is not None})
        assert len(checked[-1]) == 10
    assert set().union(*checked[:3]) == set().union(*checked[3:]) == set(SharedKeys(30).keys)


def test_a_state_read_that_hangs_delays_the_turns_a_bounded_time_then_they_go_by_run_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The state says team-00..09 were checked least recently, but it answers only after 1 s, past
    the turns' wait: the run takes turns by run number (positions of one residue mod k = 3), and
    every account has its result, checked or waiting, none failed."""
    monkeypatch.setattr(service, "TURNS_WAIT_SECONDS", 0.05)
    state = HungState()
    for n in range(30):
        state.seed(f"team-{n:02d}", AccountState(checked_at=T0 - timedelta(hours=10 if n < 10 else 1)))
    answers = threading.Timer(1.0, state.release.set)  # long after the turns were picked
    answers.start()
    try:
        report = run_once(
            shared_key_settings(30),
            POLICY,
            Ports(SharedKeys(30), FakeHttp(lemlist=800), state, MemoryReceivers(MemoryNotifier())),
            fixed(T0),
            budget(),
        )
    finally:
        answers.cancel()
        state.release.set()

    checked = [int(r.name[-2:]) for r in report.accounts if r.result.balance is not None]
    assert len(checked) == 10
    assert len({n % 3 for n in checked}) == 1, checked
    assert sum(r.result.not_checked is not None for r in report.accounts) == 20


class _VendorDown(FakeHttp):
    """lemlist answers 503 to every request."""

    def send(self, request: Request, policy: RetryPolicy, deadline: float, pace: object = None) -> HttpReply:
        return HttpReply(503, b"Service Unavailable", "text/plain")


def test_an_account_one_failure_ahead_of_the_others_is_still_part_of_the_one_outage_message() -> None:
    state, notifier = MemoryState(), MemoryNotifier()
    run_ten(state, notifier, T0, credits=500)
    state.seed("lm-00", replace(state.state("lm-00"), consecutive_failures=1, failing_since=T0))
    ports = Ports(keys=_AllKeys(), http=_VendorDown(), state=state, receivers=MemoryReceivers(notifier))

    for hours in (1, 2, 3):
        run_once(TEN, POLICY, ports, fixed(T0 + timedelta(hours=hours)), budget())

    assert [m.attributes["kind"] for m in notifier.messages] == ["CHECK FAILING"]


def test_a_kill_while_recording_an_outage_sends_what_was_not_recorded_again_as_one_message() -> None:
    """The outage message of ten accounts is published, six of the ten record writes are done, and
    the process dies: the four left come again, with the same ids, in one message."""
    process = Tripwire()
    state, notifier = MemoryState(tripwire=process), MemoryNotifier(tripwire=process)
    run_ten(state, notifier, T0, credits=500)
    ports = Ports(keys=_AllKeys(), http=_VendorDown(), state=state, receivers=MemoryReceivers(notifier))
    for hours in (1, 2):
        run_once(TEN, POLICY, ports, fixed(T0 + timedelta(hours=hours)), budget())
    process.after, process.calls = 1 + 1 + 6, 0  # the decide writes (one batch), the publish, six records
    run_once(TEN, POLICY, ports, fixed(T0 + timedelta(hours=3)), budget())
    [outage] = notifier.messages
    process.after = None

    run_once(TEN, POLICY, ports, fixed(T0 + timedelta(hours=4)), budget())

    again = notifier.messages[1:]
    assert [len(m.ids) for m in again] == [4], [m.subject for m in again]
    assert set(again[0].ids) < set(outage.ids)
    assert "outage" in again[0].subject


def test_a_batch_write_that_raises_leaves_each_account_to_its_own_write() -> None:
    """put_many is documented never to raise; if a bug in it does (one account's state it cannot
    handle), that is no reason to end the run for every account: each is written alone, where a
    failure is its own."""
    state, notifier = MemoryState(), MemoryNotifier()

    def broken(writes: Sequence[StateWrite]) -> dict[str, bool]:
        raise ValueError("one account's state broke the batch")

    state.put_many = broken  # type: ignore[method-assign]
    report = run(state, notifier, T0, fullenrich=10, lemlist=10)

    assert notifier.kinds() == ["fullenrich: LOW", "lemlist: LOW"]
    assert [a.pending for a in report.accounts] == [0, 0]
    assert state.state("lemlist").level is Level.WARNING


# --- the test alert: one message marked as a test, per receiver -----------------------------------


class Refusing(MemoryNotifier):
    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        return Delivery(Outcome.REFUSED, "could not publish the TEST notification: Forbidden")


class Broken(MemoryNotifier):
    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        raise KeyError("a bug")


class Hanging(MemoryNotifier):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        self.release.wait()
        return Delivery.accepted_all(message, "too late", ack="too-late")


def test_a_test_alert_reports_each_receiver_in_order_and_one_failure_hides_no_other() -> None:
    accepting, hanging = MemoryNotifier(), Hanging()
    receivers: dict[str, Receiver] = {
        "topic": accepting,
        "refusing": Refusing(),
        "broken": Broken(),
        "hanging": hanging,
    }
    try:
        deliveries = send_test_alert(receivers, fixed(T0), budget(2.5), MessageContext())
    finally:
        hanging.release.set()

    assert [d.as_json() for d in deliveries] == [
        {"receiver": "topic", "accepted": "message-id"},
        {"receiver": "refusing", "refused": "could not publish the TEST notification: Forbidden"},
        {"receiver": "broken", "refused": "unexpected KeyError"},
        {"receiver": "hanging", "refused": "no answer before the function's deadline"},
    ]
    [message] = accepting.messages
    assert message.subject.startswith("[credit-monitor] TEST:")
    assert message.attributes["kind"] == "TEST"
    assert message.notifications == (), "a test delivers no account's notification"
    assert "Sent: Mon 02 Nov 2026 09:00 UTC" in message.text


def test_a_test_alert_to_no_receiver_is_an_empty_report() -> None:
    assert send_test_alert({}, fixed(T0), budget(), MessageContext()) == []


def test_the_log_line_names_the_currency_of_a_money_balance_and_none_for_credits() -> None:
    twilio = Account("voice", lemlist.PROVIDER, "https://api.test", threshold=20)
    money = service.AccountReport(twilio, CheckResult("voice", 20, balance=Balance(12.4, currency="USD")))
    credits = service.AccountReport(twilio, CheckResult("voice", 20, balance=Balance(420)))

    assert (money.summary()["balance"], money.summary()["currency"]) == (12.4, "USD")
    assert "currency" not in credits.summary()
