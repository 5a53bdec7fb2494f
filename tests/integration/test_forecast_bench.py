"""`make forecast-bench` holds the forecast to its targets on every family of traces (a few seeds
each, deterministic): warnings at least 90 % of the ideal lead time on sustained burns, a median error
in days left of at most 15 %, and no false alert at all, on flat traces, plans that last until their
renewal and a spike followed by quiet included."""

from __future__ import annotations

import pytest
from scripts.forecast_bench import TARGET_LEAD, TARGET_MEDIAN_ERROR, table

from tests.support.traces import FAMILIES, replay, score

SEEDS = 4
SUSTAINED = ("steady", "weekday", "ramp", "step-up", "step-down", "burst-start", "refunds", "quota-short")
"""Families whose balance runs dry: each must be warned of early enough."""


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_forecast_meets_its_targets(family: str) -> None:
    row = score(family, [replay(FAMILIES[family](seed)) for seed in range(SEEDS)])

    assert row.false_per_month == 0, table([row])
    if family in SUSTAINED:
        assert row.lead_share is not None, table([row])
        assert row.lead_share >= TARGET_LEAD, table([row])
    if row.median_error is not None:
        assert row.median_error <= TARGET_MEDIAN_ERROR, table([row])
    if family in ("spike", "burst-start"):
        told, spikes = row.spikes_told.split("/")
        assert told == spikes, table([row])


def test_a_spike_followed_by_quiet_sends_one_spending_fast_and_nothing_else() -> None:
    replayed = replay(FAMILIES["spike"](0))
    assert [kind.value for _, kind in replayed.sent] == ["SPENDING FAST"]
