"""Asking for a change, and applying it once everyone asked has agreed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.decisions import DecisionService, FlowEffects
from bot.decisions.flow import LIVE_STATES, Answer, DecisionState
from bot.engine.errors import DomainError
from bot.engine.people import mention
from bot.engine.policy import TaskAction, change_deciders, owner_asks_for_deadline_change
from bot.engine.task_views import display_name
from bot.router import CardRefresh, Post
from bot.scope import Scope
from bot.workflows.changes.cards import change_card
from bot.workflows.changes.commands import RequestChange
from bot.workflows.changes.flow import FLOW, KIND
from bot.workflows.collaboration.lookup import collaborating, is_cross_department
from storage.tables import Decision, Task, User


class ChangeService:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.decisions = DecisionService(scope)

    def _when(self, at: datetime | None) -> str:
        if at is None:
            return "未设置"
        local = at.astimezone(ZoneInfo(self.scope.timezone))
        return f"{local.month}月{local.day}日 {local:%H:%M}"

    async def request(self, command: RequestChange) -> tuple[Task, list[Decision], bool]:
        """The change asked of everyone who must agree; applied at once (True) when nobody else has a say."""
        scope = self.scope
        task = await scope.tasks.require_for(command.code, actor=scope.user, action=TaskAction.REQUEST_CHANGE)
        scope.tasks.check_open(task, "变更")
        live = [d for d in await self.decisions.repo.for_task(task.id or 0, (KIND,)) if d.state in LIVE_STATES]
        if live:
            raise DomainError(f"任务 {task.code} 已有变更 #{live[0].request.removeprefix('change-')} 在等待确认，"
                              "请等它有了结果再提新的变更。")
        changes, lines = await self._describe(task, command)
        heads = [d.decider_id for d in await collaborating(self.decisions, task)]
        decider_ids = change_deciders(heads, task.approver_id, task.initiator_id, scope.user.id or 0)
        number = 1 + len({d.request for d in await self.decisions.repo.for_task(task.id or 0, (KIND,))})
        data: dict[str, object] = {"changes": changes, "lines": lines, "reason": command.reason}
        if not decider_ids:
            await self._apply(task, changes, number, scope.user)
            return task, [], True
        users = await scope.directory.users_by_ids(decider_ids)
        asked = [await self.decisions.ask(FLOW, task, decider=users[i], request=f"change-{number}",
                                          data=data) for i in decider_ids if i in users]
        return task, asked, False

    async def _describe(self, task: Task, command: RequestChange) -> tuple[dict[str, object], list[str]]:
        changes: dict[str, object] = {}
        lines: list[str] = []
        if command.due is not None:
            if command.due <= self.scope.clock.now():
                raise DomainError("新的截止时间已经过去了，请换一个时间。")
            changes["due"] = command.due.isoformat()
            lines.append(f"截止：{self._when(task.due_at)} → {self._when(command.due)}")
        if command.owner is not None:
            owner = await self.scope.people.resolve(command.owner)
            current = await self.scope.directory.user(task.owner_id or 0)
            changes["owner"] = owner.id
            lines.append(f"负责人：{display_name(current)} → {display_name(owner)}")
        if command.objective is not None:
            changes["objective"] = command.objective
            lines.append(f"目标：{task.objective or '未写'} → {command.objective}")
        if command.deliverables is not None:
            changes["deliverables"] = command.deliverables
            lines.append(f"交付物：{task.deliverables or task.delivery_standard or '未写'} → {command.deliverables}")
        return changes, lines

    async def _apply(self, task: Task, changes: dict[str, object], number: int, actor: User) -> None:
        why = f"（变更 #{number}）"
        tasks = self.scope.tasks
        if "due" in changes:
            await tasks.move_deadline(task, datetime.fromisoformat(str(changes["due"])), actor=actor, why=why)
        if "owner" in changes:
            owner = await self.scope.directory.user(int(str(changes["owner"])))
            task.owner_id = owner.id if owner is not None else task.owner_id
            await tasks.note(task, actor, "assigned", f"负责人改为 {display_name(owner)}{why}")
        if "objective" in changes:
            task.objective = str(changes["objective"])
            await tasks.note(task, actor, "objective", f"目标改为：{task.objective}{why}")
        if "deliverables" in changes:
            task.deliverables = str(changes["deliverables"])
            if task.delivery_standard is not None or task.background is None:
                task.delivery_standard = task.deliverables
            await tasks.note(task, actor, "deliverables", f"交付物改为：{task.deliverables}{why}")

    async def overview(self, task: Task, request: str) -> CardRefresh:
        asked = await self.decisions.repo.in_request(task.id or 0, request)
        ids = {i for d in asked for i in (d.decider_id, d.requester_id) if i is not None}
        users = await self.scope.directory.users_by_ids(list(ids))
        card = change_card(task, asked, {uid: display_name(u) for uid, u in users.items()}, self.scope.timezone)
        return CardRefresh(key=self.overview_key(task, request), card=card)

    def overview_key(self, task: Task, request: str) -> str:
        conv = self.scope.conversation
        return f"change:{conv.platform}:{conv.tenant_key}:{task.code}:{request}"

    async def answered(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        decision, task = answer.decision, answer.task
        asked = await decisions.repo.in_request(task.id or 0, decision.request)
        number = int(decision.request.removeprefix("change-"))
        requester = await self.scope.directory.user(decision.requester_id or 0)
        to = mention(requester) if requester is not None else ""
        chat = await decisions.chat_of(decision.chat_id)
        effects = FlowEffects()
        if answer.option.key == "veto":
            for other in asked:
                if other.id != decision.id and other.state in LIVE_STATES:
                    decisions.withdraw(other, f"变更已被 {display_name(answer.actor)} 驳回")
                    effects.refreshes.extend(await decisions.refreshes(other))
            await self.scope.tasks.note(task, answer.actor, "change_rejected", f"变更 #{number} 未生效（被驳回）")
            effects.posts.append(Post(text=f"❌ 变更 #{number}（{task.code}）被 {display_name(answer.actor)} 驳回："
                                           f"{answer.text}。变更未生效。{to}", chat_id=chat))
        elif all(d.state == DecisionState.DECIDED and d.outcome == "approve" for d in asked):
            requester_user = requester or answer.actor
            await self._apply(task, dict(decision.data.get("changes", {})), number, requester_user)
            await self.scope.tasks.note(task, answer.actor, "change_applied", f"变更 #{number} 全员同意，已生效")
            lines = "；".join(str(line) for line in decision.data.get("lines", []))
            effects.headline = f"所有人都已同意，变更 #{number} 已生效。"
            effects.posts.append(Post(text=f"✅ 变更 #{number}（{task.code}）已生效：{lines}。{to}", chat_id=chat))
        effects.refreshes.append(await self.overview(task, decision.request))
        return effects


async def deadline_is_a_change(scope: Scope, task: Task) -> bool:
    """Whether `截止 <code> <date>` from this sender must go through a change request."""
    if task.initiator_id == scope.user.id or task.approver_id == scope.user.id:
        return False
    cross = await is_cross_department(DecisionService(scope), task)
    return owner_asks_for_deadline_change(scope.user.id or 0, task.owner_id, cross)
