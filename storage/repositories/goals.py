"""Goals, stage goals and key results of one tenant, and the tasks linked to them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from storage.tables import Goal, KeyResult, Task, TaskCodeCounter
from storage.upsert import insert_for


class GoalRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def next_number(self, period: str) -> int:
        """Atomically the next number of a sequence (goal codes per year share the task counter table)."""
        stmt = insert_for(self.session, TaskCodeCounter).values(tenant_id=self.tenant_id, period=period, last=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "period"], set_={"last": TaskCodeCounter.last + 1}
        ).returning(TaskCodeCounter.last)
        return int((await self.session.execute(stmt)).scalar_one())

    async def add(self, row: Goal | KeyResult) -> None:
        row.tenant_id = self.tenant_id
        self.session.add(row)
        await self.session.flush()

    async def goal(self, code: str, *, lock: bool = False) -> Goal | None:
        query = select(Goal).where(Goal.tenant_id == self.tenant_id, Goal.code == code.upper())
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def key_result(self, code: str, *, lock: bool = False) -> KeyResult | None:
        query = select(KeyResult).where(KeyResult.tenant_id == self.tenant_id, KeyResult.code == code.upper())
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def goal_by_id(self, goal_id: int) -> Goal | None:
        query = select(Goal).where(Goal.tenant_id == self.tenant_id, Goal.id == goal_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def top_goals(self) -> list[Goal]:
        query = select(Goal).where(Goal.tenant_id == self.tenant_id, col(Goal.parent_id).is_(None))
        return list((await self.session.execute(query.order_by(col(Goal.id)))).scalars())

    async def stages(self, goal_id: int) -> list[Goal]:
        query = select(Goal).where(Goal.tenant_id == self.tenant_id, Goal.parent_id == goal_id)
        return list((await self.session.execute(query.order_by(col(Goal.id)))).scalars())

    async def key_results(self, goal_id: int) -> list[KeyResult]:
        query = select(KeyResult).where(KeyResult.tenant_id == self.tenant_id, KeyResult.goal_id == goal_id)
        return list((await self.session.execute(query.order_by(col(KeyResult.id)))).scalars())

    async def linked_tasks(self, goal_ids: Sequence[int], key_result_ids: Sequence[int]) -> list[Task]:
        """Tasks hung directly under these goals or key results (their subtasks follow them)."""
        if not goal_ids and not key_result_ids:
            return []
        query = select(Task).where(
            Task.tenant_id == self.tenant_id,
            or_(col(Task.goal_id).in_(list(goal_ids)), col(Task.key_result_id).in_(list(key_result_ids))),
        )
        return list((await self.session.execute(query.order_by(col(Task.id)))).scalars())
