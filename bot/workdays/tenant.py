"""A tenant's calendar: the national one with the days its admins set (假期, 调休) on top."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.workdays.calendar import CalendarOverrides, TeamCalendar
from storage.repositories import CalendarRepository
from storage.tables import Tenant

# Past this many tenants the kept calendars start afresh rather than grow without bound.
MAX_KEPT = 100_000


async def tenant_calendar(session: AsyncSession, tenant_id: int) -> TeamCalendar:
    """Read once per transaction (a few rows a year), so every working-day question agrees."""
    days = await CalendarRepository(session, tenant_id).days()
    return TeamCalendar(CalendarOverrides(
        days_off={d.day: d.name for d in days if not d.workday},
        workdays=frozenset(d.day for d in days if d.workday),
    ))


class CalendarCache:
    """Tenants' calendars kept in this process while each tenant's `calendar_version` stays.

    Every change to a tenant's 假期 or 调休 bumps the version on its row, so a calendar read under
    the version the caller's tenant row shows is still the tenant's calendar. The row is read
    first: a change committed in between is at worst kept under the older version and read again
    the next time.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[int, TeamCalendar]] = {}

    async def get(self, session: AsyncSession, tenant: Tenant) -> TeamCalendar:
        assert tenant.id is not None
        kept = self._kept.get(tenant.id)
        if kept is not None and kept[0] == tenant.calendar_version:
            return kept[1]
        calendar = await tenant_calendar(session, tenant.id)
        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[tenant.id] = (tenant.calendar_version, calendar)
        return calendar

    def clear(self) -> None:
        self._kept.clear()
