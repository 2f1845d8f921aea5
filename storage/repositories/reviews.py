"""A chat's monthly review conclusions (复盘)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import ReviewNote


class ReviewRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def add(self, note: ReviewNote) -> ReviewNote:
        self.session.add(note)
        await self.session.flush()
        return note

    async def last(self, chat_id: int) -> ReviewNote | None:
        result = await self.session.execute(
            select(ReviewNote).where(ReviewNote.tenant_id == self.tenant_id, ReviewNote.chat_id == chat_id)
            .order_by(col(ReviewNote.created_at).desc(), col(ReviewNote.id).desc()).limit(1)
        )
        return result.scalar_one_or_none()
