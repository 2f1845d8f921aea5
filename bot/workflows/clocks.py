"""How long a decision may wait: the seed's clocks, in one place for every workflow and the escalation."""

from __future__ import annotations

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


def working_days_from(scope: Scope, days: int) -> datetime:
    """The end of the working day `days` working days from now, in the team's calendar and timezone."""
    return scope.calendar.deadline_after(scope.clock.now(), days, scope.timezone, scope.workday_end)


def risk_hours(level: str | None) -> int:
    """How long a risk of this level (a RiskLevel code) may wait for its answer."""
    return HIGH_RISK_HOURS if level == RiskLevel.HIGH else OTHER_RISK_HOURS


def hours_from(scope: Scope, hours: int) -> datetime:
    return scope.clock.now() + timedelta(hours=hours)


# Escalation (bot/scheduler/escalations.py): a decision still open (not even acknowledged) at its
# due_at is a reminder to the decider; still open one more equal period later, it goes to the
# decider's superior and the person who asked is told. The period is the decision's own clock.
WORKING_DAY_KINDS = {"collaboration": ANSWER_WORKING_DAYS, "change": ANSWER_WORKING_DAYS,
                     "acceptance": REVIEW_WORKING_DAYS}
HOUR_KINDS = {"blocker": BLOCKER_HOURS}


def escalation_at(decision: Decision, calendar: TeamCalendar, timezone: str, workday_end: time) -> datetime | None:
    """When an unanswered decision goes up to the decider's superior: one more period after its due_at."""
    if decision.due_at is None:
        return None
    if decision.kind in WORKING_DAY_KINDS:
        return calendar.deadline_after(decision.due_at, WORKING_DAY_KINDS[decision.kind], timezone, workday_end)
    if decision.kind == "risk":
        return decision.due_at + timedelta(hours=risk_hours((decision.data or {}).get("level")))
    if decision.kind in HOUR_KINDS:
        return decision.due_at + timedelta(hours=HOUR_KINDS[decision.kind])
    return None


def overdue_working_days(due_at: datetime, at: datetime, calendar: TeamCalendar, timezone: str) -> int:
    """Working days a task has been late at `at`: the working days after its due day, up to today."""
    tz = ZoneInfo(timezone)
    due_day, today = due_at.astimezone(tz).date(), at.astimezone(tz).date()
    return calendar.count_working_days(due_day + timedelta(days=1), today + timedelta(days=1))
