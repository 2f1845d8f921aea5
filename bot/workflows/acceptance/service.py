"""Submitting a deliverable for review, to the person the policy names."""

from __future__ import annotations

from bot.decisions import DecisionService
from bot.decisions.flow import LIVE_STATES
from bot.engine.errors import DomainError
from bot.engine.policy import TaskAction, reviewer
from bot.presentation.words import closed_phrase
from bot.scope import Scope
from bot.workflows.acceptance.commands import SubmitForReview
from bot.workflows.acceptance.flow import FLOW, KIND
from bot.workflows.collaboration.lookup import is_cross_department, root_of
from storage.tables import CLOSED_STATUSES, Decision, Task, TaskStatus, User


class AcceptanceService:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.decisions = DecisionService(scope)

    async def _reviewer(self, task: Task) -> User:
        directory, me = self.scope.directory, self.scope.user
        cross = await is_cross_department(self.decisions, task)
        head_id = None
        if cross:
            # Across departments the requesting side accepts what the others deliver.
            root = await root_of(self.decisions, task)
            initiator = await directory.user(root.initiator_id or 0)
            department = await directory.department(initiator.department_id) if (
                initiator is not None and initiator.department_id is not None) else None
            head_id = department.head_user_id if department is not None else None
            if head_id is None or head_id == me.id:
                head_id = root.initiator_id
        chosen = reviewer(task.approver_id, head_id, task.initiator_id, cross_department=cross)
        if chosen == me.id:
            chosen = me.leader_user_id
        found = await directory.user(chosen) if chosen is not None else None
        if found is None:
            raise DomainError(f"没有可以验收 {task.code} 的人。请先设置审批人：审批人 {task.code} @某人")
        return found

    async def submit(self, command: SubmitForReview) -> tuple[Task, Decision]:
        scope = self.scope
        task = await scope.tasks.require_for(command.code, actor=scope.user, action=TaskAction.SUBMIT_FOR_REVIEW)
        if task.status in CLOSED_STATUSES:
            raise DomainError(f"任务 {task.code} 已{closed_phrase(task.status)}，无需验收。")
        live = [d for d in await self.decisions.repo.for_task(task.id or 0, (KIND,)) if d.state in LIVE_STATES]
        if live:
            raise DomainError(f"任务 {task.code} 已在验收中，请等待验收结果。")
        children = [c for c in await scope.tasks.tasks.children(task.id or 0) if c.status not in CLOSED_STATUSES]
        if children:
            codes = "、".join(c.code for c in children[:5])
            raise DomainError(f"还有 {len(children)} 个子任务未完成（{codes}），完成后再提交验收。")
        reviewer_user = await self._reviewer(task)
        await scope.tasks.set_status(task, TaskStatus.IN_REVIEW, actor=scope.user,
                                     allowed_from=(TaskStatus.PENDING, TaskStatus.IN_PROGRESS),
                                     detail=f"提交验收：{command.deliverable}")
        decision = await self.decisions.ask(
            FLOW, task, decider=reviewer_user,
            data={"deliverable": command.deliverable, "self_check": command.self_check,
                  "standard": task.delivery_standard or task.deliverables},
        )
        return task, decision
