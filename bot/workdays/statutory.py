"""The national calendar, from the `holidays` package's China calendar.

`holidays` is maintained monthly and carries the State Council's make-up workdays (调休) as
`weekend_workdays`; it computes the statutory holidays of any year, so a year whose make-up days
are not yet published still has its holidays, only without the swaps.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Protocol

import holidays


class StatutoryCalendar(Protocol):
    def day_off(self, day: date) -> str | None:
        """The holiday's name when `day` is a statutory day off (weekends excluded), else None."""
        ...

    def is_makeup_workday(self, day: date) -> bool:
        """A weekend day that is a working day by the national schedule (调休上班)."""
        ...

    def knows_makeup_days(self, year: int) -> bool:
        """Whether the make-up workdays of `year` are published in the data we have."""
        ...


class _ChinaYear:
    def __init__(self, year: int) -> None:
        calendar = holidays.country_holidays("CN", years=year, language="zh_CN")
        self.days_off: dict[date, str] = {day: str(name) for day, name in calendar.items()}
        self.makeup_workdays = frozenset(day for day in calendar.weekend_workdays if day.year == year)


@lru_cache(maxsize=32)
def _year(year: int) -> _ChinaYear:
    return _ChinaYear(year)


class ChinaStatutoryCalendar:
    def day_off(self, day: date) -> str | None:
        return _year(day.year).days_off.get(day)

    def is_makeup_workday(self, day: date) -> bool:
        return day in _year(day.year).makeup_workdays

    def knows_makeup_days(self, year: int) -> bool:
        # Every year since the 1999 reform has had at least one weekend swapped to a workday.
        return bool(_year(year).makeup_workdays)
