"""Working days on the mainland calendar: 国庆, make-up Saturdays (调休), and years without data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from services.procurement.working_days import add_working_days, count_working_days, load

PREFIX = "/api/v1/procurement"


@pytest.mark.parametrize(("start", "days", "end"), [
    # Wednesday 30 September: 1–7 October are off, Saturday 10 October is worked.
    ("2026-09-30T10:00:00+08:00", 7, "2026-10-16T00:00:00+08:00"),
    # Friday 9 October plus one: the make-up Saturday counts.
    ("2026-10-09T10:00:00+08:00", 1, "2026-10-11T00:00:00+08:00"),
    # Friday 25 September plus one: Sunday 20 September was worked, Monday 28th is next.
    ("2026-09-25T10:00:00+08:00", 1, "2026-09-29T00:00:00+08:00"),
    # Thursday 1 October (holiday) plus one: the first working day after the holiday.
    ("2026-10-01T10:00:00+08:00", 1, "2026-10-09T00:00:00+08:00"),
])
def test_standstill_follows_the_mainland_holidays(start, days, end):
    assert add_working_days(datetime.fromisoformat(start), days, load()) == datetime.fromisoformat(end).astimezone(UTC)


def test_a_year_without_data_counts_monday_to_friday_and_says_so():
    counted = count_working_days(date(2099, 9, 30), 7, load())
    assert counted.until == date(2099, 10, 9)  # 1 October 2099 is a Thursday; no 国庆 known
    assert counted.calendar.startswith("Monday to Friday for 2099") and "no holiday data" in counted.calendar
    known = count_working_days(date(2026, 9, 30), 7, load())
    assert "chinesecalendar" in known.calendar and "Monday to Friday" not in known.calendar


@pytest.fixture
def jurisdiction_calendar(tmp_path):
    path = tmp_path / "calendar-2099.json"
    # 2099: a three-day 国庆 and Saturday 10 October worked instead.
    path.write_text(json.dumps({"name": "某省 2099", "holidays": ["2099-10-01", "2099-10-02", "2099-10-05"],
                                "workdays": ["2099-10-10"]}), encoding="utf-8")
    return path


def test_a_jurisdiction_file_decides_the_years_it_covers(jurisdiction_calendar):
    calendar = load(jurisdiction_calendar)
    counted = count_working_days(date(2099, 9, 30), 7, calendar)
    # Working: 6, 7, 8, 9, 10 (Saturday), 12, 13.
    assert counted.until == date(2099, 10, 13) and counted.calendar.startswith("某省 2099 over mainland China")
    # The package still decides the years the file does not cover.
    assert count_working_days(date(2026, 9, 30), 7, calendar).until == date(2026, 10, 15)


async def test_working_days_endpoint_counts_across_national_day(start_service, tree):
    svc = await start_service("procurement")
    headers = tree.actor("soe", "procurement").headers
    resp = await svc.client.get(f"{PREFIX}/working-days", params={"from": "2026-09-30", "days": 7}, headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["from"] == "2026-09-30" and body["days"] == 7 and body["until"] == "2026-10-15"
    assert "chinesecalendar" in body["calendar"]
    unknown = (await svc.client.get(f"{PREFIX}/working-days", params={"from": "2099-09-30", "days": 7},
                                    headers=headers)).json()
    assert unknown["until"] == "2099-10-09" and unknown["calendar"].startswith("Monday to Friday for 2099")
    bad = await svc.client.get(f"{PREFIX}/working-days", params={"from": "30/09/2026", "days": 7}, headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    too_many = await svc.client.get(f"{PREFIX}/working-days", params={"from": "2026-09-30", "days": 10_000},
                                    headers=headers)
    assert too_many.status_code == 422


async def test_the_calendar_file_setting_reaches_the_endpoint(start_service, tree, jurisdiction_calendar):
    svc = await start_service("procurement", calendar_file=jurisdiction_calendar)
    body = (await svc.client.get(f"{PREFIX}/working-days", params={"from": "2099-09-30", "days": 7},
                                 headers=tree.actor("soe", "procurement").headers)).json()
    assert body["until"] == "2099-10-13" and body["calendar"].startswith("某省 2099")
