"""How fast an account's credits go, and when they run out. Pure.

The history is every check's balance, thinned (hourly for the last week, daily back to a month),
with a running count of the credits used (`Sample.used`). The count falls with the balance and
gives a refund back, but a top-up, a renewal's refill and a spending spike add nothing to it: the
burn is measured across them, and a spike that stops leaves nothing behind.

The pace is the credits used per day since the pace last changed (`pace_since`), over at most
`STEADY_WINDOW` for an account used around the clock, or `BURSTY_WINDOW` for one used in bursts
(office hours, weekdays), whose nights and weekends must average out. The pace has changed when the
last hours ran faster (or slower) than that pace for longer than the account has in the last month
(`pace_change`): around the clock, two hours of another pace are enough; an account whose nights
are quiet needs a lull longer than its nights, and one quiet at weekends, longer than a weekend.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

MIN_SAMPLES = 3
MIN_SPAN = timedelta(hours=6)
"""A history must span this much before it gives a forecast: a burn in batches (25 credits every six
hours) would otherwise swing a young forecast by days."""
CHANGE_SPAN = timedelta(hours=2)
"""A new pace must have lasted this long (and longer than any run of its kind in the last month)."""
HISTORY_LIMIT = timedelta(days=30)
MAX_SAMPLES = 1000
"""A hard cap on the history, whatever its spacing (DynamoDB items max out at 400 KB)."""
DETAIL_AGE = timedelta(days=8)
"""Samples younger than this keep one per DETAIL_STEP; older ones one per COARSE_STEP. A week and a
day: the usual use (USUAL_WINDOW) sees last week's job hour by hour, even when it came a day late."""
DETAIL_STEP = timedelta(hours=1)
COARSE_STEP = timedelta(days=1)
"""One sample an hour for the last eight days, then one a day back to 30 days: about 192 + 22
samples however often the schedule runs, so the state read, decided on and written each run stays
the same size as the history ages. The week of hours is what tells a weekend from a slowdown."""
STEADY_WINDOW = timedelta(hours=24)
BURSTY_WINDOW = timedelta(days=7)
STEADY_SHARE = 0.75
"""An account that used credits at its pace in at least this share of its last week's hours is used
around the clock; below it, in bursts."""
CHANGE_FACTOR = 1.5
"""An hour is faster than the pace above this many times it, slower below the pace divided by it."""
CHANGE_Z = 5.0
"""... and by this many times the noise of its hours (`_significant`)."""
LUMP_SHARE = 0.5
"""A history younger than a day one of whose intervals used this much more of it all than its share
of the time tells no pace yet (`_lumpy`)."""
SPREAD_HOURS = 24
SPREAD_MIN_HOURS = 6
MIN_CHANGE_CREDITS = 1.0
"""A faster or slower hour differs from the pace by at least one credit: rounding is not a change."""
TOP_UP_MIN_FRACTION = 0.05
"""A rise counts as a top-up only above 5 % of the previous balance (and above the burn since the
last sample): a refunded credit or two must not restart anything."""
USED_DIGITS = 6
"""The count of credits used is kept to a millionth of a credit: float noise does not pile up in it,
and the state stores it exactly (adapters/state.py)."""
DAY = timedelta(days=1)
DAY_S = DAY.total_seconds()
HOUR_S = DETAIL_STEP.total_seconds()


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    balance: float
    used: float = 0.0
    """Credits used up to this sample, counted from any origin: only differences are read."""
    t: float = field(init=False, repr=False, compare=False)
    """`at` in seconds of the epoch: what the arithmetic below runs on (datetime's is slow)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "t", self.at.timestamp())


class ForecastStatus(StrEnum):
    DEPLETING = "depleting"
    NOT_DEPLETING = "not depleting"
    NOT_ENOUGH_HISTORY = "not enough history"


@dataclass(frozen=True)
class Forecast:
    status: ForecastStatus
    burn_per_day: float | None = None
    days_left: float | None = None

    def describe(self) -> str:
        if (
            self.status is ForecastStatus.DEPLETING
            and self.burn_per_day is not None
            and self.days_left is not None
        ):
            return f"burning {self.burn_per_day:,.1f} credits/day, about {self.days_left:,.1f} days left"
        if self.status is ForecastStatus.NOT_DEPLETING:
            return "not depleting (flat or rising balance)"
        return "not enough history for a forecast yet"


def rate(samples: Sequence[Sample], start: int, end: int) -> float:
    """Credits used per day between samples `start` and `end` (indices)."""
    days = (samples[end].t - samples[start].t) / DAY_S
    return (samples[end].used - samples[start].used) / days if days > 0 else 0.0


def is_top_up(
    samples: Sequence[Sample], balance: float, at: datetime, pace_since: datetime | None, level: float = 0.0
) -> bool:
    """A material rise: more than TOP_UP_MIN_FRACTION of the last balance (or of the account's
    warning `level`, when higher: a few credits back on a nearly empty account are a refund) and
    more than the pace's burn over the time since the last sample. Smaller rises (refunds,
    rounding) are given back to the count of credits used."""
    if not samples or balance <= samples[-1].balance:
        return False
    last = samples[-1]
    rise = balance - last.balance
    burn = forecast(samples, pace_since).burn_per_day or 0.0
    burn_since_last = burn * max(0.0, (at - last.at) / DAY)
    return rise > max(TOP_UP_MIN_FRACTION * max(abs(last.balance), level), burn_since_last)


def thin(samples: Iterable[Sample], now: datetime) -> tuple[Sample, ...]:
    """The samples (oldest first) within HISTORY_LIMIT of `now`, keeping the newest of each
    DETAIL_STEP for the last DETAIL_AGE and the newest of each COARSE_STEP before that. The steps
    are fixed slots of the epoch, so thinning again later keeps the same samples; the count of
    credits used is cumulative, so a dropped sample loses nothing of it."""
    oldest = (now - HISTORY_LIMIT).timestamp()
    detail_from = (now - DETAIL_AGE).timestamp()
    detail, coarse = DETAIL_STEP.total_seconds(), COARSE_STEP.total_seconds()
    kept: list[Sample] = []
    slot_of_last: tuple[float, float] | None = None
    for sample in samples:
        at = sample.t
        if at < oldest:
            continue
        step = detail if at > detail_from else coarse
        slot = (step, at // step)
        if slot == slot_of_last:
            kept[-1] = sample  # the newest of its slot stands for it
        else:
            kept.append(sample)
        slot_of_last = slot
    return tuple(kept[-MAX_SAMPLES:])


def counted(samples: Sequence[Sample], at: datetime, balance: float, not_burn: float = 0.0) -> Sample:
    """The next sample: the credits used grow by the fall of the balance since the last sample,
    less the part of that fall that is not burn (`not_burn`: a spike's amount; a top-up's rise,
    as a negative fall)."""
    if not samples:
        return Sample(at, balance, 0.0)
    last = samples[-1]
    return Sample(at, balance, round(last.used + (last.balance - balance) - not_burn, USED_DIGITS))


def window_start(samples: Sequence[Sample], pace_since: datetime | None, around_the_clock: bool) -> int:
    """The first sample the pace is measured from: the pace's start, at most a window back (a day
    around the clock, a week in bursts), but always MIN_SAMPLES samples back when the pace has them
    (a daily schedule's day holds one interval)."""
    last = samples[-1].t
    since = samples[0].t if pace_since is None else max(pace_since.timestamp(), samples[0].t)
    window = (STEADY_WINDOW if around_the_clock else BURSTY_WINDOW).total_seconds()
    first = _index_at(samples, since)
    start = _index_at(samples, max(since, last - window))
    return max(first, min(start, len(samples) - MIN_SAMPLES))


def steady(samples: Sequence[Sample], pace_since: datetime | None = None) -> bool:
    """Used around the clock: over the last week of its pace, at least STEADY_SHARE of the time
    passed in intervals that used credits at that pace (within CHANGE_FACTOR below it). An account
    with no use at all counts as steady, so that a burn starting after a quiet month is seen in
    hours, not days; so does a history too young to tell (under MIN_SPAN)."""
    last = samples[-1].t
    since = samples[0].t if pace_since is None else pace_since.timestamp()
    first = _index_at(samples, max(last - BURSTY_WINDOW.total_seconds(), since))
    span = last - samples[first].t
    if span < MIN_SPAN.total_seconds():
        return True
    total = samples[-1].used - samples[first].used
    if total < MIN_CHANGE_CREDITS:
        return True
    floor = total / span / CHANGE_FACTOR  # credits per second
    active = 0.0
    for i in range(first + 1, len(samples)):
        seconds = samples[i].t - samples[i - 1].t
        if seconds > 0 and samples[i].used - samples[i - 1].used >= floor * seconds:
            active += seconds
    return active >= STEADY_SHARE * span


def _index_at(samples: Sequence[Sample], moment: float) -> int:
    """The sample at or just before `moment` (epoch seconds; the first one when all are after it)."""
    return max(0, bisect_right(samples, moment, key=_seconds) - 1)


def _seconds(sample: Sample) -> float:
    return sample.t


def pace_change(samples: Sequence[Sample], pace_since: datetime | None) -> datetime | None:
    """When the pace changed, if it did: the start of the run of hours, up to the last sample,
    that were all faster (or all slower) than the pace by CHANGE_FACTOR, when that run lasted
    CHANGE_SPAN and longer than any run of its kind in the history before it. None: the pace holds.

    A run of its kind is what the account does anyway: an office's night is a run of slow hours,
    its working day a run of fast ones, a weekend a long slow run. Only something longer than the
    last month has seen is a change."""
    if len(samples) < MIN_SAMPLES:
        return None
    start = window_start(samples, pace_since, steady(samples, pace_since))
    if start >= len(samples) - 1:
        return None
    # The run is judged against the pace before it: a slower run drags the whole window's pace
    # down, and would hide itself.
    pace = rate(samples, start, len(samples) - 1)
    trailing, kind = _trailing_run(samples, pace)
    if kind != 0 and trailing > start and samples[trailing].t - samples[start].t >= MIN_SPAN.total_seconds():
        pace = rate(samples, start, trailing)
        trailing, kind = _trailing_run(samples, pace)
    if kind == 0:
        return None
    run_start = samples[trailing]
    length = samples[-1].t - run_start.t
    if length < CHANGE_SPAN.total_seconds() or (pace_since is not None and run_start.at <= pace_since):
        return None
    if kind > 0 and run_start.t - samples[0].t < DAY_S:
        return None  # an office's first morning after a quiet night: no pace to speed up from yet
    if length <= _longest_run(samples, trailing, pace, kind):
        return None
    return run_start.at if _significant(samples, trailing, pace) else None


def _significant(samples: Sequence[Sample], run: int, pace: float) -> bool:
    """The run's credits differ from the pace's by CHANGE_Z times the noise of the hours before it
    (the spread of up to a day of them, at least SPREAD_MIN_HOURS, scaled to the run's length): a
    burn of jobs of uneven size makes runs of faster hours by chance now and then; a new pace
    makes them by far."""
    rates = [
        (samples[i].used - samples[i - 1].used) / hours
        for i in range(max(1, run - SPREAD_HOURS + 1), run + 1)
        if (hours := (samples[i].t - samples[i - 1].t) / HOUR_S) > 0
    ]
    if len(rates) < SPREAD_MIN_HOURS:
        return False
    spread = statistics.pstdev(rates)
    hours = (samples[-1].t - samples[run].t) / HOUR_S
    differs = abs(samples[-1].used - samples[run].used - pace * hours / 24)
    return differs >= CHANGE_Z * spread * math.sqrt(hours)


def _kind(samples: Sequence[Sample], i: int, pace: float) -> int:
    """+1 if the interval ending at sample i ran faster than `pace`, -1 slower, 0 neither."""
    days = (samples[i].t - samples[i - 1].t) / DAY_S
    if days <= 0:
        return 0
    used = samples[i].used - samples[i - 1].used
    if used < 0:  # a refund is no evidence of a slower burn
        return 0
    expected = pace * days
    if used > expected * CHANGE_FACTOR and used - expected >= MIN_CHANGE_CREDITS:
        return 1
    if used < expected / CHANGE_FACTOR and expected - used >= MIN_CHANGE_CREDITS:
        return -1
    return 0


def _trailing_run(samples: Sequence[Sample], pace: float) -> tuple[int, int]:
    """The index where the run of same-kind intervals ending at the last sample starts, and its kind."""
    end = len(samples) - 1
    kind = _kind(samples, end, pace)
    if kind == 0:
        return end, 0
    i = end
    while i > 1 and _kind(samples, i - 1, pace) == kind:
        i -= 1
    return i - 1, kind


def _longest_run(samples: Sequence[Sample], before: int, pace: float, kind: int) -> float:
    """The longest run (in seconds) of `kind` intervals in the history up to sample `before`, as
    long as it may have been: a run next to a day-long interval (the thinned history, a sparse
    schedule) may have begun or ended anywhere in it, so that interval counts whole. A weekend
    measured between two daily samples is 48 hours; from Friday evening to Monday morning it was 63."""
    longest = 0.0
    run_from: int | None = None
    for i in range(1, before + 1):
        if _kind(samples, i, pace) == kind:
            if run_from is None:
                run_from = i - 1
            start = (
                samples[run_from - 1].t
                if run_from > 0 and _coarse(samples, run_from)
                else samples[run_from].t
            )
            end = samples[i + 1].t if i + 1 < len(samples) and _coarse(samples, i + 1) else samples[i].t
            longest = max(longest, end - start)
        else:
            run_from = None
    return longest


def _coarse(samples: Sequence[Sample], i: int) -> bool:
    """The interval ending at sample i is longer than two detail steps."""
    return samples[i].t - samples[i - 1].t > 2 * HOUR_S


def forecast(samples: Sequence[Sample], pace_since: datetime | None = None) -> Forecast:
    """The pace since `pace_since` (see the module's docstring) and the days the last balance lasts
    at it. A history started by a change of pace needs CHANGE_SPAN; a fresh one, MIN_SPAN.

    Days left: a burn in bursts that has kept its pace a whole week spends the coming week as it
    spent the last, hour by hour (`_weekly_runway`): a Friday evening's balance outlasts the
    weekend. A burn around the clock that has been growing for days keeps growing
    (`_growing_runway`). Otherwise the balance over the pace."""
    if len(samples) < 2:
        return Forecast(ForecastStatus.NOT_ENOUGH_HISTORY)
    around_the_clock = steady(samples, pace_since)
    start = window_start(samples, pace_since, around_the_clock)
    span = samples[-1].t - samples[start].t
    fresh = pace_since is None or pace_since <= samples[0].at
    needed = (MIN_SPAN if fresh else CHANGE_SPAN).total_seconds()
    if len(samples) - start < (MIN_SAMPLES if fresh else 2) or span < needed:
        return Forecast(ForecastStatus.NOT_ENOUGH_HISTORY)
    if fresh and span < DAY_S and _lumpy(samples, start):
        return Forecast(ForecastStatus.NOT_ENOUGH_HISTORY)
    burn = rate(samples, start, len(samples) - 1)
    if not math.isfinite(burn):  # balances near float's limit: no forecast rather than a NaN one
        return Forecast(ForecastStatus.NOT_ENOUGH_HISTORY)
    if burn <= 0 or burn * (span / DAY_S) < MIN_CHANGE_CREDITS:
        return Forecast(ForecastStatus.NOT_DEPLETING, burn_per_day=0.0)
    balance = max(0.0, samples[-1].balance)
    days = balance / burn
    if not around_the_clock and span >= (BURSTY_WINDOW - DETAIL_STEP).total_seconds():
        days = _weekly_runway(samples, balance) or days
    elif around_the_clock:
        growing = _growth(samples, pace_since)
        if growing is not None:
            burn, days = growing[0], _growing_runway(balance, *growing)
    return Forecast(ForecastStatus.DEPLETING, burn_per_day=burn, days_left=days)


def _lumpy(samples: Sequence[Sample], start: int) -> bool:
    """One interval of a young history used a share of all it used that is LUMP_SHARE above its
    share of the time: one drop is not a pace (an account that fell by 450 in its first hour and
    then held still for five is not burning 1,800 a day); three batches in twelve hours are."""
    total = samples[-1].used - samples[start].used
    span = samples[-1].t - samples[start].t
    if total <= 0 or span <= 0:
        return False
    return any(
        (samples[i].used - samples[i - 1].used) / total - (samples[i].t - samples[i - 1].t) / span
        > LUMP_SHARE
        for i in range(start + 1, len(samples))
    )


def _used_at(samples: Sequence[Sample], moment: float) -> float:
    """The count of credits used at `moment` (epoch seconds), read linearly between the samples
    around it."""
    after = bisect_right(samples, moment, key=_seconds)
    if after == 0:
        return samples[0].used
    if after == len(samples):
        return samples[-1].used
    a, b = samples[after - 1], samples[after]
    return a.used + (b.used - a.used) * (moment - a.t) / (b.t - a.t)


def _weekly_runway(samples: Sequence[Sample], balance: float) -> float | None:
    """Days until `balance` is spent if every hour of the coming weeks uses what the same hour of
    the last week did; None when the last week used nothing."""
    hours = round(BURSTY_WINDOW / DETAIL_STEP)
    begin = samples[-1].t - hours * HOUR_S
    marks = [_used_at(samples, begin + k * HOUR_S) for k in range(hours + 1)]
    profile = [max(0.0, b - a) for a, b in pairwise(marks)]
    week = sum(profile)
    if week <= 0:
        return None
    weeks, left = divmod(balance, week)
    hour = 0.0
    for used in profile:
        if used >= left:
            hour += left / used if used > 0 else 0.0
            break
        left -= used
        hour += 1
    return (weeks * hours + hour) * HOUR_S / DAY_S


GROWTH_DAYS = 14
GROWTH_MIN_DAYS = 3
GROWTH_T = 3.0
"""A growth is used only when its slope is this many standard errors above zero."""


def _growth(samples: Sequence[Sample], pace_since: datetime | None) -> tuple[float, float] | None:
    """(the burn per day now, its growth per day) of a burn around the clock that has grown steadily
    over the last days of its pace: a least-squares line through its daily burns, when its slope is
    GROWTH_T standard errors above zero. None otherwise: a flat or falling burn is taken as flat,
    never as one that will slow down by itself."""
    end = samples[-1].t
    since = samples[0].t if pace_since is None else max(samples[0].t, pace_since.timestamp())
    days = min(GROWTH_DAYS, int((end - since) / DAY_S))
    if days < GROWTH_MIN_DAYS:
        return None
    marks = [_used_at(samples, end - k * DAY_S) for k in range(days + 1)]
    burns = [marks[k] - marks[k + 1] for k in range(days)]  # newest first
    xs = [-(k + 0.5) for k in range(days)]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(burns)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, burns, strict=True)) / spread
    residuals = [y - (mean_y + slope * (x - mean_x)) for x, y in zip(xs, burns, strict=True)]
    error = math.sqrt(sum(r * r for r in residuals) / (days - 2) / spread) if days > 2 else math.inf
    if slope <= 0 or slope < GROWTH_T * error:
        return None
    now = mean_y + slope * (0 - mean_x)
    return now, slope


def _growing_runway(balance: float, burn: float, growth: float) -> float:
    """Days until `balance` is spent by a burn of `burn` per day growing by `growth` per day:
    the root of burn * t + growth * t^2 / 2 = balance."""
    return (-burn + math.sqrt(burn * burn + 2 * growth * balance)) / growth


def with_used(samples: Iterable[Sample]) -> tuple[Sample, ...]:
    """Samples stored without a count of credits used (written by earlier releases): counted from
    their balances, a material rise (a top-up) adding nothing."""
    out: list[Sample] = []
    for sample in samples:
        fall = out[-1].balance - sample.balance if out else 0.0
        top_up = bool(out) and -fall > TOP_UP_MIN_FRACTION * abs(out[-1].balance)
        out.append(counted(out, sample.at, sample.balance, fall if top_up else 0.0))
    return tuple(out)


# --- a new balance: top-ups, spikes and the pace -------------------------------------------------

SPIKE_MIN_HISTORY = timedelta(days=2)
"""No spike is called before the history spans this much: "usual" needs a few days to mean anything."""
SPIKE_CONFIRM = 3
"""A spike that lasts this many checks is no spike but a new pace: the credits it used count again,
and the pace starts where it did."""
USUAL_WINDOW = timedelta(days=8)
"""What the usual use is measured over: a week, and a day more, so that a weekly job run an hour or
a few later than the week before is still usual, not a spike again."""


@dataclass(frozen=True)
class SpikeRule:
    """When the credits used since the last check are a spike: at least `factor` times the most the
    account used in any stretch of the same length in the last 8 days (or its average use over that
    length, when higher), and material: at least `min_share` of the balance before it, or at least
    the account's warning level."""

    factor: float = 10.0
    min_share: float = 0.02


DEFAULT_SPIKE_RULE = SpikeRule()


@dataclass(frozen=True)
class Spike:
    """A spike in progress, from the sample before it. Its credits are not burn while it lasts
    (`Sample.used` leaves them out); once it has lasted SPIKE_CONFIRM checks, it is a new pace."""

    since: datetime
    until: datetime
    """The check that saw its last credits go: `spent` went in `until - since`."""
    spent: float
    checks: int
    usual: float
    """What the account used at most in the same length of time, in the week before."""

    @property
    def seconds(self) -> float:
        return max(1.0, (self.until - self.since).total_seconds())


class Event(StrEnum):
    TOP_UP = "top-up"
    SPIKE = "spike"
    """A spike began: the one moment to say so."""


@dataclass(frozen=True)
class Observed:
    """The history after a new balance, and what happened to it."""

    samples: tuple[Sample, ...]
    pace_since: datetime | None
    spike: Spike | None
    event: Event | None = None


def usual_use(samples: Sequence[Sample], length: float) -> float:
    """The most the account spent in any stretch of `length` seconds ending at a sample of the last
    week, spikes included (a weekly job is a spike the first time, and usual from then on), or its
    average use over `length` in that week without them, whichever is higher."""
    last = samples[-1].t
    first = _index_at(samples, last - USUAL_WINDOW.total_seconds())
    span = last - samples[first].t
    average = (samples[-1].used - samples[first].used) / span * length if span > 0 else 0.0
    spent = [0.0]
    for before, after in pairwise(samples[first:]):  # the fall of the balance; a top-up's burn only
        spent.append(spent[-1] + max(after.used - before.used, before.balance - after.balance))
    most = 0.0
    start = first
    for end in range(first + 1, len(samples)):
        reach = samples[end].t - length
        while start + 1 < end and samples[start + 1].t <= reach:
            start += 1
        most = max(most, spent[end - first] - spent[start - first])
    return max(average, most)


def observe(
    samples: Sequence[Sample],
    pace_since: datetime | None,
    spike: Spike | None,
    at: datetime,
    balance: float,
    rule: SpikeRule | None = None,
    warning: float | None = None,
) -> Observed:
    """The history with a new balance: a material rise is a top-up, a fall far above the usual is a
    spike (`rule`; None: spikes are not watched), the rest is burn; then the pace is checked for a
    change."""
    if not samples:
        return Observed((Sample(at, balance),), None, None)
    last = samples[-1]
    fall = last.balance - balance
    if last.balance <= 0 and fall <= 0:
        # Empty: what the account would have used is unknown, not zero. The pace goes on as it was,
        # so that neither the empty days nor the refill after them read as a change of pace.
        pace = forecast(samples, pace_since).burn_per_day or 0.0
        used = round(last.used + pace * ((at.timestamp() - last.t) / DAY_S), USED_DIGITS)
        top_up = is_top_up(samples, balance, at, pace_since, warning or 0.0)
        return Observed(
            thin((*samples, Sample(at, balance, used)), at),
            pace_since,
            None,
            Event.TOP_UP if top_up else None,
        )
    if fall < 0:
        if is_top_up(samples, balance, at, pace_since, warning or 0.0):
            # What went between the two checks is unknown: the pace's worth, the rise being the rest.
            pace = forecast(samples, pace_since).burn_per_day or 0.0
            burnt = pace * max(0.0, at.timestamp() - last.t) / DAY_S
            kept = thin((*samples, counted(samples, at, balance, fall - burnt)), at)
            return Observed(kept, pace_since, None, Event.TOP_UP)
        return _paced((*samples, counted(samples, at, balance)), pace_since, None, at)
    event = None
    length = at.timestamp() - last.t
    before = samples[: _index_at(samples, spike.since.timestamp()) + 1] if spike is not None else samples
    if spike is not None and fall > 0 and fall >= spike_bar(_usual_before(before, length), rule):
        spike = replace(spike, until=at, spent=spike.spent + fall, checks=spike.checks + 1)
        if spike.checks >= SPIKE_CONFIRM:  # no spike: a new pace, whose credits count again
            start = _index_at(samples, spike.since.timestamp())
            recounted = [*samples[: start + 1]]
            for sample in (*samples[start + 1 :], Sample(at, balance)):
                recounted.append(counted(recounted, sample.at, sample.balance))
            return Observed(thin(recounted, at), spike.since, None)
        return Observed(thin((*samples, counted(samples, at, balance, fall)), at), pace_since, spike)
    spike = None
    if rule is not None and _material(samples, fall, rule, warning):
        usual = _usual_before(samples, length)
        if fall >= spike_bar(usual, rule):
            spike = Spike(last.at, at, fall, 1, usual)
            event = Event.SPIKE
            kept = thin((*samples, counted(samples, at, balance, fall)), at)
            return Observed(kept, pace_since, spike, event)
    return _paced((*samples, counted(samples, at, balance)), pace_since, None, at)


def spike_bar(usual: float, rule: SpikeRule | None) -> float:
    """The credits a check must have used to be (or to go on being) a spike."""
    factor = (rule or DEFAULT_SPIKE_RULE).factor
    return max(factor * usual, MIN_CHANGE_CREDITS)


def _usual_before(samples: Sequence[Sample], length: float) -> float:
    """The usual use over `length` seconds, or infinity before SPIKE_MIN_HISTORY: no spike yet."""
    enough = samples[-1].t - samples[0].t >= SPIKE_MIN_HISTORY.total_seconds()
    return usual_use(samples, length) if enough else math.inf


def _material(samples: Sequence[Sample], fall: float, rule: SpikeRule, warning: float | None) -> bool:
    """At least the rule's share of the balance before it, or at least the warning level."""
    material = rule.min_share * abs(samples[-1].balance)
    if warning is not None and warning > 0:
        material = min(material, warning)
    return fall > 0 and fall >= material


def _paced(
    samples: tuple[Sample, ...], pace_since: datetime | None, spike: Spike | None, at: datetime
) -> Observed:
    kept = thin(samples, at)
    changed = pace_change(kept, pace_since)
    return Observed(kept, changed or pace_since, spike)
