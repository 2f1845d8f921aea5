"""A team's calendar: the national one with the team's own holidays and extra workdays on top.

Working days matter for the product's deadlines ("answer within 2 working days") and for when the
bot may push at all; hours-based clocks (24 h, 4 h) stay wall-clock and do not use this.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.workdays.statutory import ChinaStatutoryCalendar, StatutoryCalendar

WEEKEND_NAME = "周末"
# A bound on every walk over days, so corrupt overrides can never loop forever.
MAX_SCAN_DAYS = 366 * 2


@dataclass(frozen=True)
class CalendarOverrides:
    """A tenant's own days off (name by date) and extra working days; both win over the national data."""

    days_off: Mapping[date, str] = field(default_factory=dict)
    workdays: frozenset[date] = frozenset()


class TeamCalendar:
    def __init__(
        self, overrides: CalendarOverrides | None = None, statutory: StatutoryCalendar | None = None
    ) -> None:
        self.overrides = overrides or CalendarOverrides()
        self.statutory = statutory or ChinaStatutoryCalendar()

    def day_off_name(self, day: date) -> str | None:
        """Why `day` is not a working day (holiday name or 周末), or None when it is one."""
        if day in self.overrides.workdays:
            return None
        if day in self.overrides.days_off:
            return self.overrides.days_off[day] or "假期"
        statutory = self.statutory.day_off(day)
        if statutory is not None:
            return statutory
        if day.weekday() >= 5 and not self.statutory.is_makeup_workday(day):
            return WEEKEND_NAME
        return None

    def is_working_day(self, day: date) -> bool:
        return self.day_off_name(day) is None

    def is_makeup_workday(self, day: date) -> bool:
        """A weekend day that is worked (national 调休 or the team's own extra workday)."""
        return day.weekday() >= 5 and self.is_working_day(day)

    def next_working_day(self, day: date, *, include: bool = False) -> date:
        current = day if include else day + timedelta(days=1)
        for _ in range(MAX_SCAN_DAYS):
            if self.is_working_day(current):
                return current
            current += timedelta(days=1)
        raise ValueError(f"no working day within {MAX_SCAN_DAYS} days of {day}")

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (count ≥ 1); `day` itself never counts."""
        if count < 1:
            raise ValueError("count must be at least 1")
        current = day
        for _ in range(count):
            current = self.next_working_day(current)
        return current

    def working_days(self, start: date, end: date) -> Iterator[date]:
        """Working days in [start, end)."""
        current = start
        while current < end:
            if self.is_working_day(current):
                yield current
            current += timedelta(days=1)

    def count_working_days(self, start: date, end: date) -> int:
        return sum(1 for _ in self.working_days(start, end))

    def first_working_day_of_month(self, year: int, month: int) -> date:
        return self.next_working_day(date(year, month, 1), include=True)

    def deadline_after(self, start: datetime, working_days: int, timezone: str, end_of_day: time) -> datetime:
        """`working_days` working days from `start`: the end of the working day that many days later.

        A request made on Friday afternoon with 2 working days is due at the end of Tuesday; made on
        the eve of National Day it is due at the end of the second working day after the holiday.
        """
        tz = ZoneInfo(timezone)
        local_day = start.astimezone(tz).date()
        due_day = self.add_working_days(local_day, working_days)
        return datetime.combine(due_day, end_of_day, tzinfo=tz)

    def is_working_time(self, instant: datetime, timezone: str, start: time, end: time) -> bool:
        local = instant.astimezone(ZoneInfo(timezone))
        return self.is_working_day(local.date()) and start <= local.time().replace(tzinfo=None) < end

    def next_working_start(self, instant: datetime, timezone: str, start: time, end: time) -> datetime:
        """The instant itself when inside working hours, else the next start of a working day.

        Quiet hours: a push that falls outside working time waits for this moment.
        """
        if self.is_working_time(instant, timezone, start, end):
            return instant
        tz = ZoneInfo(timezone)
        local = instant.astimezone(tz)
        today_start = datetime.combine(local.date(), start, tzinfo=tz)
        if self.is_working_day(local.date()) and local < today_start:
            return today_start
        return datetime.combine(self.next_working_day(local.date()), start, tzinfo=tz)

    def knows_makeup_days(self, year: int) -> bool:
        return self.statutory.knows_makeup_days(year)
