"""How long a decision may wait: the seed's clocks, in one place for every workflow and the escalation."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.scope import Scope

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


def hours_from(scope: Scope, hours: int) -> datetime:
    return scope.clock.now() + timedelta(hours=hours)
