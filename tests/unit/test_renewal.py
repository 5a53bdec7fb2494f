"""Renewals: the next renewal of a monthly, weekly or yearly plan on the schedule's wall clock, the
vendor's own date winning, and every way to write the accounts file's `renewal` wrong."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from credit_monitor.renewal import Renewal, next_renewal, parse_renewal

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the next renewal ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("renewal", "now", "expected"),
    [
        (Renewal("month", day=1), "2026-11-15T10:00", "2026-12-01T00:00"),
        (Renewal("month", day=15), "2026-11-14T23:59", "2026-11-15T00:00"),
        (Renewal("month", day=15), "2026-11-15T00:00", "2026-12-15T00:00"),  # strictly after now
        (Renewal("month", day=15), "2026-11-15T00:01", "2026-12-15T00:00"),
        (Renewal("month", day=31), "2026-04-10T00:00", "2026-04-30T00:00"),  # April has 30 days
        (Renewal("month", day=31), "2026-02-01T00:00", "2026-02-28T00:00"),
        (Renewal("month", day=31), "2028-02-01T00:00", "2028-02-29T00:00"),  # a leap year
        (Renewal("month", day=31), "2026-05-01T00:00", "2026-05-31T00:00"),
        (Renewal("month", day=1), "2026-12-20T00:00", "2027-01-01T00:00"),  # over the year's end
        (Renewal("week", weekday=0), "2026-12-02T12:00", "2026-12-07T00:00"),  # Wednesday -> Monday
        (Renewal("week", weekday=2), "2026-12-02T12:00", "2026-12-09T00:00"),  # that day, past: next week
        (Renewal("week", weekday=2), "2026-12-01T23:00", "2026-12-02T00:00"),
        (Renewal("week", weekday=6), "2026-12-05T00:00", "2026-12-06T00:00"),
        (Renewal("year", month=3, day=15), "2026-12-06T00:00", "2027-03-15T00:00"),
        (Renewal("year", month=3, day=15), "2026-03-14T00:00", "2026-03-15T00:00"),
        (Renewal("year", month=12, day=31), "2026-12-31T00:00", "2027-12-31T00:00"),
        (Renewal("year", month=2, day=29), "2026-03-01T00:00", "2027-02-28T00:00"),  # not a leap year
        (Renewal("year", month=2, day=29), "2027-03-01T00:00", "2028-02-29T00:00"),
        (Renewal("year", month=1, day=1), "2026-01-01T00:00", "2027-01-01T00:00"),
    ],
)
def test_the_next_renewal_is_the_first_00_00_of_a_renewal_day_strictly_after_now(
    renewal: Renewal, now: str, expected: str
) -> None:
    assert renewal.next_after(at(now), UTC) == at(expected)


def test_a_renewal_is_at_midnight_on_the_schedules_wall_clock_not_utcs() -> None:
    renewal = Renewal("month", day=1)
    # 23:30 UTC on 30 November is 00:30 on 1 December in Paris: December's renewal has passed there.
    assert renewal.next_after(at("2026-11-30T23:30"), PARIS) == datetime(2027, 1, 1, tzinfo=PARIS)
    assert renewal.next_after(at("2026-11-30T22:30"), PARIS) == datetime(2026, 12, 1, tzinfo=PARIS)
    assert datetime(2026, 12, 1, tzinfo=PARIS).astimezone(UTC) == at("2026-11-30T23:00")


def test_the_renewal_days_of_a_year_are_each_month_s_or_week_s_once_in_order() -> None:
    start = date(2026, 1, 31)
    monthly = Renewal("month", day=31)._days_from(start)
    assert monthly[:4] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert len(monthly) == 14
    weekly = Renewal("week", weekday=4)._days_from(date(2026, 12, 4))  # a Friday, included
    assert weekly[:2] == [date(2026, 12, 4), date(2026, 12, 11)]
    assert len(weekly) == 60
    assert all(later - earlier == timedelta(weeks=1) for earlier, later in itertools.pairwise(weekly))
    yearly = Renewal("year", month=6, day=1)._days_from(date(2026, 6, 2))
    assert yearly == [date(2027, 6, 1), date(2028, 6, 1)]  # 30 months ahead: two of them
    assert Renewal("year", month=6, day=1)._days_from(date(2026, 6, 1))[0] == date(2026, 6, 1)


def test_a_monthly_plan_renews_on_its_day_or_the_month_s_last() -> None:
    assert Renewal("month", day=30).on(2026, 2) == date(2026, 2, 28)
    assert Renewal("month", day=29).on(2024, 2) == date(2024, 2, 29)
    assert Renewal("month", day=30).on(2026, 3) == date(2026, 3, 30)
    assert Renewal("month", day=1).on(2026, 7) == date(2026, 7, 1)


def test_the_vendor_s_date_wins_while_it_is_ahead_then_the_declared_schedule() -> None:
    now = at("2026-11-15T10:00")
    declared = Renewal("month", day=1)
    assert next_renewal(declared, at("2026-11-20T00:00"), now, UTC) == at("2026-11-20T00:00")
    assert next_renewal(None, at("2026-11-20T00:00"), now, UTC) == at("2026-11-20T00:00")
    assert next_renewal(declared, now, now, UTC) == at("2026-12-01T00:00")  # not ahead: stale
    assert next_renewal(declared, at("2026-11-01T00:00"), now, UTC) == at("2026-12-01T00:00")
    assert next_renewal(declared, None, now, UTC) == at("2026-12-01T00:00")
    assert next_renewal(None, None, now, UTC) is None
    assert next_renewal(None, at("2026-11-01T00:00"), now, UTC) is None


@pytest.mark.parametrize(
    ("renewal", "described"),
    [
        (Renewal("month", day=1), "every month on day 1"),
        (Renewal("month", day=31), "every month on day 31"),
        (Renewal("week", weekday=0), "every Monday"),
        (Renewal("week", weekday=6), "every Sunday"),
        (Renewal("year", month=3, day=15), "every year on 15 March"),
        (Renewal("year", month=1, day=2), "every year on 2 January"),
        (Renewal("year", month=12, day=25), "every year on 25 December"),
    ],
)
def test_a_renewal_is_described_as_people_say_it(renewal: Renewal, described: str) -> None:
    assert renewal.describe() == described


# --- the accounts file's `renewal` ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"every": "month", "day": 1}, Renewal("month", day=1)),
        ({"every": "month", "day": 31}, Renewal("month", day=31)),
        ({"every": "month"}, None),  # refused below: a month needs its day
        ({"every": "week", "weekday": "monday"}, Renewal("week", weekday=0)),
        ({"every": "week", "weekday": "Sunday"}, Renewal("week", weekday=6)),
        ({"every": "week", "weekday": " fri "}, Renewal("week", weekday=4)),
        ({"every": "week", "weekday": "TUE"}, Renewal("week", weekday=1)),
        ({"every": "year", "month": 3, "day": 15}, Renewal("year", day=15, month=3)),
        ({"every": "year", "month": "march", "day": 15}, Renewal("year", day=15, month=3)),
        ({"every": "year", "month": " Dec ", "day": 31}, Renewal("year", day=31, month=12)),
        ({"every": "year", "month": 1, "day": 1}, Renewal("year", day=1, month=1)),
        ({"every": "year", "month": 12, "day": 1}, Renewal("year", day=1, month=12)),
        ({"every": "year", "month": 2, "day": 29}, Renewal("year", day=29, month=2)),
    ],
)
def test_a_renewal_table_reads_as_written(value: dict[str, object], expected: Renewal | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match=r"^renewal\.day: must be a day of the month from 1 to 31"):
            parse_renewal(value)
    else:
        assert parse_renewal(value) == expected


@pytest.mark.parametrize("value", [{"date_path": "data.reset_date"}, {"days_path": "data.resets_in"}])
def test_a_renewal_the_reply_gives_is_no_schedule(value: dict[str, object]) -> None:
    assert parse_renewal(value) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("monthly", 'renewal: must be a table, e.g. renewal = { every = "month", day = 1 }'),
        ({}, 'renewal.every: is missing; one of "month", "week", "year" (e.g. renewal = { every = "month"'),
        ({"day": 1}, "renewal.every: is missing"),
        ({"every": "monthly", "day": 1}, 'renewal.every: must be "month", "week" or "year", got \'monthly\''),
        ({"every": None}, "renewal.every: is missing"),
        ({"every": 1}, 'renewal.every: must be "month", "week" or "year", got 1'),
        (
            {"every": "month", "day": 1, "weekday": "monday"},
            'renewal.weekday: unknown field (every = "month" takes day)',
        ),
        (
            {"every": "week", "weekday": "monday", "day": 1},
            'renewal.day: unknown field (every = "week" takes weekday)',
        ),
        (
            {"every": "year", "month": 1, "day": 1, "weekday": "monday", "hour": 3},
            'renewal.hour: unknown field (every = "year" takes month and day)',
        ),
        (
            {"every": "month", "day": 0},
            "renewal.day: must be a day of the month from 1 to 31, got 0 (a day the",
        ),
        ({"every": "month", "day": 32}, "renewal.day: must be a day of the month from 1 to 31, got 32"),
        ({"every": "month", "day": "1"}, "renewal.day: must be a day of the month from 1 to 31, got '1'"),
        ({"every": "month", "day": True}, "renewal.day: must be a day of the month from 1 to 31, got True"),
        ({"every": "month", "day": 1.0}, "renewal.day: must be a day of the month from 1 to 31, got 1.0"),
        ({"every": "week"}, 'renewal.weekday: must be a day\'s name such as "monday", got nothing'),
        ({"every": "week", "weekday": 1}, 'renewal.weekday: must be a day\'s name such as "monday", got 1'),
        (
            {"every": "week", "weekday": "mondays"},
            "renewal.weekday: must be a day's name such as \"monday\", got 'mondays'",
        ),
        (
            {"every": "year", "day": 1},
            'renewal.month: must be a month from 1 to 12 (or its name, "march"), got nothing',
        ),
        ({"every": "year", "month": 0, "day": 1}, "renewal.month: must be a month from 1 to 12"),
        ({"every": "year", "month": 13, "day": 1}, "renewal.month: must be a month from 1 to 12"),
        (
            {"every": "year", "month": True, "day": 1},
            'renewal.month: must be a month from 1 to 12 (or its name, "march"), got True',
        ),
        (
            {"every": "year", "month": "marc", "day": 1},
            "renewal.month: must be a month from 1 to 12 (or its name, \"march\"), got 'marc'",
        ),
        ({"every": "year", "month": 2, "day": 30}, "renewal.day: February has no day 30"),
        ({"every": "year", "month": "april", "day": 31}, "renewal.day: April has no day 31"),
        ({"every": "year", "month": 4}, "renewal.day: must be a day of the month from 1 to 31, got nothing"),
    ],
)
def test_each_mistake_is_refused_naming_the_field_and_what_to_write(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"^renewal") as caught:
        parse_renewal(value)
    assert str(caught.value).startswith(message)


def test_a_pasted_text_is_shown_short_never_whole() -> None:
    pasted = "x" * 500
    with pytest.raises(ValueError, match=r"^renewal\.every: ") as caught:
        parse_renewal({"every": pasted})
    shown = str(caught.value).split("got ", 1)[1]
    assert shown == repr(pasted)[:39] + "…"
    assert len(shown) == 40
    with pytest.raises(ValueError, match=r"^renewal\.every: ") as exact:
        parse_renewal({"every": "m" * 38})  # its repr is 40 characters: shown whole
    assert str(exact.value).endswith("got " + repr("m" * 38))
    with pytest.raises(ValueError, match=r"^renewal\.every: ") as longer:
        parse_renewal({"every": "m" * 39})  # 41: cut to 40
    assert str(longer.value).endswith("got " + repr("m" * 39)[:39] + "…")
