"""Burn rate and days until empty, by least squares over the samples since the last top-up. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MIN_SAMPLES = 3
MIN_SPAN = timedelta(hours=6)
HISTORY_LIMIT = timedelta(days=30)
MAX_SAMPLES = 1000
"""A hard cap on the history, whatever its spacing (DynamoDB items max out at 400 KB)."""
DETAIL_AGE = timedelta(days=1)
"""Samples younger than this keep one per DETAIL_STEP; older ones one per COARSE_STEP."""
DETAIL_STEP = timedelta(hours=1)
COARSE_STEP = timedelta(days=1)
"""One sample a day for days 2 to 30: a month of history is about 24 + 30 samples (about 1 KB of
state) however often the schedule runs, so the state read, decoded and written per account each run
stays the same size as history ages. A straight burn gives the same slope thinned or not; an uneven
one weighs the last day more, which is the part that says most about the coming days."""
TOP_UP_MIN_FRACTION = 0.05
"""A rise counts as a top-up only above 5 % of the previous balance (and above the burn since the
last sample): a refunded credit or two must not restart the forecast or re-arm RUNNING OUT."""


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    balance: float


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


def is_top_up(samples: Sequence[Sample], sample: Sample) -> bool:
    """A material rise: more than TOP_UP_MIN_FRACTION of the last balance and more than the
    segment's burn over the time since the last sample. Smaller rises (refunds, rounding) are noise
    the least-squares fit absorbs."""
    if not samples or sample.balance <= samples[-1].balance:
        return False
    last = samples[-1]
    rise = sample.balance - last.balance
    outlook = forecast(samples)
    burn_since_last = (outlook.burn_per_day or 0.0) * max(0.0, (sample.at - last.at).total_seconds()) / 86400
    return rise > max(TOP_UP_MIN_FRACTION * abs(last.balance), burn_since_last)


def add_sample(samples: Sequence[Sample], sample: Sample) -> tuple[tuple[Sample, ...], bool]:
    """The new history, and whether this sample was a top-up. A top-up starts a new segment,
    since the old burn no longer applies."""
    if is_top_up(samples, sample):
        return (sample,), True
    return thin((*samples, sample), sample.at), False


def thin(samples: Iterable[Sample], now: datetime) -> tuple[Sample, ...]:
    """The samples (oldest first) within HISTORY_LIMIT of `now`, keeping the newest of each
    DETAIL_STEP for the last DETAIL_AGE and the newest of each COARSE_STEP before that. The steps
    are fixed slots of the epoch, so thinning again later keeps the same samples."""
    oldest = (now - HISTORY_LIMIT).timestamp()
    detail_from = (now - DETAIL_AGE).timestamp()
    detail, coarse = DETAIL_STEP.total_seconds(), COARSE_STEP.total_seconds()
    kept: list[Sample] = []
    slot_of_last: tuple[float, float] | None = None
    for sample in samples:
        at = sample.at.timestamp()
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


def forecast(samples: Sequence[Sample]) -> Forecast:
    if len(samples) < MIN_SAMPLES or samples[-1].at - samples[0].at < MIN_SPAN:
        return Forecast(ForecastStatus.NOT_ENOUGH_HISTORY)
    origin = samples[0].at
    xs = [(s.at - origin).total_seconds() / 86400 for s in samples]
    ys = [s.balance for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    burn = -slope
    if not math.isfinite(burn):  # balances near float's limit: no forecast rather than a NaN one
        return Forecast(ForecastStatus.NOT_ENOUGH_HISTORY)
    if burn <= 0:
        return Forecast(ForecastStatus.NOT_DEPLETING, burn_per_day=0.0)
    return Forecast(ForecastStatus.DEPLETING, burn_per_day=burn, days_left=max(0.0, ys[-1] / burn))
