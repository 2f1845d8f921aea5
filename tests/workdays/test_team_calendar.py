"""The team calendar on China's real 2026 schedule (from the `holidays` package) and a year without swaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.workdays import CalendarOverrides, TeamCalendar

TZ = "Asia/Shanghai"
START, END = time(9, 0), time(18, 0)


@pytest.fixture
def calendar() -> TeamCalendar:
    return TeamCalendar()


def test_national_day_2026_is_off_and_named(calendar: TeamCalendar) -> None:
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.day_off_name(date(2026, 10, 1)) == "国庆节"
    # The swapped days off after the holiday proper.
    assert not calendar.is_working_day(date(2026, 10, 7))


def test_makeup_saturday_is_a_working_day(calendar: TeamCalendar) -> None:
    assert date(2026, 10, 10).weekday() == 5
    assert calendar.is_working_day(date(2026, 10, 10))
    assert calendar.is_makeup_workday(date(2026, 10, 10))


def test_plain_weekend_and_plain_weekday(calendar: TeamCalendar) -> None:
    assert calendar.day_off_name(date(2026, 11, 28)) == "周末"
    assert calendar.is_working_day(date(2026, 11, 27))  # a working Friday


def test_two_working_days_from_friday_afternoon_end_on_tuesday(calendar: TeamCalendar) -> None:
    friday_3pm = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    due = calendar.deadline_after(friday_3pm, 2, TZ, END)
    assert due.isoformat() == "2026-12-01T18:00:00+08:00"


def test_working_days_skip_the_national_day_week_and_count_the_makeup_saturday(calendar: TeamCalendar) -> None:
    # From Wednesday 30 September: 1 Oct–7 Oct are off, Saturday 10 Oct is worked.
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert calendar.count_working_days(date(2026, 10, 1), date(2026, 10, 12)) == 3  # 8, 9, 10 Oct


def test_a_year_without_published_swaps_still_has_its_holidays(calendar: TeamCalendar) -> None:
    assert calendar.knows_makeup_days(2026)
    assert not calendar.knows_makeup_days(2027)
    assert not calendar.is_working_day(date(2027, 10, 1))
    assert calendar.is_working_day(date(2027, 10, 8))  # a Friday
    assert calendar.day_off_name(date(2027, 10, 9)) == "周末"


def test_team_overrides_win_over_the_national_calendar() -> None:
    calendar = TeamCalendar(CalendarOverrides(
        days_off={date(2026, 11, 27): "团建"}, workdays=frozenset({date(2026, 10, 1), date(2026, 11, 28)})
    ))
    assert calendar.day_off_name(date(2026, 11, 27)) == "团建"
    assert calendar.is_working_day(date(2026, 10, 1))
    assert calendar.is_makeup_workday(date(2026, 11, 28))


def test_first_working_day_of_the_month(calendar: TeamCalendar) -> None:
    assert calendar.first_working_day_of_month(2026, 10) == date(2026, 10, 8)
    assert calendar.first_working_day_of_month(2026, 11) == date(2026, 11, 2)  # 1 Nov is a Sunday


def test_quiet_hours_wait_for_the_next_working_morning(calendar: TeamCalendar) -> None:
    friday_evening = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    assert not calendar.is_working_time(friday_evening, TZ, START, END)
    assert calendar.next_working_start(friday_evening, TZ, START, END).isoformat() == "2026-11-30T09:00:00+08:00"
    early = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # Monday 08:30
    assert calendar.next_working_start(early, TZ, START, END).isoformat() == "2026-11-30T09:00:00+08:00"
    inside = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert calendar.next_working_start(inside, TZ, START, END) == inside


def test_add_working_days_rejects_a_non_positive_count(calendar: TeamCalendar) -> None:
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 11, 27), 0)
