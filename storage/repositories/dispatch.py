"""Dispatch claims: a scheduled push is taken once per (kind, target, period), by one replica."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Table, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import DispatchClaim
from storage.upsert import insert_for

# Keys per statement: well inside PostgreSQL's and SQLite's limits on one statement's size.
BATCH = 500


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
        """Which of these (kind, target, period) keys are taken: a read per batch instead of a write each.

        In batches, so twenty thousand keys never make one statement PostgreSQL cannot plan.
        """
        wanted = list(dict.fromkeys(keys))
        taken: set[tuple[str, str, str]] = set()
        for start in range(0, len(wanted), BATCH):
            result = await self.session.execute(
                select(DispatchClaim.kind, DispatchClaim.target, DispatchClaim.period).where(
                    tuple_(col(DispatchClaim.kind), col(DispatchClaim.target), col(DispatchClaim.period))
                    .in_(wanted[start:start + BATCH])
                )
            )
            taken.update((kind, target, period) for kind, target, period in result.all())
        return taken

    async def claim_many(self, keys: Iterable[tuple[str, str, str]], at: datetime) -> set[tuple[str, str, str]]:
        """Claim many keys at once; returns the ones this caller got (as `claim` does for one)."""
        wanted = list(dict.fromkeys((kind, target[:191], period[:64]) for kind, target, period in keys))
        if not wanted:
            return set()
        table: Table = DispatchClaim.__table__  # type: ignore[attr-defined]
        stmt = (
            insert_for(self.session, table)
            .on_conflict_do_nothing(index_elements=["kind", "target", "period"])
            .returning(table.c.kind, table.c.target, table.c.period)
        )
        rows = [{"kind": k, "target": t, "period": p, "claimed_at": at} for k, t, p in wanted]
        return {(kind, target, period) for kind, target, period in (await self.session.execute(stmt, rows)).all()}
