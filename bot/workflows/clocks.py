"""How long a decision may wait: the seed's clocks, in one place for every workflow and the escalation.

Each kind of decision has one response window (2 working days, 24 h, 4 h …). It sets the
deadline when the decision is asked, again when it is handed over (转交: the new decider gets the
whole window from the moment they receive it, never the rest of someone else's), and the
escalation one more window after that deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.scope import Scope
from bot.workdays import TeamCalendar
from storage.tables import Decision, RiskLevel

# A department answers a request, and a reviewer a deliverable, within 2 working days.
ANSWER_WORKING_DAYS = 2
REVIEW_WORKING_DAYS = 2
# A blocker is answered within 24 hours, a high risk (严重问题) within 4, wall-clock.
BLOCKER_HOURS = 24
HIGH_RISK_HOURS = 4
OTHER_RISK_HOURS = 24


@dataclass(frozen=True)
class Window:
    """A response window: whole working days (ending at the end of a working day) or wall-clock hours."""

    working_days: int = 0
    hours: int = 0

    def after(self, start: datetime, calendar: TeamCalendar, timezone: str, workday_end: time) -> datetime:
        if self.working_days:
            return calendar.deadline_after(start, self.working_days, timezone, workday_end)
        return start + timedelta(hours=self.hours)


WORKING_DAY_KINDS = {"collaboration": ANSWER_WORKING_DAYS, "change": ANSWER_WORKING_DAYS,
                     "acceptance": REVIEW_WORKING_DAYS}
HOUR_KINDS = {"blocker": BLOCKER_HOURS}


def risk_hours(level: object) -> int:
    """How long a risk of this level (a RiskLevel code) may wait for its answer."""
    return HIGH_RISK_HOURS if level == RiskLevel.HIGH else OTHER_RISK_HOURS


def response_window(kind: str, data: Mapping[str, object] | None = None) -> Window | None:
    """The window a decision of this kind is answered in; None for a kind without a clock."""
    if kind in WORKING_DAY_KINDS:
        return Window(working_days=WORKING_DAY_KINDS[kind])
    if kind == "risk":
        return Window(hours=risk_hours((data or {}).get("level")))
    if kind in HOUR_KINDS:
        return Window(hours=HOUR_KINDS[kind])
    return None


def response_due(scope: Scope, kind: str, data: Mapping[str, object] | None = None, *,
                 timezone: str | None = None) -> datetime | None:
    """The deadline of a decision asked (or handed over) now, in the team's calendar and the time
    zone given (the decision's chat's), else the scope's."""
    window = response_window(kind, data)
    if window is None:
        return None
    return window.after(scope.clock.now(), scope.calendar, timezone or scope.timezone, scope.workday_end)


# Escalation (bot/scheduler/escalations.py): a decision still open (not even acknowledged) at its
# due_at is a reminder to the decider; still open one more equal period later, it goes to the
# decider's superior and the person who asked is told. The period is the decision's own window.
# The steps are claimed per (decider, due_at), so a hand-over, which sets both, starts them again.


def escalation_at(decision: Decision, calendar: TeamCalendar, timezone: str, workday_end: time) -> datetime | None:
    """When an unanswered decision goes up to the decider's superior: one more window after its due_at."""
    window = response_window(decision.kind, decision.data)
    if decision.due_at is None or window is None:
        return None
    return window.after(decision.due_at, calendar, timezone, workday_end)


def overdue_working_days(due_at: datetime, at: datetime, calendar: TeamCalendar, timezone: str) -> int:
    """Working days a task has been late at `at`: the working days after its due day, up to today."""
    tz = ZoneInfo(timezone)
    due_day, today = due_at.astimezone(tz).date(), at.astimezone(tz).date()
    return calendar.count_working_days(due_day + timedelta(days=1), today + timedelta(days=1))
