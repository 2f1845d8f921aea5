"""Asking departments to collaborate and applying their heads' answers."""

from __future__ import annotations

from bot.decisions import DecisionService, FlowEffects
from bot.decisions.flow import Answer, DecisionState
from bot.engine.errors import DomainError
from bot.engine.organisation import closest
from bot.engine.people import mention
from bot.engine.policy import collaboration_decider
from bot.engine.task_views import display_name
from bot.presentation.format import short_due
from bot.router import CardRefresh, Post
from bot.scope import Scope
from bot.workflows.collaboration.cards import overview_card
from bot.workflows.collaboration.commands import RequestCollaboration
from bot.workflows.collaboration.flow import FLOW, REQUEST, accepted_post, refused_post
from storage.tables import Decision, Department, Task, TaskStatus, User


class CollaborationService:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def _departments(self, names: tuple[str, ...]) -> list[tuple[Department, User]]:
        """Each department asked, with its head; unknown names and headless departments are refused."""
        directory = self.scope.directory
        known = await directory.departments()
        found: list[tuple[Department, User]] = []
        for name in dict.fromkeys(names):
            department = await directory.department_named(name)
            if department is None:
                guess = closest(name, [d.name for d in known])
                hint = f"你是不是想写「{guess}」？" if guess else "发送「组织」查看已有部门。"
                raise DomainError(f"没有找到部门「{name}」。{hint}")
            head_id = collaboration_decider(department.head_user_id)
            head = await directory.user(head_id) if head_id is not None else None
            if head is None:
                raise DomainError(f"{department.name}还没有负责人，协作请求无人答复。"
                                  f"请管理员先发送：设置部门 {department.name} 负责人 @某人")
            if department.id == self.scope.user.department_id:
                raise DomainError(f"{department.name}是你所在的部门，部门内的工作请用「新建任务」安排。")
            found.append((department, head))
        return found

    async def request(self, command: RequestCollaboration) -> tuple[Task, list[Decision]]:
        departments = await self._departments(command.departments)
        scope = self.scope
        task = await scope.tasks.create_request(
            title=command.title, due=command.due, start=command.start, priority=command.priority,
            background=command.background, objective=command.objective, deliverables=command.deliverables,
            actor=scope.user, chat=scope.chat,
        )
        decisions = DecisionService(scope)
        asked = [
            await decisions.ask(FLOW, task, decider=head, request=REQUEST, department_id=department.id,
                                data={"department": department.name})
            for department, head in departments
        ]
        return task, asked

    async def overview(self, task: Task) -> tuple[CardRefresh, list[Decision]]:
        """The request's overview card (keyed, so answers refresh it) and its decisions."""
        decisions = await DecisionService(self.scope).repo.in_request(task.id or 0, REQUEST)
        # The departments' parts are the request's subtasks: read together, once.
        parts = {t.code: t for t in await self.scope.tasks.tasks.children(task.id or 0)}
        ids = {i for d in decisions for i in (d.decider_id, d.requester_id) if i is not None}
        ids |= {p.owner_id for p in parts.values() if p.owner_id is not None}
        users = await self.scope.directory.users_by_ids(list(ids | {task.initiator_id or 0}))
        part_owners = {code: display_name(users.get(p.owner_id or 0)) for code, p in parts.items()}
        names = {uid: display_name(u) for uid, u in users.items()}
        initiator = users.get(task.initiator_id or 0)
        department = await self.scope.directory.department(initiator.department_id) if (
            initiator is not None and initiator.department_id is not None) else None
        card = overview_card(task, decisions, names, part_owners, department.name if department else "未设置",
                             self.scope.timezone, self.scope.clock.now())
        return CardRefresh(key=self.overview_key(task), card=card), decisions

    def overview_key(self, task: Task) -> str:
        conv = self.scope.conversation
        return f"collab:{conv.platform}:{conv.tenant_key}:{task.code}"

    async def answered(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        """A head's answer: the department's part on 接受, the initiator told either way."""
        decision, task, scope = answer.decision, answer.task, self.scope
        effects = FlowEffects()
        initiator = await scope.directory.user(task.initiator_id or 0)
        group = await decisions.chat_of(decision.chat_id)
        if answer.option.key == "accept":
            owner = answer.person or answer.actor
            part = await scope.tasks.add_part(task, title=f"{task.title}（{decision.data.get('department', '')}）",
                                             department_id=decision.department_id, owner=owner,
                                             coordinator=answer.actor)
            decision.data = {**decision.data, "part": part.code}
            effects.posts.append(accepted_post(decision, task, part, mention(owner), owner.id == answer.actor.id,
                                               group))
            asked = await decisions.repo.in_request(task.id or 0, REQUEST)
            if all(d.state == DecisionState.DECIDED and d.outcome == "accept" for d in asked):
                await scope.tasks.set_status(task, TaskStatus.IN_PROGRESS, allowed_from=(TaskStatus.PENDING,),
                                             actor=answer.actor,
                                             detail="所有部门已接受协作请求，进入进行中")
                who = mention(initiator) if initiator is not None else ""
                effects.headline = f"所有部门都已接受，{task.code} 进入进行中。"
                effects.posts.append(Post(text=f"🎉 所有部门都已接受协作请求 {task.code}，任务进入进行中。{who}",
                                          chat_id=group))
        else:
            later = short_due(answer.proposed, scope.timezone) if answer.proposed is not None else None
            if later is not None:
                decision.data = {**decision.data, "proposed_start": later}
            who = mention(initiator) if initiator is not None else "发起人"
            effects.posts.append(refused_post(decision, task, who, answer.text or "", later, group))
        refresh, _ = await self.overview(task)
        effects.refreshes.append(refresh)
        return effects


