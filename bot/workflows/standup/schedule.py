"""When a stand-up's prompt, reminder and summary fall, on the team's working days.

The rules: each step happens at its time on working days (tenant calendar, chat timezone). The
prompt is skipped when the sweep comes more than PROMPT_GRACE late (after downtime: a stand-up
asked at lunchtime helps nobody), and so is the reminder; the summary of the day is still sent
that day, marked late. Nothing is caught up from an earlier day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.workdays import TeamCalendar
from storage.tables import Standup

PROMPT, REMIND, SUMMARY = "standup_prompt", "standup_remind", "standup_summary"
PROMPT_GRACE = timedelta(hours=2)
SUMMARY_LATE = timedelta(minutes=30)


def _time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


def phases(standup: Standup, day: date, timezone: str) -> list[tuple[str, datetime]]:
    """The day's steps, in order, as instants."""
    tz = ZoneInfo(timezone)
    found: list[tuple[str, datetime]] = []
    for kind, text in ((PROMPT, standup.prompt_time), (REMIND, standup.remind_time), (SUMMARY, standup.summary_time)):
        moment = _time(text)
        if moment is not None:
            found.append((kind, datetime.combine(day, moment, tzinfo=tz)))
    return sorted(found, key=lambda p: p[1])


def next_due(standup: Standup, after: datetime, calendar: TeamCalendar, timezone: str) -> datetime | None:
    """The first step strictly after `after`, on a working day; None when the stand-up is off."""
    if not standup.enabled:
        return None
    day = after.astimezone(ZoneInfo(timezone)).date()
    for _ in range(400):
        if calendar.is_working_day(day):
            for _, instant in phases(standup, day, timezone):
                if instant > after:
                    return instant
        day += timedelta(days=1)
    return None
