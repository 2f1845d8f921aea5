"""Raising blockers and risks: who receives them and by when they must be answered."""

from __future__ import annotations

from bot.decisions import DecisionService
from bot.engine.errors import DomainError
from bot.engine.policy import TaskAction, issue_receiver
from bot.presentation.words import risk_level_word
from bot.scope import Scope
from bot.workflows.issues.commands import RaiseBlocker, RaiseRisk
from bot.workflows.issues.flow import BLOCKER, RISK
from storage.tables import Decision, Task, User


class IssueService:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.decisions = DecisionService(scope)

    async def _task(self, code: str) -> Task:
        task = await self.scope.tasks.require_for(code, actor=self.scope.user, action=TaskAction.RAISE_ISSUE)
        self.scope.tasks.check_open(task, "上报问题")
        return task

    async def _receiver(self, task: Task, named: User | None, example: str) -> User:
        directory = self.scope.directory
        receiver_id = issue_receiver(named.id if named else None, task.initiator_id)
        if receiver_id == self.scope.user.id:
            # Raised by the person it would go to: it goes up, to their superior.
            receiver_id = self.scope.user.leader_user_id
        receiver = await directory.user(receiver_id) if receiver_id is not None else None
        if receiver is None:
            raise DomainError(f"请写明需要谁处理，例如：{example}")
        return receiver

    async def blocker(self, command: RaiseBlocker) -> Decision:
        task = await self._task(command.code)
        named = await self.scope.people.resolve(command.receiver) if command.receiver else None
        receiver = await self._receiver(task, named, f"卡点 {task.code} {command.description} 需要 @某人")
        return await self.decisions.ask(
            BLOCKER, task, decider=receiver,
            data={"description": command.description, "impact": command.impact},
        )

    async def risk(self, command: RaiseRisk) -> Decision:
        task = await self._task(command.code)
        example = f"风险 {risk_level_word(command.level)} {task.code} …… 影响 …… 建议 ……"
        receiver = await self._receiver(task, None, example)
        return await self.decisions.ask(
            RISK, task, decider=receiver,
            data={"level": command.level.value, "description": command.description, "impact": command.impact,
                  "suggestion": command.suggestion},
        )

    async def of_task(self, code: str) -> tuple[Task, list[Decision]]:
        task = await self.scope.tasks.tasks.by_code(code)
        if task is None:
            raise DomainError(f"找不到任务 {code}。发送「本群任务」查看任务编号。")
        await self.scope.tasks.check(task, self.scope.user, TaskAction.VIEW, chat=self.scope.chat)
        return task, await self.decisions.repo.for_task(task.id or 0, (BLOCKER.kind, RISK.kind))
