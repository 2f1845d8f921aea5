"""When a team may be pinged: working days within working hours, in the team's timezone.

Working days are Monday to Friday for now; the Chinese holiday calendar with its make-up
workdays (调休) plugs in here when the cadence work brings it.
"""

from __future__ import annotations

from datetime import datetime, time


def is_working_time(local: datetime, start: time, end: time) -> bool:
    return local.weekday() < 5 and start <= local.time().replace(tzinfo=None) < end
