"""Realistic balance traces, and their replay through the real decision code (`alerting.decide`).

Used by `make forecast-bench` (scripts/forecast_bench.py) and by the unit tests that hold the
forecast to its targets. A trace is an hourly series of credits used, refills (top-ups, renewals)
and the spikes in it; its truth (when the balance really runs out, were nothing added) comes from
the future of the trace itself, never from the forecast.

Families, each with seeded variants:
- steady: a burn around the clock, with hourly noise;
- weekday: office hours on weekdays only (9:00 to 18:00, Monday to Friday), none at night or at weekends;
- ramp: a burn around the clock that grows steadily (a campaign being rolled out);
- step-up, step-down: a steady burn that becomes 3 times faster, or 3 times slower;
- burst-start: a quiet month, then an automation burning the balance within a day;
- spike: a steady burn, then a spike of 60 days' use in one hour, then the same steady burn;
- weekly-job: a steady burn and a job of two days' use at the same hour every week, first seen once
  the history spans a few days;
- refunds: a steady burn with credits refunded now and then, and the balance rounded to whole credits;
- flat: no use at all, but refunds and corrections of a credit or two;
- quota: a monthly plan renewed on the 1st, used at 75 to 92 % of its quota (it lasts);
- quota-short: the same plan used at 120 to 160 % of its quota (it runs dry before the renewal);
- quota-late: a plan that lasts, which its vendor refills 2 to 10 hours after the declared renewal;
- prepaid: a steady burn topped up (to the pack size) a day or two after it falls below its level.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from credit_monitor.alerting import AccountState, AlertPolicy, Kind, Levels, Rules, decide
from credit_monitor.forecast import DEFAULT_SPIKE_RULE, SpikeRule
from credit_monitor.model import Balance, CheckResult
from credit_monitor.renewal import Renewal

HOUR = timedelta(hours=1)
START = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday
SETTLE_RUNS = 3
"""The days left are held to the truth from the third hourly run after a change of pace on."""
WARNINGS = (Kind.LOW, Kind.REMINDER, Kind.RUNNING_OUT, Kind.SPENDING_FAST)
"""What counts as a warning: every kind that tells of credits going."""


@dataclass
class Trace:
    family: str
    seed: int
    start_balance: float
    used: list[float]
    """Credits used in each hour (hour i runs from START + i h to START + (i + 1) h)."""
    added: dict[int, float] = field(default_factory=dict)
    """Credits added at the end of hour i: a top-up or a renewal."""
    spikes: set[int] = field(default_factory=set)
    """Hours that are a spike (or the start of a burst): SPENDING FAST is right within 2 hours of one."""
    renewal: Renewal | None = None
    warning: float = 0.0
    changed_at: int = 0
    """The hour from which the depletion could be known (the trace's change of pace, or its start)."""
    sustained: bool = True
    """A burn that should be warned of ahead (lead time counts): False for flat, lasting quotas and spikes."""
    rounding: bool = False

    @property
    def hours(self) -> int:
        return len(self.used)

    def balances(self) -> list[float]:
        """The balance seen at the end of each hour (what the hourly check reads)."""
        balance, out = self.start_balance, []
        for hour, used in enumerate(self.used):
            balance = max(0.0, balance - used) + self.added.get(hour, 0.0)
            out.append(float(round(balance)) if self.rounding else balance)
        return out

    def runway_hours(self, hour: int, balance: float, limit: float = math.inf) -> float:
        """Hours from the end of `hour` until the credits used from then on exceed `balance`,
        nothing being added; past the trace's end, at its last week's average. Infinity when that
        is nothing, or `limit` hours pass first."""
        if balance <= 0:
            return 0.0
        total = 0.0
        end = self.hours if math.isinf(limit) else min(self.hours, hour + 2 + int(limit))
        for later in range(hour + 1, end):
            total += self.used[later]
            if total >= balance:
                return later + 1 - (total - balance) / self.used[later] - (hour + 1)
        if end < self.hours:
            return math.inf
        average = sum(self.used[-7 * 24 :]) / (7 * 24)
        return self.hours - (hour + 1) + (balance - total) / average if average > 0 else math.inf

    def empty_at(self) -> int | None:
        """The first hour whose end sees the balance at 0, if it ever is."""
        for hour, balance in enumerate(self.balances()):
            if balance <= 0:
                return hour
        return None


def _noise(rng: random.Random, mean: float) -> float:
    """An hour's use around `mean`: never negative, spread like real jobs (gamma, CV about 0.3)."""
    return rng.gammavariate(11.0, mean / 11.0) if mean > 0 else 0.0


def steady(seed: int) -> Trace:
    rng = random.Random(seed)
    per_day = rng.choice([50, 200, 1000, 5000])
    days = 42
    runway = rng.uniform(18, 30)
    used = [_noise(rng, per_day / 24) for _ in range(days * 24)]
    return Trace("steady", seed, per_day * runway, used, warning=per_day * 2)


def weekday(seed: int, holidays: frozenset[int] = frozenset()) -> Trace:
    """`holidays`: days (from START) the office is closed, a long weekend's Friday or Monday."""
    rng = random.Random(seed)
    per_day = rng.choice([100, 400, 2000])  # on a working day
    used = []
    for hour in range(49 * 24):
        moment = START + hour * HOUR
        working = moment.weekday() < 5 and 9 <= moment.hour < 18 and hour // 24 not in holidays
        used.append(_noise(rng, per_day / 9) if working else 0.0)
    weekly = per_day * 5
    return Trace("weekday", seed, weekly * rng.uniform(4, 6), used, warning=per_day)


def ramp(seed: int) -> Trace:
    rng = random.Random(seed)
    first = rng.choice([100, 500, 2000])
    growth = rng.uniform(0.03, 0.06)  # per day
    used = [_noise(rng, first * (1 + growth * hour / 24) / 24) for hour in range(42 * 24)]
    start = sum(used) * rng.uniform(0.55, 0.8)
    return Trace("ramp", seed, start, used, warning=first)


def step(seed: int, factor: float) -> Trace:
    rng = random.Random(seed)
    before = rng.choice([100, 500, 2000])
    at = rng.randrange(14 * 24, 18 * 24)
    after = before * factor
    used = [_noise(rng, (before if hour < at else after) / 24) for hour in range(60 * 24)]
    if factor > 1:  # runs out 3 to 12 days after the change
        start = sum(used[:at]) + after * rng.uniform(3, 12)
    else:  # runs out 10 to 20 days after it
        start = sum(used[:at]) + after * rng.uniform(10, 20)
    family = "step-up" if factor > 1 else "step-down"
    return Trace(family, seed, start, used, warning=before, changed_at=at)


def burst_start(seed: int) -> Trace:
    rng = random.Random(seed)
    at = rng.randrange(29 * 24, 30 * 24)
    balance = rng.choice([5000, 20000, 100000])
    per_hour = balance / rng.uniform(12, 40)
    used = [0.0 if hour < at else _noise(rng, per_hour) for hour in range(at + 60)]
    return Trace(
        "burst-start", seed, balance, used, warning=balance * 0.05, changed_at=at, spikes={at}, rounding=True
    )


def spike(seed: int) -> Trace:
    rng = random.Random(seed)
    per_day = rng.choice([100, 300, 1000])
    at = rng.randrange(20 * 24, 22 * 24)
    used = [_noise(rng, per_day / 24) for _ in range(45 * 24)]
    used[at] = per_day * 60
    start = per_day * 60 + per_day * rng.uniform(80, 120)  # it lasts long after
    return Trace("spike", seed, start, used, warning=per_day * 5, spikes={at}, sustained=False)


def weekly_job(seed: int) -> Trace:
    """A steady burn, and a job of two days' use at the same hour every week, first seen once the
    history spans a few days (a spike then: never before, and usual from then on)."""
    rng = random.Random(seed)
    per_day = rng.choice([100, 300, 1000])
    used = [_noise(rng, per_day / 24) for _ in range(45 * 24)]
    first = rng.randrange(3 * 24, 7 * 24)
    for at in range(first, len(used), 7 * 24):
        used[at] += per_day * 2
    start = sum(used) * rng.uniform(1.5, 2.5)  # it lasts
    return Trace("weekly-job", seed, start, used, warning=per_day * 5, spikes={first}, sustained=False)


def refunds(seed: int) -> Trace:
    rng = random.Random(seed)
    per_day = rng.choice([40, 150, 800])
    used = []
    for _ in range(42 * 24):
        hour = _noise(rng, per_day / 24)
        if rng.random() < 0.04:  # a refund: a failed enrichment's credits come back
            hour -= rng.uniform(1, 6) * max(1.0, per_day / 200)
        used.append(hour)
    start = per_day * rng.uniform(18, 30)
    return Trace("refunds", seed, start, used, warning=per_day * 2, rounding=True)


def flat(seed: int) -> Trace:
    rng = random.Random(seed)
    used = [0.0] * (45 * 24)
    for hour in rng.sample(range(len(used)), 20):
        used[hour] = rng.choice([-2.0, -1.0, 1.0, 2.0])  # a correction, a refund
    return Trace(
        "flat", seed, rng.choice([300, 5000, 40000]), used, warning=100, sustained=False, rounding=True
    )


def quota(seed: int, share: float, family: str, late: int = 0) -> Trace:
    """A monthly plan of `quota` credits renewed at 00:00 UTC on the 1st, used at `share` of it;
    `late`: the vendor refills it that many hours after (its own billing hour, its time zone)."""
    rng = random.Random(seed)
    size = rng.choice([2000, 5000, 20000])
    per_hour = size * share / (30 * 24)
    hours = (datetime(2027, 1, 1, tzinfo=UTC) - START) // HOUR + 5 * 24
    used, added = [], {}
    balance = size * (1 - share * 6 / 30)  # 6 days into September
    for hour in range(hours):
        moment = START + (hour + 1) * HOUR
        use = _noise(rng, per_hour)
        used.append(use)
        balance -= use
        if moment.day == 1 and moment.hour == late:  # renewed: the quota, unused credits lost
            added[hour] = size - max(0.0, balance)
            balance = size
    return Trace(
        family,
        seed,
        size * (1 - share * 6 / 30),
        used,
        added=added,
        renewal=Renewal("month", day=1),
        warning=size * 0.1,
        sustained=share > 1,
        rounding=True,
    )


def prepaid(seed: int) -> Trace:
    rng = random.Random(seed)
    per_day = rng.choice([100, 400, 2000])
    pack = per_day * rng.uniform(12, 25)
    warning = per_day * 3
    used, added, balance, waiting = [], {}, pack, None
    for hour in range(75 * 24):
        use = _noise(rng, per_day / 24)
        used.append(use)
        balance = max(0.0, balance - use)
        if balance < warning and waiting is None:
            waiting = hour + rng.randrange(12, 48)  # someone buys a pack a day or two later
        if waiting is not None and hour >= waiting:
            added[hour] = pack - balance
            balance, waiting = pack, None
    return Trace("prepaid", seed, pack, used, added=added, warning=warning)


FAMILIES: dict[str, Callable[[int], Trace]] = {
    "steady": steady,
    "weekday": weekday,
    "ramp": ramp,
    "step-up": lambda seed: step(seed, 3.0),
    "step-down": lambda seed: step(seed, 1 / 3),
    "burst-start": burst_start,
    "spike": spike,
    "weekly-job": weekly_job,
    "refunds": refunds,
    "flat": flat,
    "quota": lambda seed: quota(seed, random.Random(seed).uniform(0.75, 0.92), "quota"),
    "quota-short": lambda seed: quota(seed, random.Random(seed).uniform(1.2, 1.6), "quota-short"),
    "quota-late": lambda seed: quota(
        seed, random.Random(seed).uniform(0.75, 0.92), "quota-late", late=random.Random(seed).randint(2, 10)
    ),
    "prepaid": prepaid,
}


@dataclass
class Replay:
    trace: Trace
    sent: list[tuple[int, Kind]] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    """|forecast - truth| / truth (a day at least, so the last hours are not thousands of percent) at
    each run from the third after the trace's change on, while the balance is above 0 and the
    truth under twice MIN_DAYS_LEFT."""
    leads: list[tuple[float, float]] = field(default_factory=list)
    """(lead time, ideal lead time) in hours for each time the balance ran dry."""
    false_alerts: list[tuple[int, Kind]] = field(default_factory=list)
    forecasts: list[float | None] = field(default_factory=list)
    """Days left after each run (None: no forecast)."""


def replay(
    trace: Trace, policy: AlertPolicy | None = None, spike_rule: SpikeRule | None = DEFAULT_SPIKE_RULE
) -> Replay:
    """Every hourly check of the trace through `alerting.decide`, and how each message and forecast
    compares with what really happened."""
    policy = policy or AlertPolicy(min_days_left=7)
    levels = Levels(warning=trace.warning)
    rules = Rules(renewal=trace.renewal, spike=spike_rule)
    state, out = AccountState(), Replay(trace)
    balances = trace.balances()
    horizon = 2 * policy.min_days_left * 24
    dead = False  # ran dry, and nothing added since: its days left say nothing more
    for hour, balance in enumerate(balances):
        dead = (dead or balance <= 0) and hour not in trace.added
        now = START + (hour + 1) * HOUR
        result = CheckResult("bench", trace.warning, balance=Balance(balance))
        decision = decide(state, result, now, levels, policy, rules)
        state = decision.state
        days = decision.forecast.days_left if decision.forecast else None
        out.forecasts.append(days)
        truth = trace.runway_hours(hour, balance, limit=max(horizon, _hours_to_renewal(trace, now)))
        if hour >= trace.changed_at + SETTLE_RUNS and not dead and truth <= horizon and days is not None:
            out.errors.append(abs(days * 24 - truth) / max(truth, 24.0))
        for note in decision.notifications:
            if note.kind in WARNINGS:
                out.sent.append((hour, note.kind))
                if hour >= trace.changed_at and _false(trace, hour, note.kind, truth, policy, balances):
                    out.false_alerts.append((hour, note.kind))
    out.leads = _leads(trace, out.sent, balances, policy)
    return out


def _hours_to_renewal(trace: Trace, now: datetime) -> float:
    return 0.0 if trace.renewal is None else (trace.renewal.next_after(now, UTC) - now) / HOUR


def _false(
    trace: Trace, hour: int, kind: Kind, truth: float, policy: AlertPolicy, balances: Sequence[float]
) -> bool:
    """A warning nobody needed: a spike where there was none, a RUNNING OUT with more than twice
    MIN_DAYS_LEFT really left, or any warning of a renewing plan that lasts until its renewal."""
    if kind is Kind.SPENDING_FAST:
        return not any(abs(hour - at) <= 2 for at in trace.spikes)
    if trace.renewal is not None:
        renews = trace.renewal.next_after(START + (hour + 1) * HOUR, UTC)
        hours_to_renewal = (renews - (START + (hour + 1) * HOUR)) / HOUR
        refill = min((at for at in trace.added if at > hour), default=None)
        if refill is not None and refill - hour < hours_to_renewal:  # the renewal came, refilled late
            hours_to_renewal = refill - hour
        if truth >= hours_to_renewal:
            return True
    if kind is Kind.RUNNING_OUT:
        return truth > 2 * policy.min_days_left * 24
    return False


def _leads(
    trace: Trace, sent: list[tuple[int, Kind]], balances: Sequence[float], policy: AlertPolicy
) -> list[tuple[float, float]]:
    """For each time the balance ran dry: how long before it the first warning came (since the
    previous refill), against the ideal: MIN_DAYS_LEFT, or all the time there was since the trace
    made it knowable."""
    if not trace.sustained:
        return []
    leads, since = [], 0
    for hour, balance in enumerate(balances):
        if hour in trace.added:
            since = hour + 1
        if balance <= 0 and (hour == 0 or balances[hour - 1] > 0):
            knowable = max(since, trace.changed_at, 6)
            ideal = min(policy.min_days_left * 24.0, hour - knowable)
            warned = [at for at, _ in sent if since <= at <= hour]
            lead = float(hour - warned[0]) if warned else 0.0
            if ideal > 0:
                leads.append((lead, ideal))
    return leads


@dataclass(frozen=True)
class Row:
    family: str
    traces: int
    lead_share: float | None
    """Worst lead time over ideal, among the times a balance ran dry (None: none did)."""
    median_error: float | None
    worst_error: float | None
    false_per_month: float
    spikes_told: str


def score(family: str, replays: Sequence[Replay]) -> Row:
    leads = [lead / ideal for r in replays for lead, ideal in r.leads]
    errors = [e for r in replays for e in r.errors]
    months = sum(r.trace.hours for r in replays) / (24 * 30)
    false = sum(len(r.false_alerts) for r in replays)
    spikes = sum(len(r.trace.spikes) for r in replays)
    told = sum(
        1
        for r in replays
        for at in r.trace.spikes
        if any(abs(h - at) <= 2 and k is Kind.SPENDING_FAST for h, k in r.sent)
    )
    return Row(
        family,
        len(replays),
        min(leads) if leads else None,
        statistics.median(errors) if errors else None,
        max(errors) if errors else None,
        false / months,
        f"{told}/{spikes}" if spikes else "-",
    )
