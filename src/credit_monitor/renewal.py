"""When a plan's credits renew: `renewal = { every = "month", day = 1 }` in the accounts file. Pure.

A renewal happens at 00:00 on the schedule's wall clock (ScheduleTimezone): a monthly plan on a day
the month lacks (31 in April) renews on the month's last day; a yearly one on 29 February renews on
28 February in other years. A vendor's reply that carries its own date (`Balance.renews_at`) wins
over the declared schedule (see `next_renewal`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

Every = Literal["month", "week", "year"]
EVERY: tuple[Every, ...] = ("month", "week", "year")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


@dataclass(frozen=True)
class Renewal:
    """A plan that renews every month on `day`, every week on `weekday` (0 is Monday), or every year
    on `month` (1 to 12) and `day`."""

    every: Every
    day: int = 1
    weekday: int = 0
    month: int = 1

    def describe(self) -> str:
        if self.every == "week":
            return f"every {WEEKDAYS[self.weekday].capitalize()}"
        if self.every == "year":
            return f"every year on {self.day} {MONTHS[self.month - 1].capitalize()}"
        return f"every month on day {self.day}"

    def on(self, year: int, month: int) -> date:
        """The renewal day of a monthly or yearly plan in that month, clamped to its last day."""
        return date(year, month, min(self.day, calendar.monthrange(year, month)[1]))

    def next_after(self, now: datetime, zone: tzinfo) -> datetime:
        """The first renewal strictly after `now`."""
        today = now.astimezone(zone).date()
        for day in self._days_from(today - timedelta(days=1)):
            moment = datetime.combine(day, time(0), tzinfo=zone)
            if moment > now:
                return moment
        raise AssertionError("a renewal comes within a year and a day")  # pragma: no cover

    def _days_from(self, start: date) -> list[date]:
        """The renewal days from `start` (included) for a little over a year."""
        if self.every == "week":
            first = start + timedelta(days=(self.weekday - start.weekday()) % 7)
            return [first + timedelta(weeks=n) for n in range(60)]
        days = []
        year, month = start.year, start.month
        for _ in range(14 if self.every == "month" else 30):
            if self.every == "month" or month == self.month:
                day = self.on(year, month)
                if day >= start:
                    days.append(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return days


def next_renewal(
    renewal: Renewal | None, vendor_date: datetime | None, now: datetime, zone: tzinfo
) -> datetime | None:
    """The next renewal: the vendor's own date when its reply gives one still ahead, else the
    declared schedule's, else None (the account does not renew)."""
    if vendor_date is not None and vendor_date > now:
        return vendor_date
    return renewal.next_after(now, zone) if renewal is not None else None


def parse_renewal(value: object) -> Renewal | None:
    """The accounts file's `renewal` table, or None when it only says where a reply gives the date
    (http-json's `date_path` and `days_path`, read by the provider). Raises ValueError starting with
    the field at fault."""
    example = 'e.g. renewal = { every = "month", day = 1 }'
    if not isinstance(value, dict):
        raise ValueError(f"renewal: must be a table, {example}")
    every = value.get("every")
    if every is None:
        if value.keys() & {"date_path", "days_path"}:
            return None
        raise ValueError(f'renewal.every: is missing; one of "month", "week", "year" ({example})')
    if every not in EVERY:
        raise ValueError(f'renewal.every: must be "month", "week" or "year", got {_shown(every)}')
    fields = {"month": ("day",), "week": ("weekday",), "year": ("month", "day")}[every]
    for name in sorted(set(value) - {"every", *fields}):
        hint = f'every = "{every}" takes {" and ".join(fields)}'
        raise ValueError(f"renewal.{name}: unknown field ({hint})")
    if every == "week":
        return Renewal("week", weekday=_weekday(value.get("weekday")))
    day = _day(value.get("day"))
    if every == "month":
        return Renewal("month", day=day)
    month = _month(value.get("month"))
    if day > calendar.monthrange(2024, month)[1]:  # a leap year: 29 February is a date
        raise ValueError(f"renewal.day: {MONTHS[month - 1].capitalize()} has no day {day}")
    return Renewal("year", day=day, month=month)


def _day(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
        raise ValueError(
            f"renewal.day: must be a day of the month from 1 to 31, got {_shown(value)}"
            " (a day the month lacks renews on its last day)"
        )
    return value


def _weekday(value: object) -> int:
    names = {name: index for index, name in enumerate(WEEKDAYS)} | {
        name[:3]: index for index, name in enumerate(WEEKDAYS)
    }
    if not isinstance(value, str) or value.strip().lower() not in names:
        raise ValueError(f'renewal.weekday: must be a day\'s name such as "monday", got {_shown(value)}')
    return names[value.strip().lower()]


def _month(value: object) -> int:
    if isinstance(value, str):
        names = {name: index + 1 for index, name in enumerate(MONTHS)} | {
            name[:3]: index + 1 for index, name in enumerate(MONTHS)
        }
        if value.strip().lower() in names:
            return names[value.strip().lower()]
    elif not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= 12:
        return value
    raise ValueError(
        f'renewal.month: must be a month from 1 to 12 (or its name, "march"), got {_shown(value)}'
    )


def _shown(value: object) -> str:
    """A value as written, short: a typo is shown, never a whole pasted text."""
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
