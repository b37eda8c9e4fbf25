"""Working days for the standstill period, counted in China's time zone on the mainland calendar.

Public holidays and the weekend days worked instead (调休) are set by State Council notice each
year, so they are data, not a rule: they come from the `chinesecalendar` package, and a
jurisdiction that keeps its own calendar (or needs a year before the package has it) names a JSON
file in `ZHENGBAN_PROCUREMENT_CALENDAR_FILE`. A year neither knows is counted Monday to Friday,
and the calendar's description says so rather than pretending to know the holidays.
"""

from __future__ import annotations

import calendar as gregorian
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import chinese_calendar

CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are worked: the listed holidays are not, the listed make-up days are, and in the
    years it covers every other weekday is; a year it does not cover is Monday to Friday."""

    name: str
    years: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]

    def knows(self, year: int) -> bool:
        return year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def overlaid_with(self, other: WorkingCalendar) -> WorkingCalendar:
        """This calendar with `other` deciding every year `other` covers."""
        def keep(days):
            return frozenset(d for d in days if d.year not in other.years)

        return WorkingCalendar(name=f"{other.name} over {self.name}", years=self.years | other.years,
                               holidays=keep(self.holidays) | other.holidays,
                               workdays=keep(self.workdays) | other.workdays)


@dataclass(frozen=True)
class Count:
    until: date
    calendar: str


def mainland() -> WorkingCalendar:
    """The mainland calendar as the installed `chinesecalendar` release knows it."""
    return WorkingCalendar(
        name=f"mainland China (chinesecalendar {version('chinesecalendar')})",
        years=frozenset(d.year for d in chinese_calendar.holidays),
        holidays=frozenset(chinese_calendar.holidays), workdays=frozenset(chinese_calendar.workdays))


def from_file(path: Path) -> WorkingCalendar:
    """A jurisdiction's calendar: `{"name", "years": [2027], "holidays": ["2027-01-01", …],
    "workdays": ["2027-02-07", …]}`; `years` defaults to the years its dates fall in."""
    data = json.loads(path.read_text(encoding="utf-8"))
    holidays = frozenset(date.fromisoformat(d) for d in data.get("holidays", []))
    workdays = frozenset(date.fromisoformat(d) for d in data.get("workdays", []))
    years = frozenset(data.get("years") or {d.year for d in holidays | workdays})
    return WorkingCalendar(name=data.get("name") or path.stem, years=years, holidays=holidays, workdays=workdays)


@lru_cache(maxsize=4)
def load(calendar_file: Path | None = None) -> WorkingCalendar:
    """The mainland calendar, with the jurisdiction's file (when one is set) deciding its years."""
    base = mainland()
    return base.overlaid_with(from_file(calendar_file)) if calendar_file else base


def count_working_days(start: date, days: int, calendar: WorkingCalendar) -> Count:
    """The `days`-th working day after `start` (`start` itself when `days` is 0), and which
    calendar decided it."""
    day, counted, unknown = start, 0, set()
    while counted < days:
        day += timedelta(days=1)
        if not calendar.knows(day.year):
            unknown.add(day.year)
        if calendar.is_working_day(day):
            counted += 1
    name = calendar.name
    if unknown:
        years = ", ".join(str(y) for y in sorted(unknown))
        name = f"Monday to Friday for {years}: {calendar.name} has no holiday data for it"
    return Count(until=day, calendar=name)


def add_working_days(start: datetime, days: int, calendar: WorkingCalendar | None = None) -> datetime:
    """The moment a standstill of `days` working days that starts at `start` ends: the end of the
    `days`-th working day after the day of `start` (0 days: at once)."""
    if days <= 0:
        return start
    last = count_working_days(start.astimezone(CHINA).date(), days, calendar or load()).until
    return datetime.combine(last + timedelta(days=1), time(), CHINA).astimezone(UTC)


def end_of_last_day(ends_at: datetime) -> datetime:
    """How a standstill ending at midnight reads in Beijing time: the last second of its last day."""
    return (ends_at - timedelta(seconds=1)).astimezone(CHINA)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, gregorian.monthrange(year, month)[1]))
