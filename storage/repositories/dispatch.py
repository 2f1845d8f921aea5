"""Dispatch claims: a scheduled push is taken once per (kind, target, period), by one replica."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

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

    async def already_claimed(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Which of these (kind, target, period) keys are taken: one read instead of a write each."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        result = await self.session.execute(
            select(DispatchClaim.kind, DispatchClaim.target, DispatchClaim.period).where(
                tuple_(col(DispatchClaim.kind), col(DispatchClaim.target), col(DispatchClaim.period)).in_(wanted)
            )
        )
        return {(kind, target, period) for kind, target, period in result.all()}
