"""Dispatch claims: a scheduled push is taken once per (kind, target, period), by one replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import DispatchClaim
from storage.upsert import insert_for


class DispatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, kind: str, target: str, period: str, at: datetime) -> bool:
        """True for the one caller that gets it; everyone after (a restart, a replica, a re-run) gets False."""
        stmt = (
            insert_for(self.session, DispatchClaim)
            .values(kind=kind, target=target[:191], period=period[:64], claimed_at=at)
            .on_conflict_do_nothing(index_elements=["kind", "target", "period"])
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]
