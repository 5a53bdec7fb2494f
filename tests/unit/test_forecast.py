from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from credit_monitor.forecast import (
    DETAIL_AGE,
    HISTORY_LIMIT,
    MAX_SAMPLES,
    MIN_SAMPLES,
    Forecast,
    ForecastStatus,
    Sample,
    add_sample,
    forecast,
    thin,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def series(*points: tuple[float, float]) -> list[Sample]:
    """(hours after T0, balance) pairs."""
    return [Sample(T0 + timedelta(hours=h), b) for h, b in points]


def test_steady_burn_gives_rate_and_days_left() -> None:
    # 240 credits a day for two days, 1,000 left now: about 4.2 days.
    outlook = forecast(series((0, 1480), (24, 1240), (48, 1000)))
    assert outlook.status is ForecastStatus.DEPLETING
    assert outlook.burn_per_day == pytest.approx(240)
    assert outlook.days_left == pytest.approx(1000 / 240)


def test_least_squares_smooths_uneven_spending() -> None:
    outlook = forecast(series((0, 1000), (6, 900), (12, 880), (18, 700), (24, 680)))
    assert outlook.burn_per_day == pytest.approx(336)  # slope -210 / 0.625 (days², credits·days)


@pytest.mark.parametrize(
    "points",
    [
        [(0, 1000), (24, 900)],  # fewer than 3 samples
        [(0, 1000), (2, 990), (5, 980)],  # 3 samples, but under 6 hours
    ],
)
def test_short_history_is_not_a_number(points: list[tuple[float, float]]) -> None:
    outlook = forecast(series(*points))
    assert outlook.status is ForecastStatus.NOT_ENOUGH_HISTORY
    assert outlook.days_left is None
    assert outlook.describe() == "not enough history for a forecast yet"
    assert len(points) <= MIN_SAMPLES


@pytest.mark.parametrize("points", [[(0, 500), (6, 500), (12, 500)], [(0, 500), (6, 490), (12, 520)]])
def test_flat_or_rising_balance_is_not_depleting_and_never_divides_by_zero(
    points: list[tuple[float, float]],
) -> None:
    outlook = forecast(series(*points))
    assert outlook.status is ForecastStatus.NOT_DEPLETING
    assert outlook.burn_per_day == 0.0
    assert outlook.days_left is None
    assert outlook.describe() == "not depleting (flat or rising balance)"


def test_a_top_up_starts_a_new_segment() -> None:
    history = tuple(series((0, 300), (6, 200), (12, 100)))
    after_top_up = add_sample(history, Sample(T0 + timedelta(hours=18), 5000))
    assert after_top_up == ((Sample(T0 + timedelta(hours=18), 5000),), True)


def test_a_refunded_credit_stays_in_the_segment_and_keeps_the_forecast() -> None:
    """Burning 100/day, sampled hourly, with one credit refunded: noise, not a top-up."""
    history = tuple(series(*((h, 5000 - 100 * h / 24) for h in range(0, 13))))
    refund = Sample(T0 + timedelta(hours=13), history[-1].balance + 1)

    samples, topped_up = add_sample(history, refund)

    assert not topped_up
    assert samples[-1] == refund
    assert len(samples) == len(history) + 1
    assert forecast(samples).status is ForecastStatus.DEPLETING


@pytest.mark.parametrize(
    ("rise", "top_up"),
    [
        (4.9, False),  # under 5 % of a balance of 100
        (5.1, True),
        (3.0, False),  # under the burn since the last sample (4/h) even where 5 % would allow it
    ],
)
def test_a_rise_is_a_top_up_only_above_five_percent_and_one_periods_burn(rise: float, top_up: bool) -> None:
    if rise == 3.0:
        history = tuple(series((0, 56), (6, 32), (12, 8)))  # 96/day: 4 credits an hour
        new = Sample(T0 + timedelta(hours=13), 8 + rise)
    else:
        history = tuple(series((0, 100), (12, 100)))  # flat: no burn
        new = Sample(T0 + timedelta(hours=13), 100 + rise)
    assert add_sample(history, new)[1] is top_up


def test_old_samples_fall_out_of_the_history() -> None:
    history = tuple(series((0, 900), (24 * 31, 800)))
    samples, _ = add_sample(history, Sample(T0 + timedelta(days=32), 700))
    assert samples[0].balance == 800


def test_balances_near_the_float_limit_give_no_forecast_rather_than_nan() -> None:
    outlook = forecast(series((0, 1.7e308), (6, 1.0e308), (12, 1.0)))

    assert outlook.status is ForecastStatus.NOT_ENOUGH_HISTORY
    assert outlook.days_left is None


def test_six_hours_of_history_is_enough_however_the_samples_fall() -> None:
    """The span runs from the first sample to the last, whatever lies between them."""
    outlook = forecast(series((0, 1000), (2, 990), (6, 940)))
    assert outlook.status is ForecastStatus.DEPLETING


def test_a_slow_burn_under_one_credit_a_day_is_still_depleting() -> None:
    outlook = forecast(series((0, 10), (24, 9.5), (48, 9)))
    assert outlook.status is ForecastStatus.DEPLETING
    assert outlook.burn_per_day == pytest.approx(0.5)
    assert outlook.days_left == pytest.approx(18)


def test_under_a_day_left_is_reported_as_such_not_rounded_up() -> None:
    outlook = forecast(series((0, 600), (24, 360), (48, 120)))
    assert outlook.days_left == pytest.approx(0.5)
    assert outlook.describe() == "burning 240.0 credits/day, about 0.5 days left"


@pytest.mark.parametrize(
    ("burn", "days_left"),
    [(None, 2.0), (240.0, None), (None, None)],
)
def test_a_partial_depleting_forecast_describes_itself_without_failing(
    burn: float | None, days_left: float | None
) -> None:
    """A forecast decoded from an old or damaged state item may lack a number."""
    outlook = Forecast(ForecastStatus.DEPLETING, burn_per_day=burn, days_left=days_left)
    assert outlook.describe() == "not enough history for a forecast yet"


def test_a_rise_equal_to_one_periods_burn_is_not_a_top_up() -> None:
    """96 credits a day is exactly 4 in the hour since the last sample: a rise of 4 is not above it."""
    history = tuple(series((0, 56), (6, 32), (12, 8)))
    assert forecast(history).burn_per_day == 96
    assert add_sample(history, Sample(T0 + timedelta(hours=13), 12))[1] is False
    assert add_sample(history, Sample(T0 + timedelta(hours=13), 12.01))[1] is True


def test_without_a_burn_rate_only_the_five_percent_rule_applies() -> None:
    """Two samples give no forecast, so there is no burn to exceed: a 6 % rise is a top-up."""
    history = tuple(series((0, 10), (1, 10)))
    assert add_sample(history, Sample(T0 + timedelta(hours=25), 10.6))[1] is True


def test_a_sample_at_the_same_instant_subtracts_no_burn() -> None:
    """A burn of ten credits a second, and a rise with no time elapsed: nothing burnt to exceed."""
    history = tuple(series((0, 100 + 432_000), (6, 100 + 216_000), (12, 100)))
    assert forecast(history).burn_per_day == pytest.approx(864_000)
    assert add_sample(history, Sample(history[-1].at, 106))[1] is True


def test_a_sample_exactly_at_the_history_limit_is_kept() -> None:
    history = tuple(series((0, 900), (24, 850)))
    samples, _ = add_sample(history, Sample(T0 + HISTORY_LIMIT, 800))
    assert [s.balance for s in samples] == [900, 850, 800]


def test_a_day_of_minute_samples_keeps_the_newest_of_each_hour() -> None:
    history = tuple(Sample(T0 + timedelta(minutes=i), 1_000_000 - i) for i in range(MAX_SAMPLES))
    new = Sample(T0 + timedelta(minutes=MAX_SAMPLES), 1_000_000 - MAX_SAMPLES)
    samples, topped_up = add_sample(history, new)
    assert not topped_up
    assert samples[-1] == new
    hours = [sample.at.replace(minute=0) for sample in samples]
    assert len(hours) == len(set(hours)), "one sample per hour"
    assert all(sample.at.minute == 59 for sample in samples[:-1]), "the newest of each hour"


def month_of_runs(every: timedelta, burn_per_day: float = 24.0) -> tuple[Sample, ...]:
    """The history 30 days of runs leave, one add_sample per run, burning steadily."""
    samples: tuple[Sample, ...] = ()
    steps = int(timedelta(days=30) / every)
    for step in range(steps):
        at = T0 + step * every
        samples, _ = add_sample(samples, Sample(at, 50_000 - burn_per_day * (at - T0) / timedelta(days=1)))
    return samples


@pytest.mark.parametrize("every", [timedelta(hours=1), timedelta(minutes=5)])
def test_a_month_of_history_is_bounded_whatever_the_schedule(every: timedelta) -> None:
    """One sample an hour for the last day, one a day before: the state does not grow with age."""
    samples = month_of_runs(every)

    assert len(samples) <= 24 + 31
    assert samples[-1].at - samples[0].at >= timedelta(days=29)
    assert [s.at for s in samples] == sorted(s.at for s in samples)


def test_thinning_keeps_a_steady_burns_forecast() -> None:
    hourly = [Sample(T0 + timedelta(hours=h), 50_000 - h) for h in range(24 * 30)]

    thinned = month_of_runs(timedelta(hours=1))

    assert forecast(thinned).burn_per_day == pytest.approx(24)
    assert forecast(thinned).burn_per_day == pytest.approx(forecast(hourly).burn_per_day)
    assert forecast(thinned).days_left == pytest.approx(forecast(hourly).days_left)


def test_a_sample_exactly_a_day_old_is_thinned_to_one_a_day() -> None:
    """Only samples younger than DETAIL_AGE keep one per hour: one exactly that old is an older one,
    and the newest of its day stands for the day."""
    now = T0 + DETAIL_AGE + timedelta(hours=12)
    earlier, day_old, latest = (
        Sample(at, 100) for at in (now - DETAIL_AGE - timedelta(hours=1), now - DETAIL_AGE, now)
    )

    assert thin([earlier, day_old, latest], now) == (day_old, latest)


def test_thinning_again_later_keeps_the_same_samples() -> None:
    """Slots are fixed in time: re-thinning an already thinned history drops nothing more."""
    samples = month_of_runs(timedelta(hours=1))

    assert thin(samples, samples[-1].at) == samples
