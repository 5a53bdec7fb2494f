"""One check cycle: fetch every balance, decide, record, notify; returns what happened.

The stages, in order (the order that makes alerts survive faults, see outbox.py):
1. read every account's state, while the balances are fetched (all by the checks' deadline);
2. decide, per account, in one conditional write: the new state, its new notifications as
   pending, and a lease on everything pending that no live run holds;
3. group what this run leased, across accounts (grouping.py: a CHECK FAILING waits for the rest
   of an outage still forming; an incident as one alert, then one message per kind, vendor and
   routing labels; messages.py splits one too big for SNS);
4. send each group's message; SNS gets every notification id it delivers;
5. record, per account, in one conditional write: what SNS accepted leaves the outbox, each
   refusal is counted.
A kill anywhere leaves the notifications pending for the next run; one between sending and
recording sends those groups again, with the same notification ids. Accounts are decided and
recorded concurrently and independently: one account's state or delivery failure never stops
another's.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from credit_monitor.alerting import (
    AccountState,
    AlertPolicy,
    Decision,
    Kind,
    Level,
    Notification,
    Pending,
    decide,
    status_of,
)
from credit_monitor.bounded import Unfinished, run_until
from credit_monitor.budget import (
    MAX_CONCURRENT_ACCOUNTS,
    MAX_CONCURRENT_DELIVERIES,
    SAFETY_MARGIN_SECONDS,
    Budget,
)
from credit_monitor.checks import MIN_SECONDS_FOR_A_REQUEST, Http, KeySource, run_checks
from credit_monitor.config import Account, CheckSettings
from credit_monitor.delivery import Delivery, Outcome, Receiver
from credit_monitor.digest import DIGEST_KEY, Row, digest_id, render_digest, rows, week_of
from credit_monitor.forecast import Forecast
from credit_monitor.grouping import Failing, Failings, Group, Item, group, hold
from credit_monitor.messages import MessageContext, RenderedMessage, render_group, render_test_alert
from credit_monitor.model import CheckError, CheckResult, FailureKind
from credit_monitor.outbox import MAX_ATTEMPTS, enqueue, lease, leased_by, refused, settle, waits
from credit_monitor.ratelimit import run_number
from credit_monitor.routes import TOPIC, Routing

WRITE_ATTEMPTS = 3
STATE_BATCH = 100
"""States written per put_many call: DynamoDB's TransactWriteItems limit, and how often the run
checks that one more AWS call still fits."""
TURNS_WAIT_SECONDS = 2.0
"""How long the checks wait for the state read to pick the turns of accounts sharing a key; a read
slower than that (DynamoDB throttled or unreachable) leaves them to take turns by run number."""


class StateError(RuntimeError):
    """The alert state could not be read or written: decisions cannot be made safely."""


class DeliveryError(RuntimeError):
    """A notification could not be published; it stays pending for the next run."""


class OutOfTime(RuntimeError):
    """Something was left for the next run because the run's budget could not fit it."""


class StateWrite(NamedTuple):
    """One account's new state, to be written only over the version it was decided on."""

    account: str
    state: AccountState
    expected_version: int


class StateStore(Protocol):
    def load(self, accounts: Iterable[str]) -> dict[str, AccountState | StateError]:
        """Raise StateError if nothing can be read; an undecodable account is that account's error."""
        ...

    def put(self, account: str, state: AccountState, expected_version: int) -> bool:
        """Conditional write; False when the account is no longer at `expected_version`."""
        ...

    def put_many(self, writes: Sequence[StateWrite]) -> dict[str, bool]:
        """Each write as `put` makes it, batched; True for each account written. An account the
        batch did not write (a lost race, an error) is False, to be written alone with `put`.
        Never raises."""
        ...


class ReceiverSource(Protocol):
    def receivers(self, routing: Routing, *, fresh: bool = False) -> Mapping[str, Receiver]:
        """Every receiver of `routing` by its id (routes.Routing), and the stack's own topic
        (routes.TOPIC). One whose secret entry is missing or wrong is there all the same, and refuses
        every delivery saying which entry: never a reason to stop the others. `fresh`: the secret is
        read anew, not from the sandbox's cache (a test alert right after `keys set`)."""
        ...


@dataclass(frozen=True)
class Ports:
    keys: KeySource
    http: Http
    state: StateStore
    receivers: ReceiverSource


@dataclass
class AccountReport:
    """One account's run: the check, the state decided, what was sent and what is still owed."""

    account: Account
    result: CheckResult
    level: Level | None = None
    forecast: Forecast | None = None
    sent: list[str] = field(default_factory=list)
    pending: int | None = None
    snoozed_until: datetime | None = None
    dropped: int = 0
    """Notifications given up this run (a full outbox, or refused too often): each also a problem."""
    problems: list[Exception] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What to log once, at WARNING, that is no failure of the run (a renewal that did not show up)."""
    lasts: bool = False
    """The balance lasts until the account's renewal (alerting.Decision.lasts)."""

    @property
    def name(self) -> str:
        return self.account.id

    def summary(self) -> dict[str, object]:
        result = self.result
        entry: dict[str, object] = {
            "provider": self.account.vendor.id,
            "status": status_of(result, self.account.levels, self.level).value,
            "threshold": result.threshold,
        }
        if result.balance is not None:
            entry["balance"] = result.balance.credits
            if result.balance.currency is not None:
                entry["currency"] = result.balance.currency
            if result.balance.pools:
                entry["pools"] = {pool.name: pool.credits for pool in result.balance.pools}
        if result.error is not None:
            entry["failure"] = result.error.kind.value
            entry["reason"] = result.error.message
        if result.not_checked is not None:
            entry["reason"] = result.not_checked
        if self.level is not None:
            entry["level"] = self.level.name
        if self.forecast is not None:
            entry["forecast"] = self.forecast.describe() + (", lasts until its renewal" if self.lasts else "")
        if self.pending:
            entry["pending_notifications"] = self.pending
        if self.snoozed_until is not None:
            entry["snoozed_until"] = self.snoozed_until.isoformat()
        if self.problems:
            entry["problems"] = [str(problem) for problem in self.problems]
        return entry


@dataclass
class DigestReport:
    """A digest run: the id of the digest it delivered (None: nothing was due, or it failed)."""

    sent: str | None = None
    problems: list[Exception] = field(default_factory=list)

    def incomplete(self) -> Exception | None:
        return incomplete(self.problems)


@dataclass
class RunReport:
    accounts: list[AccountReport]
    digest: DigestReport = field(default_factory=DigestReport)
    """A weekly digest left pending past the digest run's retries, which this run delivered (or
    could not: its problems are the run's)."""

    @property
    def problems(self) -> list[Exception]:
        return [problem for report in self.accounts for problem in report.problems] + self.digest.problems

    @property
    def results(self) -> list[CheckResult]:
        return [report.result for report in self.accounts]

    @property
    def sent(self) -> list[str]:
        digest = [f"weekly digest: {self.digest.sent}"] if self.digest.sent else []
        return [f"{report.name}: {kind}" for report in self.accounts for kind in report.sent] + digest

    def summary(self) -> dict[str, dict[str, object]]:
        """Each account's outcome, for the one summary log line and the handler's return value."""
        return {report.name: report.summary() for report in self.accounts}

    def warnings(self) -> list[tuple[str, dict[str, str]]]:
        """One WARNING line (message, fields) per thing an account's decision wanted said once."""
        return [
            (f"{report.name}: {warning}", {"account": report.name, "provider": report.account.vendor.id})
            for report in self.accounts
            for warning in report.warnings
        ]

    def failed_checks(self) -> list[tuple[str, dict[str, str]]]:
        """One ERROR line (message, fields) per failed check: what and why, already redacted."""
        return [
            (
                f"{report.name} check failed: {report.result.error.message}",
                {
                    "account": report.name,
                    "provider": report.account.vendor.id,
                    "failure": report.result.error.kind.value,
                },
            )
            for report in self.accounts
            if report.result.error is not None
        ]

    def incomplete(self) -> Exception | None:
        """What the run could not do, as one exception to raise after metrics and the summary, so
        Lambda's Errors metric and retry see it; None when everything was done."""
        return incomplete(self.problems)


def incomplete(problems: list[Exception]) -> Exception | None:
    """`problems` as one exception: DeliveryError when all are deliveries, else StateError."""
    if not problems:
        return None
    delivery_only = all(isinstance(problem, DeliveryError) for problem in problems)
    return (DeliveryError if delivery_only else StateError)("; ".join(map(str, problems)))


def run_once(
    checks: CheckSettings,
    policy: AlertPolicy,
    ports: Ports,
    clock: Callable[[], datetime],
    budget: Budget,
    run_id: str | None = None,
    scheduled_at: datetime | None = None,
    dashboard_url: str = "",
    routing: Routing | None = None,
) -> RunReport:
    """One scheduled run. Never raises for a provider's failure: each is in the report.
    `scheduled_at` (the schedule's own time for this run, when the event carries it) picks the turn
    of accounts sharing a key; without it, the run's clock does. `dashboard_url` goes in every message.
    `routing`: the receivers each account's notifications go to (default: the stack's topic alone)."""
    now = clock()
    turn = run_number((scheduled_at or now).timestamp(), checks.schedule_period_seconds)
    run = _Run.start(ports, policy, now, budget, run_id, routing or Routing())
    names = [account.id for account in checks.accounts]
    # The digest's own item comes with the accounts' (one key more in the same read): a digest SNS
    # refused past the digest run's retries is delivered by the next hourly run, not next week.
    states_read = _StatesRead(functools.partial(ports.state.load, [*names, DIGEST_KEY]), budget)
    both: list[Callable[[], object]] = [
        states_read,  # read while the balances are fetched
        functools.partial(
            run_checks, checks, ports.keys, ports.http, budget.checks_end, turn, states_read.last_checked
        ),
    ]
    loaded, fetched = run_until(both, budget.run_end, max_workers=2, name="read")
    results: list[CheckResult] = fetched if isinstance(fetched, list) else []
    if len(results) != len(checks.accounts):  # run_checks reports failures per provider, in time
        if isinstance(fetched, Unfinished):  # our own run overran (e.g. starved of CPU): no provider failed
            why = "the checks did not finish before the run's deadline (the function itself was too slow)"
            results = [CheckResult(a.id, a.threshold, not_checked=why) for a in checks.accounts]
        else:  # a bug: visible, as every account's failure
            error = CheckError(FailureKind.HTTP, f"the checks failed: unexpected {type(fetched).__name__}")
            results = [CheckResult(a.id, a.threshold, error=error) for a in checks.accounts]
    states: dict[str, AccountState | StateError]
    marker: AccountState | StateError | None = None
    if isinstance(loaded, dict):
        states = dict(loaded)
        marker = states.pop(DIGEST_KEY, None)
    else:
        problem = (
            loaded if isinstance(loaded, StateError) else StateError(f"alert state unreadable: {loaded!r}")
        )
        if isinstance(loaded, Unfinished):
            problem = StateError("the alert state could not be read before the run's deadline")
        states = dict.fromkeys(names, problem)
    claims = run.decide_all(checks.accounts, results, states)  # 2. decide, enqueue, lease
    leased = [Item(claim.report.account, pending) for claim in claims.values() for pending in claim.leased]
    failing = _failing(claims, policy)
    ready, _ = hold(leased, checks.accounts, failing)  # 3. wait (held ones stay pending), inhibit, group ...
    context = MessageContext(policy.schedule_timezone, dashboard_url)
    outboxes = {name: claim.state.outbox for name, claim in claims.items() if claim.state is not None}
    plan = run.plan(ready, checks.accounts, failing, context, outboxes)  # ... per receiver, split to its size
    run.send_all(plan, claims)  # 4. send
    run.record_all(claims)  # 5. record
    report = RunReport([claim.report for claim in claims.values()])
    if isinstance(marker, AccountState) and marker.outbox:  # 6. a digest its own run left pending
        try:  # leased, never queued: only the digest schedule starts a week's digest
            digest = run.update(DIGEST_KEY, marker, run.lease_pending(lambda state: state))
            report.digest = run.deliver_digest(
                digest, rows(checks.accounts, states, now), context, DigestReport()
            )
        except (StateError, OutOfTime) as exc:
            report.digest = DigestReport(problems=[exc])
    return report


def send_digest(
    checks: CheckSettings,
    policy: AlertPolicy,
    ports: Ports,
    clock: Callable[[], datetime],
    budget: Budget,
    run_id: str | None = None,
    scheduled_at: datetime | None = None,
    dashboard_url: str = "",
) -> DigestReport:
    """The weekly digest, through its own outbox (the state item DIGEST_KEY): queue this week's,
    unless it already was, in one conditional write with its lease; publish it with its week's id;
    record it. A kill or a refusal leaves it pending for the next digest run or Lambda's retry;
    a new week's digest replaces an older one never delivered, and says so as a problem."""
    now = clock()
    context = MessageContext(policy.schedule_timezone, dashboard_url)
    week = week_of(scheduled_at or now, context)
    week_start = datetime.combine(week, datetime.min.time(), tzinfo=policy.schedule_timezone)
    run = _Run.start(ports, policy, now, budget, run_id)
    try:
        states = ports.state.load([*(account.id for account in checks.accounts), DIGEST_KEY])
    except StateError as exc:
        return DigestReport(problems=[exc])
    marker = states.pop(DIGEST_KEY)
    if isinstance(marker, Exception):
        return DigestReport(problems=[marker])

    replaced: list[Pending] = []

    def claim(state: AccountState) -> AccountState:
        replaced[:] = []
        if state.notified_at is None or state.notified_at < week_start:
            replaced[:] = state.outbox
            pending = Pending(digest_id(week), Notification(Kind.DIGEST, DIGEST_KEY, Level.OK), now)
            state = replace(state, outbox=(pending,), notified_at=week_start)
        return state

    try:
        state = run.update(DIGEST_KEY, marker, run.lease_pending(claim))
    except (StateError, OutOfTime) as exc:
        return DigestReport(problems=[exc])
    report = DigestReport(
        problems=[  # an older week's, never accepted: given up, never silently
            DeliveryError(
                f"gave up on the digest {old.id}: SNS did not accept it before the next week's replaced it"
            )
            for old in replaced
        ]
    )
    return run.deliver_digest(state, rows(checks.accounts, states, now), context, report)


@dataclass(frozen=True)
class Answer:
    """What one receiver did with the test message: accepted it (and what it said, its id for it
    when it gave one), or refused it (why). Never a secret: receivers are named by their ids."""

    receiver: str
    accepted: str | None = None
    refused: str | None = None

    @classmethod
    def of(cls, receiver: str, delivery: Delivery) -> Answer:
        if delivery.ok:
            return cls(receiver, accepted=delivery.ack or delivery.detail)
        return cls(receiver, refused=delivery.detail)

    def as_json(self) -> dict[str, str]:
        outcome = (
            {"accepted": self.accepted} if self.accepted is not None else {"refused": self.refused or ""}
        )
        return {"receiver": self.receiver} | outcome

    @classmethod
    def from_json(cls, item: object) -> Answer | None:
        """An answer as `as_json` wrote it (the CLI reads the function's reply); None otherwise."""
        if not isinstance(item, dict) or not isinstance(item.get("receiver"), str):
            return None
        if isinstance(item.get("accepted"), str):
            return cls(item["receiver"], accepted=item["accepted"])
        if isinstance(item.get("refused"), str):
            return cls(item["receiver"], refused=item["refused"])
        return None


TEST_ALERT = "test-alert"
"""The event's `trigger` that has the function send a test alert, and its reply's key."""


def send_test_alert(
    receivers: Mapping[str, Receiver], clock: Callable[[], datetime], budget: Budget, context: MessageContext
) -> list[Answer]:
    """One message marked as a test, to every receiver at once, each by the run's end: what each
    accepted or refused, in order. Nothing is recorded: a test is sent once, never retried, and
    no account's state changes. One receiver's failure never hides another's answer."""
    message = render_test_alert(clock(), context)
    names = list(receivers)
    tasks = [functools.partial(receivers[name].deliver, message, budget.run_end) for name in names]
    outcomes = run_until(tasks, budget.run_end, max_workers=max(1, len(tasks)), name="test-alert")
    answers = []
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, Delivery):
            answers.append(Answer.of(name, outcome))
        elif isinstance(outcome, Unfinished):
            answers.append(Answer(name, refused="no answer before the function's deadline"))
        else:  # a bug: visible, and about this receiver alone
            answers.append(Answer(name, refused=f"unexpected {type(outcome).__name__}"))
    return answers


def _recorded(
    state: AccountState, delivered: Collection[str], refusals: Collection[str], now: datetime
) -> AccountState:
    return refused(settle(state, delivered=delivered), refusals, now)[0]


@dataclass
class _Claim:
    """One account between deciding and recording: its report, its state as written (None when it
    could not be), and what this run's messages did with its notifications."""

    report: AccountReport
    state: AccountState | None
    leased: list[Pending] = field(default_factory=list)
    delivered: dict[str, set[str]] = field(default_factory=dict)
    """By notification id, the receivers that accepted it this run."""
    refusals: dict[str, set[str]] = field(default_factory=dict)
    """By notification id, the receivers that refused it (or asked to wait) this run."""
    errors: dict[str, str] = field(default_factory=dict)
    """By notification id, what the last refusal said."""
    pending: dict[str, Pending] = field(default_factory=dict)
    """The notifications delivered, by id, to say what a lost record sends again."""


@dataclass
class _Sending:
    """One receiver's messages of the run (or why it has none it can be sent)."""

    receiver_id: str
    receiver: Receiver | None
    messages: list[tuple[Group, RenderedMessage]]
    problem: Exception | None = None


@dataclass
class _Deciding:
    """One account decided in memory and not yet recorded: `claim` decides again on a state read
    after a lost race; `write` is the decided state (None when nothing changed)."""

    report: AccountReport
    loaded: AccountState
    claim: Callable[[AccountState], AccountState]
    decided: list[Decision]
    write: StateWrite | None


class _StatesRead:
    """The state read, run while the balances are fetched. The checks may ask it when each account
    was last checked, to pick the turns of accounts sharing a key (ratelimit.py): they wait for it
    then, TURNS_WAIT_SECONDS at most, and take turns by run number without it."""

    def __init__(self, load: Callable[[], dict[str, AccountState | StateError]], budget: Budget) -> None:
        self._load, self._budget = load, budget
        self._done = threading.Event()
        self._states: dict[str, AccountState | StateError] | None = None

    def __call__(self) -> dict[str, AccountState | StateError]:
        try:
            self._states = self._load()
            return self._states
        finally:
            self._done.set()

    def last_checked(self) -> dict[str, datetime | None] | None:
        left = self._budget.checks_end - MIN_SECONDS_FOR_A_REQUEST - self._budget.clock()
        if not self._done.wait(timeout=max(0.0, min(TURNS_WAIT_SECONDS, left))) or self._states is None:
            return None
        return {
            name: state.checked_at for name, state in self._states.items() if isinstance(state, AccountState)
        }


@dataclass(frozen=True)
class _Run:
    ports: Ports
    policy: AlertPolicy
    now: datetime
    run_id: str
    lease_until: datetime
    budget: Budget
    routing: Routing = field(default_factory=Routing)

    @classmethod
    def start(
        cls,
        ports: Ports,
        policy: AlertPolicy,
        now: datetime,
        budget: Budget,
        run_id: str | None,
        routing: Routing | None = None,
    ) -> _Run:
        """A run's leases end when Lambda would have killed it anyway: at its budget's end, plus the
        margin kept for the metrics and summary."""
        lease_until = now + timedelta(seconds=budget.remaining() + SAFETY_MARGIN_SECONDS)
        return cls(
            ports, policy, now, run_id or uuid.uuid4().hex[:12], lease_until, budget, routing or Routing()
        )

    def decide_all(
        self,
        accounts: Sequence[Account],
        results: Sequence[CheckResult],
        states: dict[str, AccountState | StateError],
    ) -> dict[str, _Claim]:
        """Decide every account in memory, write the changed states together (put_many), then
        give each account the batch did not write its own write, with a re-read on a lost race."""
        claims: dict[str, _Claim] = {}
        deciding: list[_Deciding] = []
        for account, result in zip(accounts, results, strict=True):
            if self.budget.remaining() <= 0:
                claims[account.id] = _undecided(account, result, "ran out of time")
                continue
            try:
                outcome = self.decide(account, result, states[account.id])
            except Exception as exc:  # one account's bug is that account's problem, not the run's
                claims[account.id] = _undecided(account, result, f"failed: {exc!r}")
                continue
            if isinstance(outcome, _Claim):
                claims[account.id] = outcome
            else:
                deciding.append(outcome)
        written = self.write_together([d.write for d in deciding if d.write is not None])
        alone = [d for d in deciding if d.write is not None and not written.get(d.report.name)]
        outcomes = run_until(
            [functools.partial(self.write_alone, d) for d in alone],
            self.budget.run_end,
            max_workers=MAX_CONCURRENT_ACCOUNTS,
            name="decide",
        )
        by_name = {d.report.name: outcome for d, outcome in zip(alone, outcomes, strict=True)}
        for d in deciding:
            name = d.report.name
            if d.write is None:
                claims[name] = self.claimed(d, d.loaded)
            elif written.get(name):
                claims[name] = self.claimed(d, d.write.state)
            elif isinstance(alone_outcome := by_name[name], _Claim):
                claims[name] = alone_outcome
            else:
                why = (
                    "ran out of time"
                    if isinstance(alone_outcome, Unfinished)
                    else f"failed: {alone_outcome!r}"
                )
                claims[name] = _undecided(d.report.account, d.report.result, why)
        return claims

    def write_together(self, writes: Sequence[StateWrite]) -> dict[str, bool]:
        """The changed states in batches, while an AWS call still fits in the budget."""
        written: dict[str, bool] = {}
        for start in range(0, len(writes), STATE_BATCH):
            if not self.budget.allows_aws_call():
                break  # the rest is written alone, which reports each as out of time
            batch = writes[start : start + STATE_BATCH]
            try:
                written.update(self.ports.state.put_many(batch))
            except Exception:  # a bug in one account's write: each is written alone, its failure its own
                written.update((write.account, False) for write in batch)
        return written

    def plan(
        self,
        items: Sequence[Item],
        accounts: Sequence[Account],
        failing: Failings,
        context: MessageContext,
        outboxes: Mapping[str, Sequence[Pending]] | None = None,
    ) -> list[_Sending]:
        """What each receiver is sent: the items it still owes, grouped among the accounts it hears
        about (so that an outage is one message per route, naming only that route's accounts), each
        group split to the receiver's size. Receivers in the order of their first item. The end of an
        incident waits, at a receiver still owed a notice of it, for that notice (`outbox.waits`:
        `outboxes`, each account's)."""
        heard: dict[str, dict[str, Account]] = defaultdict(dict)
        for account in accounts:
            for receiver_id in self.routing.receivers_for(account):
                heard[receiver_id][account.id] = account
        owed: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            outbox = (outboxes or {}).get(item.account.id, ())
            for receiver_id in sorted(item.pending.owed - waits(outbox, item.pending)):
                owed[receiver_id].append(item)
                # the end of an incident it was told of, about an account it hears of no more
                heard[receiver_id].setdefault(item.account.id, item.account)
        try:
            receivers = self.ports.receivers.receivers(self.routing) if owed else {}
        except Exception as exc:
            problem = DeliveryError(
                f"no receiver could be set up ({exc!r}); every notification stays pending"
            )
            return [_Sending(receiver_id, None, [], problem) for receiver_id in owed]
        plan = []
        for receiver_id, receiver_items in owed.items():
            receiver = receivers.get(receiver_id)
            groups = group(receiver_items, list(heard[receiver_id].values()), self.policy.group_by, failing)
            fits = receiver.fits if receiver is not None else None
            messages = [part for whole in groups for part in render_group(whole, context, fits)]
            plan.append(_Sending(receiver_id, receiver, messages))
        return plan

    def send_all(self, plan: Sequence[_Sending], claims: dict[str, _Claim]) -> None:
        """Each receiver's messages in order (its oldest news first, a recovery after its failure);
        receivers side by side, and the stack's topic's messages side by side too (SNS orders
        nothing anyway). The stack's topic starts first; the routes' receivers follow in an order
        that turns every hour (`_turned`), so that receivers hanging past MAX_CONCURRENT_DELIVERIES
        never hold the same others back at every run."""
        tasks: list[Callable[[], list[Delivery | OutOfTime]]] = []
        sent: list[tuple[_Sending, list[tuple[Group, RenderedMessage]]]] = []
        for sending in _turned(plan, self.now):
            if sending.problem is not None or sending.receiver is None:
                first = next((claims[m[0].items[0].account.id].report for m in sending.messages), None)
                problem = sending.problem or DeliveryError(f"{sending.receiver_id}: no such receiver")
                if first is not None:
                    first.problems.append(problem)
                continue
            batches = [[m] for m in sending.messages] if sending.receiver_id == TOPIC else [sending.messages]
            for batch in batches:
                tasks.append(
                    functools.partial(self.deliver_in_order, sending.receiver, [m for _, m in batch])
                )
                sent.append((sending, batch))
        outcomes = run_until(tasks, self.budget.run_end, max_workers=MAX_CONCURRENT_DELIVERIES, name="send")
        for (sending, batch), outcome in zip(sent, outcomes, strict=True):
            answers: Sequence[object] = outcome if isinstance(outcome, list) else [outcome] * len(batch)
            for (part, _), answer in zip(batch, answers, strict=True):
                self.sent_or_not(sending.receiver_id, part, answer, claims)

    def deliver_in_order(
        self, receiver: Receiver, messages: Sequence[RenderedMessage]
    ) -> list[Delivery | OutOfTime]:
        """Deliver one after the other while the budget allows the delivery and the write recording
        it; after a receiver asks to wait (RETRY_LATER), the rest wait for the next run."""
        answers: list[Delivery | OutOfTime] = []
        for message in messages:
            waiting = (
                answers and isinstance(answers[-1], Delivery) and answers[-1].outcome is Outcome.RETRY_LATER
            )
            if waiting or not self.budget.allows_aws_call(calls=2):
                why = "the receiver asked to wait" if waiting else "no time left in this run"
                answers.append(OutOfTime(f"{len(message.notifications)} notification(s) left pending: {why}"))
                continue
            answers.append(receiver.deliver(message, self.budget.run_end))
        return answers

    def record_all(self, claims: dict[str, _Claim]) -> None:
        outcomes = run_until(
            [functools.partial(self.record, claim) for claim in claims.values()],
            self.budget.run_end,
            max_workers=MAX_CONCURRENT_ACCOUNTS,
            name="record",
        )
        for claim, outcome in zip(claims.values(), outcomes, strict=True):
            if outcome is not None and claim.delivered:
                why = "ran out of time" if isinstance(outcome, Unfinished) else repr(outcome)
                claim.report.problems.append(_unrecorded(claim, why))

    def decide(
        self, account: Account, result: CheckResult, loaded: AccountState | StateError
    ) -> _Claim | _Deciding:
        """Decide on the check and lease what is pending, in memory: the state to write, if it
        changed, is `write`, conditional on the version read."""
        report = AccountReport(account, result)
        if isinstance(loaded, Exception):
            report.problems.append(loaded)
            return _Claim(report, None)
        decided: list[Decision] = []

        rules = account.rules(self.policy.spike)

        def claim(state: AccountState) -> AccountState:
            decision = decide(state, result, self.now, account.levels, self.policy, rules)
            queued, dropped = enqueue(decision.state, decision.notifications, self.run_id, self.now)
            decided[:] = [decision]
            report.problems[:] = [_dropped(account.id, note) for note in dropped]
            report.dropped = len(dropped)
            report.warnings[:] = decision.warnings
            if decision.future_checked_at is not None:
                report.problems.append(_from_the_future(account.id, decision.future_checked_at, self.now))
            return lease(queued, self.run_id, self.now, self.lease_until, due)

        due = functools.partial(self.routing.due, account)
        changed = claim(loaded)
        write = None
        if changed != loaded:
            write = StateWrite(account.id, replace(changed, version=loaded.version + 1), loaded.version)
        return _Deciding(report, loaded, claim, decided, write)

    def write_alone(self, deciding: _Deciding) -> _Claim:
        """The account's own conditional write, re-deciding on a lost race (update)."""
        try:
            state = self.update(deciding.report.name, deciding.loaded, deciding.claim)
        except (StateError, OutOfTime) as exc:
            deciding.report.problems.append(exc)
            return _Claim(deciding.report, None)
        return self.claimed(deciding, state)

    def claimed(self, deciding: _Deciding, state: AccountState) -> _Claim:
        """The claim of an account whose decided `state` is recorded."""
        report, decided = deciding.report, deciding.decided
        report.level, report.forecast = state.level, decided[0].forecast if decided else None
        report.lasts = decided[0].lasts if decided else False
        report.snoozed_until = state.snoozed_until if state.snoozed(self.now) else None
        report.pending = len(state.outbox)
        return _Claim(report, state, leased_by(state, self.run_id))

    def deliver_digest(
        self, state: AccountState, found: Sequence[Row], context: MessageContext, report: DigestReport
    ) -> DigestReport:
        """Publish each digest of the item's outbox this run leased, with its week's id, and record
        it (or count its refusal) in one conditional write each."""
        for pending in leased_by(state, self.run_id):
            week = week_of(state.notified_at or pending.created_at, context)
            message = render_digest(found, week, self.now, context, pending.id)
            delivered: set[str] = set()
            refusals: list[str] = []
            try:
                self.send(message)
                delivered.add(pending.id)
                report.sent = pending.id
            except (DeliveryError, OutOfTime) as exc:
                report.problems.append(exc)
                refusals += [pending.id] if isinstance(exc, DeliveryError) else []
            except Exception as exc:  # no receiver could be set up: stays pending for the next run
                report.problems.append(DeliveryError(f"the digest {pending.id} was not sent ({exc!r})"))
            try:
                change = functools.partial(_recorded, delivered=delivered, refusals=refusals, now=self.now)
                state = self.update(DIGEST_KEY, state, change)
            except (StateError, OutOfTime) as exc:
                if delivered:
                    report.problems.append(
                        StateError(
                            f"the digest {pending.id} was sent but not recorded ({exc}); it may come again"
                        )
                    )
                continue
            if refusals and all(item.id != pending.id for item in state.outbox):
                report.problems.append(
                    DeliveryError(f"gave up on the digest {pending.id} after {MAX_ATTEMPTS} refusals")
                )
        return report

    def lease_pending(
        self, claim: Callable[[AccountState], AccountState]
    ) -> Callable[[AccountState], AccountState]:
        """`claim`, then a lease for this run on what the item holds pending and no live run holds."""
        return lambda state: lease(claim(state), self.run_id, self.now, self.lease_until)

    def send(self, message: RenderedMessage) -> str:
        """Deliver the digest to the stack's topic, if the writes recording it still fit in the
        budget; its id for the message, or DeliveryError saying why not."""
        if not self.budget.allows_aws_call(calls=2):  # the publish, and the writes recording it
            raise OutOfTime(f"{len(message.notifications)} notification(s) left pending for the next run")
        topic = self.ports.receivers.receivers(self.routing)[TOPIC]
        delivery = topic.deliver(message, self.budget.run_end)
        if not delivery.ok:
            raise DeliveryError(f"the stack's topic {delivery.outcome}: {delivery.detail}")
        return delivery.ack or ""

    def sent_or_not(self, receiver_id: str, part: Group, outcome: object, claims: dict[str, _Claim]) -> None:
        """Note what `receiver_id` did with each notification of `part` in its account's claim;
        the group's problem is reported once, on its first account."""
        first = claims[part.items[0].account.id].report
        if isinstance(outcome, Delivery):
            accepted = set(outcome.accepted)
            for item in part.items:
                claim = claims[item.account.id]
                if item.pending.id in accepted:
                    if item.pending.id not in claim.delivered:  # listed once, however many took it
                        claim.report.sent.append(item.pending.note.kind.value)
                    claim.delivered.setdefault(item.pending.id, set()).add(receiver_id)
                    claim.pending[item.pending.id] = item.pending
                elif outcome.outcome is not Outcome.ACCEPTED or accepted:
                    claim.refusals.setdefault(item.pending.id, set()).add(receiver_id)
                    claim.errors[item.pending.id] = outcome.detail
            if outcome.outcome is not Outcome.ACCEPTED:
                how = "refused" if outcome.outcome is Outcome.REFUSED else "did not take (yet)"
                first.problems.append(
                    DeliveryError(
                        f"{', '.join(part.accounts)}: {_named(receiver_id)} {how} the {part.kind.value}"
                        f" message ({outcome.detail}); it stays pending"
                    )
                )
        elif isinstance(outcome, OutOfTime):
            first.problems.append(OutOfTime(f"{', '.join(part.accounts)}: {_named(receiver_id)}: {outcome}"))
        else:
            why = (
                "did not finish before the run's deadline"
                if isinstance(outcome, Unfinished)
                else repr(outcome)
            )
            first.problems.append(
                DeliveryError(
                    f"{', '.join(part.accounts)}: the {part.kind.value} message to {receiver_id} {why};"
                    " it stays pending"
                )
            )

    def record(self, claim: _Claim) -> None:
        """One conditional write: what receivers accepted is recorded (a notification no receiver
        owes any more leaves the outbox), each refusal is counted and its lease given back (Lambda's
        retry need not wait for it); what was refused too often is given up, with an error each."""
        if claim.state is None or not (claim.delivered or claim.refusals):
            return
        report, name = claim.report, claim.report.name
        given_up: list[Pending] = []

        def change(current: AccountState) -> AccountState:
            changed, given_up[:] = refused(
                settle(current, delivered=claim.delivered, sent_at=self.now), claim.refusals, self.now
            )
            return changed

        try:
            state = self.update(name, claim.state, change)
        except (StateError, OutOfTime) as exc:
            if claim.delivered:
                report.problems.append(_unrecorded(claim, str(exc)))
            return  # refusals uncounted this time; the leases run out by themselves at this run's deadline
        for pending in given_up:
            report.problems.append(_given_up(name, pending, claim.errors.get(pending.id, "refused")))
        report.dropped += len(given_up)
        report.pending = len(state.outbox)

    def update(
        self, name: str, current: AccountState, change: Callable[[AccountState], AccountState]
    ) -> AccountState:
        """Apply `change` with a conditional write; on a lost race, re-read and apply it again."""
        state = current
        for _ in range(WRITE_ATTEMPTS):
            changed = change(state)
            if changed == state:
                return state
            if not self.budget.allows_aws_call():
                raise OutOfTime(f"{name}: no time left to record the alert state")
            written = replace(changed, version=state.version + 1)
            if self.ports.state.put(name, written, expected_version=state.version):
                return written
            if not self.budget.allows_aws_call():
                raise OutOfTime(f"{name}: no time left to re-read the alert state after a lost race")
            reread = self.ports.state.load([name])[name]  # someone else won: decide again on theirs
            if isinstance(reread, Exception):
                raise reread
            state = reread
        raise StateError(f"alert state for {name} kept changing under us ({WRITE_ATTEMPTS} attempts)")


def _turned(plan: Sequence[_Sending], now: datetime) -> list[_Sending]:
    """The stack's topic first, then the routes' receivers from a place that moves on by one every
    hour: each is among the first MAX_CONCURRENT_DELIVERIES within len(plan) hours, however many
    hang before it."""
    topic = [sending for sending in plan if sending.receiver_id == TOPIC]
    routes = [sending for sending in plan if sending.receiver_id != TOPIC]
    if not routes:
        return topic
    start = int(now.timestamp() // 3600) % len(routes)
    return topic + routes[start:] + routes[:start]


def _failing(claims: dict[str, _Claim], policy: AlertPolicy) -> Failings:
    """This run's failed checks, with how far each account is from its CHECK FAILING, as decided."""
    return {
        name: Failing(
            claim.report.result.error.kind, policy.failures_before_alert - claim.state.consecutive_failures
        )
        for name, claim in claims.items()
        if claim.report.result.error is not None and claim.state is not None
    }


def _undecided(account: Account, result: CheckResult, why: str) -> _Claim:
    """The claim of an account whose decision was not made or not written: its problem says why."""
    return _Claim(
        AccountReport(account, result, problems=[StateError(f"{account.id}: deciding {why}")]), None
    )


def _named(receiver_id: str) -> str:
    """A receiver as problems name it: "the stack's topic", or its id ("acme/slack:acme-slack")."""
    return "the stack's topic" if receiver_id == TOPIC else receiver_id


def _unrecorded(claim: _Claim, why: str) -> StateError:
    kinds = ", ".join(dict.fromkeys(pending.note.kind.value for pending in claim.pending.values()))
    return StateError(
        f"{claim.report.name}: {kinds} was sent but not recorded ({why}); the next run sends it again"
        f" with the same notification_id {', '.join(claim.delivered)}"
    )


def _from_the_future(name: str, checked_at: datetime, now: datetime) -> StateError:
    return StateError(
        f"{name}: the alert state records a time, {checked_at.isoformat()}, after this run's"
        f" start ({now.isoformat()}): a clock ahead or a restored item; this run's check was decided"
        " on and recorded as the newest"
    )


def _given_up(name: str, pending: Pending, last: str) -> DeliveryError:
    never = f"; {', '.join(sorted(pending.owed))} never had it" if pending.owed else ""
    return DeliveryError(
        f"{name}: gave up on the {pending.note.kind.value} notification of {pending.created_at.isoformat()}"
        f" after {pending.attempts} refused attempts ({last}){never}; notification_id {pending.id}"
    )


def _dropped(name: str, pending: Pending) -> DeliveryError:
    note = pending.note
    return DeliveryError(
        f"{name}: the outbox is full; dropped the undelivered {note.kind.value} notification"
        f" of {pending.created_at.isoformat()}"
    )
