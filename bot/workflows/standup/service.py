"""Setting up a chat's stand-up and recording answers; who takes part and who is away."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.decisions import DecisionService
from bot.engine.errors import DomainError
from bot.engine.policy import may_manage_organisation
from bot.engine.task_views import display_name
from bot.scope import Scope
from bot.workflows.issues.commands import RaiseBlocker
from bot.workflows.issues.flow import BLOCKER
from bot.workflows.issues.service import IssueService
from bot.workflows.standup.commands import AnswerStandup, ConfigureStandup
from bot.workflows.standup.schedule import SUMMARY, next_due
from storage.repositories import DirectoryRepository, DispatchRepository, LeaveRepository, TaskRepository
from storage.repositories.standups import StandupRepository
from storage.tables import Decision, Standup, StandupAnswer, Task, User

_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]+[0-9][A-Za-z0-9]*(?:-[0-9]{2,3})*)")


async def members_of(
    session: AsyncSession, tenant_id: int, standup: Standup,
) -> tuple[list[User], dict[int, list[Task]]]:
    """The members (as set, else everyone owning an open task in the chat) and their open tasks there."""
    tasks = await TaskRepository(session, tenant_id).in_chat(standup.chat_id)
    ids = list(standup.member_ids or []) or list(dict.fromkeys(t.owner_id for t in tasks if t.owner_id))
    users = await DirectoryRepository(session, tenant_id).users_by_ids(ids)
    by_owner: dict[int, list[Task]] = {}
    for task in tasks:
        if task.owner_id is not None:
            by_owner.setdefault(task.owner_id, []).append(task)
    return [users[i] for i in ids if i in users], by_owner


async def away_on(session: AsyncSession, tenant_id: int, day: date, members: list[User]) -> set[int]:
    return set(await LeaveRepository(session, tenant_id).away_on(day, [m.id for m in members if m.id]))


@dataclass
class Recorded:
    answer: StandupAnswer
    summary_at: str | None
    blocker: Decision | None = None
    blocker_refused: str | None = None


class StandupService:
    def __init__(self, scope: Scope) -> None:
        assert scope.tenant.id is not None
        self.scope = scope
        self.repo = StandupRepository(scope.session, scope.tenant.id)

    def today(self) -> date:
        return self.scope.clock.now().astimezone(ZoneInfo(self.scope.timezone)).date()

    async def current(self) -> Standup | None:
        return await self.repo.for_chat(self.scope.chat.id or 0)

    async def configure(self, command: ConfigureStandup) -> Standup:
        if not may_manage_organisation(self.scope.user.is_admin):
            admins = "、".join(display_name(a) for a in await self.scope.directory.admins()) or "（暂无）"
            raise DomainError(f"只有管理员可以设置站会。当前管理员：{admins}。")
        standup = await self.repo.ensure(self.scope.chat.id or 0)
        if command.close:
            standup.enabled = False
        else:
            standup.enabled = True
            if command.prompt is not None:
                standup.prompt_time = f"{command.prompt:%H:%M}"
            if command.remind is not None:
                standup.remind_time = f"{command.remind:%H:%M}"
            if command.summary is not None:
                standup.summary_time = f"{command.summary:%H:%M}"
            if command.members:
                people = await self.scope.people.resolve_all(command.members)
                standup.member_ids = [p.id for p in people if p.id is not None]
        order = [t for t in (standup.prompt_time, standup.remind_time, standup.summary_time) if t]
        if order != sorted(order):
            raise DomainError("站会的时间顺序应为：提问 → 提醒 → 汇总。"
                              f"当前：提问 {standup.prompt_time}，提醒 {standup.remind_time or '未设置'}，"
                              f"汇总 {standup.summary_time or '未设置'}。")
        standup.next_at = next_due(standup, self.scope.clock.now(), self.scope.calendar, self.scope.timezone)
        return standup

    async def answer(self, command: AnswerStandup) -> Recorded:
        standup = await self.current()
        if standup is None or not standup.enabled:
            raise DomainError("本群没有开启站会。管理员可发送：站会 时间 09:30")
        day = self.today()
        claimed = await DispatchRepository(self.scope.session).already_claimed(
            [(SUMMARY, f"chat:{self.scope.chat.id}", day.isoformat())])
        if claimed:
            raise DomainError("今天的站会已经汇总，不能再修改。明天的站会见。")
        answer = await self.repo.answer(self.scope.chat.id or 0, self.scope.user.id or 0, day,
                                        yesterday=command.yesterday, today=command.today,
                                        blockers=command.blockers, at=self.scope.clock.now())
        recorded = Recorded(answer, standup.summary_time)
        if command.blockers:
            await self._raise_blocker(command.blockers, recorded)
        return recorded

    async def _raise_blocker(self, text: str, recorded: Recorded) -> None:
        """A blocker naming a task becomes a 卡点 on that task (once for the same words)."""
        for match in _CODE.finditer(text):
            code = match.group(1).upper()
            task = await self.scope.tasks.tasks.by_code(code)
            if task is None:
                continue
            description = text.replace(match.group(1), "").strip(" ,，:：") or text
            earlier = await DecisionService(self.scope).repo.for_task(task.id or 0, (BLOCKER.kind,))
            if any(d.requester_id == self.scope.user.id and (d.data or {}).get("description") == description
                   and d.state in ("open", "acknowledged") for d in earlier):
                return
            try:
                recorded.blocker = await IssueService(self.scope).blocker(
                    RaiseBlocker(code=code, description=description, impact="站会上报"))
            except DomainError as refused:
                recorded.blocker_refused = refused.message
            return
