"""Working days for the standstill period: Monday to Friday, counted in China's time zone.

Public holidays (and the weekend days China works instead) change by State Council notice each
year; they are not modelled, so a standstill over 国庆 ends earlier than the strict rule would.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment a standstill of `days` working days that starts at `start` ends: the end of the
    `days`-th working day after the day of `start` (0 days: at once)."""
    if days <= 0:
        return start
    day = start.astimezone(CHINA).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(), CHINA).astimezone(UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    import calendar

    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
