"""Decisions of one tenant: asked, looked up by the person who must answer, and answered."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import Decision


class DecisionRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def next_number(self, task_id: int, kind: str) -> int:
        """The next number of `kind` on a task; callers hold the task's row lock."""
        query = select(func.max(Decision.number)).where(
            Decision.tenant_id == self.tenant_id, Decision.task_id == task_id, Decision.kind == kind
        )
        return int((await self.session.execute(query)).scalar_one() or 0) + 1

    async def add(self, decision: Decision) -> Decision:
        decision.tenant_id = self.tenant_id
        self.session.add(decision)
        await self.session.flush()
        return decision

    async def by_id(self, decision_id: int, *, lock: bool = False) -> Decision | None:
        query = select(Decision).where(Decision.tenant_id == self.tenant_id, Decision.id == decision_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def for_task(self, task_id: int, kinds: Collection[str] = ()) -> list[Decision]:
        query = select(Decision).where(Decision.tenant_id == self.tenant_id, Decision.task_id == task_id)
        if kinds:
            query = query.where(col(Decision.kind).in_(list(kinds)))
        return list((await self.session.execute(query.order_by(col(Decision.id)))).scalars())

    async def in_request(self, task_id: int, request: str) -> list[Decision]:
        query = select(Decision).where(
            Decision.tenant_id == self.tenant_id, Decision.task_id == task_id, Decision.request == request
        )
        return list((await self.session.execute(query.order_by(col(Decision.id)))).scalars())

    async def open_for(self, decider_id: int) -> list[Decision]:
        """Everything waiting on one person, oldest first."""
        query = select(Decision).where(
            Decision.tenant_id == self.tenant_id, Decision.decider_id == decider_id,
            col(Decision.state).in_(["open", "acknowledged"]),
        )
        return list((await self.session.execute(query.order_by(col(Decision.created_at)))).scalars())


async def open_decisions_due_by(session: AsyncSession, at: datetime, *, since: datetime,
                                 limit: int = 5000) -> list[Decision]:
    """Every tenant's unanswered decisions whose deadline fell in (since, at] (ix_decision_state_due)."""
    query = (
        select(Decision)
        .where(Decision.state == "open", col(Decision.due_at) > since, col(Decision.due_at) <= at)
        .order_by(col(Decision.tenant_id), col(Decision.due_at), col(Decision.id))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def chat_decisions(session: AsyncSession, tenant_id: int, chat_id: int, kinds: Collection[str], *,
                         live: bool = False, start: datetime | None = None,
                         end: datetime | None = None) -> list[Decision]:
    """A chat's decisions of some kinds: the live ones, or those asked in [start, end)."""
    query = select(Decision).where(Decision.tenant_id == tenant_id, Decision.chat_id == chat_id,
                                   col(Decision.kind).in_(list(kinds)))
    if live:
        query = query.where(col(Decision.state).in_(["open", "acknowledged"]))
    if start is not None:
        query = query.where(col(Decision.created_at) >= start)
    if end is not None:
        query = query.where(col(Decision.created_at) < end)
    return list((await session.execute(query.order_by(col(Decision.created_at), col(Decision.id)))).scalars())
