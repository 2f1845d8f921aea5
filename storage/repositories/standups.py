"""Stand-ups: each chat's settings and its members' answers per day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import Standup, StandupAnswer
from storage.upsert import insert_for


class StandupRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def for_chat(self, chat_id: int, *, lock: bool = False) -> Standup | None:
        query = select(Standup).where(Standup.tenant_id == self.tenant_id, Standup.chat_id == chat_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def ensure(self, chat_id: int) -> Standup:
        stmt = (insert_for(self.session, Standup)
                .values(tenant_id=self.tenant_id, chat_id=chat_id, prompt_time="09:30", member_ids=[], enabled=False)
                .on_conflict_do_nothing(index_elements=["chat_id"]))
        await self.session.execute(stmt)
        standup = await self.for_chat(chat_id, lock=True)
        assert standup is not None
        return standup

    async def enabled(self) -> list[Standup]:
        result = await self.session.execute(
            select(Standup).where(Standup.tenant_id == self.tenant_id, Standup.enabled == True)  # noqa: E712
            .order_by(col(Standup.id)).with_for_update()
        )
        return list(result.scalars())

    async def answers(self, chat_id: int, day: date) -> list[StandupAnswer]:
        result = await self.session.execute(
            select(StandupAnswer).where(StandupAnswer.tenant_id == self.tenant_id, StandupAnswer.chat_id == chat_id,
                                        StandupAnswer.day == day).order_by(col(StandupAnswer.updated_at))
        )
        return list(result.scalars())

    async def answer(self, chat_id: int, user_id: int, day: date, *, yesterday: str | None, today: str | None,
                     blockers: str | None, at: datetime) -> StandupAnswer:
        """The member's answer for the day; a later one replaces the parts it gives."""
        result = await self.session.execute(
            select(StandupAnswer).where(StandupAnswer.chat_id == chat_id, StandupAnswer.user_id == user_id,
                                        StandupAnswer.day == day)
        )
        row = result.scalar_one_or_none()
        if row is None:
            row = StandupAnswer(tenant_id=self.tenant_id, chat_id=chat_id, user_id=user_id, day=day)
            self.session.add(row)
        row.yesterday = yesterday or row.yesterday
        row.today = today or row.today
        if blockers is not None:
            row.blockers = blockers or None
        row.updated_at = at
        await self.session.flush()
        return row


async def standups_due_by(session: AsyncSession, at: datetime, *, limit: int = 5000) -> list[Standup]:
    """Every tenant's enabled stand-ups with something due by `at` (index ix_standup_next)."""
    result = await session.execute(
        select(Standup).where(Standup.enabled == True, col(Standup.next_at).is_not(None),  # noqa: E712
                              col(Standup.next_at) <= at).order_by(col(Standup.next_at)).limit(limit)
    )
    return list(result.scalars())
