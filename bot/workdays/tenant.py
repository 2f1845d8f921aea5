"""A tenant's calendar: the national one with the days its admins set (假期, 调休) on top."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.workdays.calendar import CalendarOverrides, TeamCalendar
from storage.repositories import CalendarRepository


async def tenant_calendar(session: AsyncSession, tenant_id: int) -> TeamCalendar:
    """Read once per transaction (a few rows a year), so every working-day question agrees."""
    days = await CalendarRepository(session, tenant_id).days()
    return TeamCalendar(CalendarOverrides(
        days_off={d.day: d.name for d in days if not d.workday},
        workdays=frozenset(d.day for d in days if d.workday),
    ))
