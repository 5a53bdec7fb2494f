"""Burn rate and days until empty, by least squares over the samples since the last top-up. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MIN_SAMPLES = 3
MIN_SPAN = timedelta(hours=6)
HISTORY_LIMIT = timedelta(days=30)
MAX_SAMPLES = 1000
"""Bounds the state item (DynamoDB items max out at 400 KB; a sample is about 30 bytes)."""


@dataclass(frozen=True)
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


def add_sample(samples: Sequence[Sample], sample: Sample) -> tuple[Sample, ...]:
    """A rise in balance is a top-up: it starts a new segment, since the old burn no longer applies."""
    if samples and sample.balance > samples[-1].balance:
        return (sample,)
    kept = [s for s in samples if sample.at - s.at <= HISTORY_LIMIT]
    return (*kept[-(MAX_SAMPLES - 1) :], sample)


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
    if burn <= 0:
        return Forecast(ForecastStatus.NOT_DEPLETING, burn_per_day=0.0)
    return Forecast(ForecastStatus.DEPLETING, burn_per_day=burn, days_left=max(0.0, ys[-1] / burn))
