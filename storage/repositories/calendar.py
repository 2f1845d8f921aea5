"""A tenant's calendar overrides (假期, 调休) and its people's leave (请假)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import CalendarDay, Leave, Tenant
from storage.upsert import insert_for


class CalendarRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def days(self) -> list[CalendarDay]:
        """Every override of the tenant: a few dozen a year, read whole."""
        result = await self.session.execute(
            select(CalendarDay).where(CalendarDay.tenant_id == self.tenant_id).order_by(col(CalendarDay.day))
        )
        return list(result.scalars())

    async def set_days(self, days: Sequence[date], *, workday: bool, name: str, by: int | None,
                       at: datetime) -> None:
        """Each day becomes a day off (or an extra working day); what was set for it before is replaced.

        The tenant's calendar_version moves in the same transaction, so a calendar cached by any
        process is read afresh once this commits.
        """
        if not days:
            return
        await self.session.execute(
            update(Tenant).where(col(Tenant.id) == self.tenant_id)
            .values(calendar_version=Tenant.calendar_version + 1)
        )
        for day in days:
            stmt = insert_for(self.session, CalendarDay).values(
                tenant_id=self.tenant_id, day=day, workday=workday, name=name, set_by_id=by, created_at=at,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "day"],
                set_={"workday": workday, "name": name, "set_by_id": by, "created_at": at},
            )
            await self.session.execute(stmt)


class LeaveRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def add(self, leave: Leave) -> Leave:
        self.session.add(leave)
        await self.session.flush()
        return leave

    async def current_or_future(self, user_id: int, today: date) -> list[Leave]:
        result = await self.session.execute(
            select(Leave).where(Leave.tenant_id == self.tenant_id, Leave.user_id == user_id,
                                col(Leave.end_day) >= today).order_by(col(Leave.start_day))
        )
        return list(result.scalars())

    async def away_on(self, day: date, user_ids: Sequence[int] | None = None) -> dict[int, Leave]:
        """Who is on leave on `day` (of `user_ids`, when given), with their leave."""
        query = select(Leave).where(Leave.tenant_id == self.tenant_id, col(Leave.start_day) <= day,
                                    col(Leave.end_day) >= day)
        if user_ids is not None:
            if not user_ids:
                return {}
            query = query.where(col(Leave.user_id).in_(set(user_ids)))
        result = await self.session.execute(query)
        return {leave.user_id: leave for leave in result.scalars()}

    async def overlapping(self, first: date, last: date) -> list[Leave]:
        result = await self.session.execute(
            select(Leave).where(Leave.tenant_id == self.tenant_id, col(Leave.start_day) <= last,
                                col(Leave.end_day) >= first).order_by(col(Leave.start_day))
        )
        return list(result.scalars())

    async def remove(self, leave: Leave) -> None:
        await self.session.delete(leave)
        await self.session.flush()
