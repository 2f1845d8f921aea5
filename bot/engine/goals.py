"""Goals and work breakdown (目标拆解): 总目标 → 阶段目标 → 个人任务, with key results (OKR).

Codes: goals O + year + number (O2026001), stage goals add -S1, key results add -KR1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.commands import PersonRef
from bot.engine.errors import DomainError
from bot.engine.health import Health
from bot.engine.people import PeopleResolver
from bot.engine.policy import may_manage_goal
from bot.engine.rollup import goal_progress, key_result_progress
from bot.engine.task_views import TaskViewBuilder, display_name
from bot.engine.views import TaskView
from bot.limits import title_problem
from storage.repositories import DirectoryRepository, TaskRepository
from storage.repositories.goals import GoalRepository
from storage.tables import Chat, Goal, KeyResult, Task, User

GOAL_CODE = re.compile(r"O[0-9]{7}(?:-S[0-9]{1,2})?")
KR_CODE = re.compile(r"O[0-9]{7}(?:-S[0-9]{1,2})?-KR[0-9]{1,2}")
DUE_SOON = timedelta(hours=24)


@dataclass(frozen=True)
class KeyResultNode:
    code: str
    title: str
    current: float
    target: float
    unit: str
    progress: int
    tasks: tuple[TaskView, ...]


@dataclass(frozen=True)
class GoalNode:
    code: str
    title: str
    owner: str
    due_at: datetime | None
    timezone: str
    health: Health
    progress: int
    stages: tuple[GoalNode, ...]
    key_results: tuple[KeyResultNode, ...]
    tasks: tuple[TaskView, ...]


def _not_found(code: str) -> DomainError:
    return DomainError(f"找不到目标 {code}。发送「目标树」查看所有目标和编号。")


class GoalService:
    def __init__(self, session: AsyncSession, tenant_id: int, clock: Clock, *, people: PeopleResolver,
                 timezone: str) -> None:
        self.clock = clock
        self.people = people
        self.timezone = timezone
        self.goals = GoalRepository(session, tenant_id)
        self.tasks = TaskRepository(session, tenant_id)
        self.directory = DirectoryRepository(session, tenant_id)
        self.task_views = TaskViewBuilder(self.tasks, self.directory, clock, timezone)

    async def _goal(self, code: str, *, lock: bool = False) -> Goal:
        goal = await self.goals.goal(code, lock=lock)
        if goal is None:
            raise _not_found(code)
        return goal

    def _check_new(self, title: str, due: datetime | None) -> None:
        problem = title_problem(title)
        if problem is not None:
            raise DomainError(problem)
        if due is not None and due <= self.clock.now():
            raise DomainError("截止时间已经过去了，请换一个时间，例如：截止 12月31日")

    def _check_may_manage(self, goal: Goal, actor: User) -> None:
        if not may_manage_goal(actor.id or 0, actor.is_admin, goal.owner_id, goal.initiator_id):
            raise DomainError(f"只有目标 {goal.code} 的负责人、发起人或管理员可以修改它。")

    async def create(self, title: str, due: datetime | None, owner_ref: PersonRef | None, *, actor: User,
                     chat: Chat) -> Goal:
        self._check_new(title, due)
        owner = await self.people.resolve(owner_ref) if owner_ref else actor
        year = self.clock.now().astimezone(ZoneInfo(self.timezone)).year
        number = await self.goals.next_number(f"O{year}")
        goal = Goal(tenant_id=0, code=f"O{year}{number:03d}", title=title, owner_id=owner.id, initiator_id=actor.id,
                    chat_id=chat.id, due_at=due, created_at=self.clock.now())
        await self.goals.add(goal)
        return goal

    async def add_stage(self, parent_code: str, title: str, due: datetime | None, owner_ref: PersonRef | None, *,
                        actor: User, chat: Chat) -> Goal:
        self._check_new(title, due)
        parent = await self._goal(parent_code, lock=True)  # locked: stage numbers are handed out in turn
        if parent.parent_id is not None:
            raise DomainError(f"{parent.code} 已经是阶段目标了；阶段目标请加在总目标下。")
        self._check_may_manage(parent, actor)
        if due is not None and parent.due_at is not None and due > parent.due_at:
            raise DomainError(f"阶段目标的截止时间不能晚于总目标 {parent.code} 的截止时间。")
        owner = await self.people.resolve(owner_ref) if owner_ref else actor
        stage = Goal(tenant_id=0, code=f"{parent.code}-S{len(await self.goals.stages(parent.id or 0)) + 1}",
                     parent_id=parent.id, title=title, owner_id=owner.id, initiator_id=actor.id,
                     chat_id=chat.id, due_at=due or parent.due_at, created_at=self.clock.now())
        await self.goals.add(stage)
        return stage

    async def add_key_result(self, goal_code: str, title: str, target: float, unit: str, current: float, *,
                             actor: User) -> KeyResult:
        problem = title_problem(title)
        if problem is not None:
            raise DomainError(problem)
        if target <= 0:
            raise DomainError("目标值要大于 0，例如：目标值 1000人")
        goal = await self._goal(goal_code, lock=True)
        self._check_may_manage(goal, actor)
        number = len(await self.goals.key_results(goal.id or 0)) + 1
        kr = KeyResult(tenant_id=0, code=f"{goal.code}-KR{number}", goal_id=goal.id or 0, title=title,
                       target=target, current=current, unit=unit, created_at=self.clock.now())
        await self.goals.add(kr)
        return kr

    async def update_key_result(self, code: str, current: float, *, actor: User) -> KeyResult:
        kr = await self.goals.key_result(code, lock=True)
        if kr is None:
            raise DomainError(f"找不到关键结果 {code}。发送「目标树」查看编号。")
        goal = await self.goals.goal_by_id(kr.goal_id)
        assert goal is not None
        self._check_may_manage(goal, actor)
        if current < 0:
            raise DomainError("当前值不能是负数。")
        kr.current = current
        return kr

    async def link(self, task_code: str, target_code: str, *, task: Task) -> str:
        """Hang `task` (already checked by the caller) under a goal, stage or key result."""
        target = target_code.upper()
        if KR_CODE.fullmatch(target):
            kr = await self.goals.key_result(target)
            if kr is None:
                raise DomainError(f"找不到关键结果 {target}。发送「目标树」查看编号。")
            task.key_result_id, task.goal_id = kr.id, None
            return f"关键结果 {kr.code} {kr.title}"
        goal = await self._goal(target)
        task.goal_id, task.key_result_id = goal.id, None
        return f"{'阶段目标' if goal.parent_id else '目标'} {goal.code} {goal.title}"

    async def tree(self, code: str | None) -> list[GoalNode]:
        if code is None:
            goals = await self.goals.top_goals()
        else:
            goals = [await self._goal(code)]
        return [await self._node(goal) for goal in goals]

    async def _node(self, goal: Goal) -> GoalNode:
        stages = [await self._node(stage) for stage in await self.goals.stages(goal.id or 0)]
        krs = await self.goals.key_results(goal.id or 0)
        linked = await self.goals.linked_tasks([goal.id or 0], [kr.id or 0 for kr in krs])
        views = {t.id: await self.task_views.build(t, with_children=True) for t in linked}
        kr_nodes = [
            KeyResultNode(kr.code, kr.title, kr.current, kr.target, kr.unit, key_result_progress(kr.current, kr.target),
                          tuple(views[t.id] for t in linked if t.key_result_id == kr.id))
            for kr in krs
        ]
        direct = [views[t.id] for t in linked if t.goal_id == goal.id]
        progress = goal_progress([*(k.progress for k in kr_nodes), *(s.progress for s in stages),
                                  *(v.progress for v in direct)])
        owner = await self.directory.user(goal.owner_id) if goal.owner_id else None
        return GoalNode(goal.code, goal.title, display_name(owner), goal.due_at, self.timezone,
                        self._health(goal.due_at, progress), progress, tuple(stages), tuple(kr_nodes), tuple(direct))

    def _health(self, due_at: datetime | None, progress: int) -> Health:
        now = self.clock.now()
        if due_at is None or progress >= 100:
            return "正常"
        if due_at <= now:
            return "延期"
        return "即将到期" if due_at - now <= DUE_SOON else "正常"
