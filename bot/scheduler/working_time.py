"""When a team may be pinged: working days within working hours, in the team's timezone.

Working days follow China's statutory holidays and make-up workdays (调休) through the team
calendar; per-team overrides plug in through `TeamCalendar` when a tenant has them.
"""

from __future__ import annotations

from datetime import datetime, time

from bot.workdays import TeamCalendar

_NATIONAL = TeamCalendar()


def is_working_time(local: datetime, start: time, end: time, calendar: TeamCalendar | None = None) -> bool:
    return (calendar or _NATIONAL).is_working_day(local.date()) and start <= local.time().replace(tzinfo=None) < end
