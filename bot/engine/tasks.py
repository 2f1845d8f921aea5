"""Tasks: create, break down, assign, report progress, complete; progress rolls up the tree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.commands import NewSubtask, NewTask, PersonRef
from bot.engine.errors import DomainError
from bot.engine.people import PeopleResolver
from bot.engine.policy import Actor, TaskAction, TaskParties, ids, may, refusal
from bot.engine.task_views import Member, TaskViewBuilder, display_name
from bot.engine.transitions import transition
from bot.engine.views import TaskView
from bot.limits import field_problem, title_problem
from bot.presentation.words import closed_phrase
from storage.repositories import DirectoryRepository, TaskRepository
from storage.tables import CLOSED_STATUSES, OPEN_STATUSES, Chat, Task, TaskStatus, Tenant, User

ROLE_COLLABORATOR, ROLE_CONSULTED, ROLE_INFORMED = "collaborator", "consulted", "informed"
ROLE_APPROVER = "approver"
# 总任务 → 子任务 → 子任务的子任务 (XZB20231001-01-02), as a work breakdown needs and no deeper.
MAX_DEPTH = 3
ROLE_WORDS = {ROLE_COLLABORATOR: "协作人", ROLE_APPROVER: "审批人", ROLE_CONSULTED: "咨询人", ROLE_INFORMED: "知会人"}


def _not_found(code: str) -> DomainError:
    return DomainError(f"找不到任务 {code}。发送「本群任务」查看任务编号。")


class TaskService:
    def __init__(
        self, session: AsyncSession, tenant: Tenant, clock: Clock, *, people: PeopleResolver, timezone: str
    ) -> None:
        assert tenant.id is not None
        self.tenant = tenant
        self.clock = clock
        self.people = people
        self.tz = ZoneInfo(timezone)
        self.tasks = TaskRepository(session, tenant.id)
        self.directory = DirectoryRepository(session, tenant.id)
        self.views = TaskViewBuilder(self.tasks, self.directory, clock, timezone)

    def _now(self) -> datetime:
        return self.clock.now()

    async def _require(self, code: str, *, lock: bool = False) -> Task:
        task = await self.tasks.by_code(code, lock=lock)
        if task is None:
            raise _not_found(code)
        return task

    async def _new_code(self) -> str:
        period = self._now().astimezone(self.tz).strftime("%Y%m")
        sequence = await self.tasks.next_sequence(period)
        return f"{self.tenant.task_code_prefix}{period}{sequence:02d}"

    def _check_future(self, due: datetime | None) -> None:
        if due is not None and due <= self._now():
            raise DomainError(
                f"截止时间 {due.astimezone(self.tz):%Y-%m-%d %H:%M} 已经过去了，请换一个时间，例如：截止 明天 18点"
            )

    @staticmethod
    def _check_lengths(title: str, **fields: str | None) -> None:
        labels = {"delivery_standard": "交付标准", "resources": "资源", "description": "描述"}
        problems = [title_problem(title), *(field_problem(labels[k], v) for k, v in fields.items())]
        for problem in problems:
            if problem is not None:
                raise DomainError(problem)

    async def create(self, cmd: NewTask, *, actor: User, chat: Chat) -> TaskView:
        view, _ = await self.create_named(cmd, actor=actor, chat=chat)
        return view

    async def create_named(self, cmd: NewTask, *, actor: User, chat: Chat) -> tuple[TaskView, list[User]]:
        """The new task, and the people it names (owner, then RACI members) to be told."""
        self._check_lengths(cmd.title, delivery_standard=cmd.delivery_standard, resources=cmd.resources,
                            description=cmd.description)
        self._check_future(cmd.due)
        owner = await self.people.resolve(cmd.owner)
        approver = await self.people.resolve(cmd.approver) if cmd.approver else None
        task = await self.tasks.add(
            Task(
                tenant_id=self.tenant.id or 0, chat_id=chat.id, code=await self._new_code(),
                title=cmd.title, description=cmd.description, owner_id=owner.id,
                approver_id=approver.id if approver else None, initiator_id=actor.id,
                department_id=actor.department_id, priority=cmd.priority, status=TaskStatus.PENDING,
                start_at=cmd.start, due_at=cmd.due, delivery_standard=cmd.delivery_standard,
                resources=cmd.resources, created_at=self._now(), updated_at=self._now(),
            )
        )
        members = [
            *await self._add_members(task, cmd.collaborators, ROLE_COLLABORATOR),
            *await self._add_members(task, cmd.consulted, ROLE_CONSULTED),
            *await self._add_members(task, cmd.informed, ROLE_INFORMED),
        ]
        await self._record(task, actor, "created", f"创建任务，负责人 {display_name(owner)}")
        # Built from what this command just wrote and resolved: a new task has nothing else to read.
        people = [u for u in (owner, approver, actor, *(m for m, _ in members)) if u is not None]
        view = self.views.of_new(task, [(u.id or 0, role) for u, role in members], people)
        return view, list({u.id: u for u in (owner, *(m for m, _ in members))}.values())

    async def create_subtask(self, cmd: NewSubtask, *, actor: User, chat: Chat) -> TaskView:
        self._check_lengths(cmd.title, delivery_standard=cmd.delivery_standard, resources=cmd.resources)
        # Locked: sibling codes (-01, -02 …) are handed out one creation at a time.
        parent = await self._require(cmd.parent_code, lock=True)
        if parent.code.count("-") >= MAX_DEPTH - 1:
            raise DomainError(f"子任务最多 {MAX_DEPTH} 层（例如 XZB20231001-01-02），{parent.code} 下不能再分。")
        if parent.status in CLOSED_STATUSES:
            raise DomainError(f"任务 {parent.code} 已{closed_phrase(parent.status)}，不能再添加子任务。")
        await self._check(parent, actor, TaskAction.UPDATE)
        owner = await self.people.resolve(cmd.owner) if cmd.owner else None
        if owner is None and parent.owner_id is not None:
            owner = await self.directory.user(parent.owner_id)
        siblings = await self.tasks.children(parent.id or 0)
        code = f"{parent.code}-{len(siblings) + 1:02d}"
        while await self.tasks.by_code(code) is not None:
            code = f"{parent.code}-{int(code.rsplit('-', 1)[1]) + 1:02d}"
        if cmd.due is not None:
            self._check_future(cmd.due)
        due = cmd.due or parent.due_at
        if due is not None and parent.due_at is not None and due > parent.due_at:
            raise DomainError(
                f"子任务的截止时间不能晚于主任务 {parent.code} 的截止时间"
                f"（{parent.due_at.astimezone(self.tz):%m月%d日 %H:%M}）。"
            )
        task = await self.tasks.add(
            Task(
                tenant_id=self.tenant.id or 0, chat_id=parent.chat_id or chat.id, code=code, title=cmd.title,
                parent_id=parent.id, owner_id=owner.id if owner else None, initiator_id=actor.id,
                approver_id=parent.approver_id, department_id=parent.department_id,
                priority=cmd.priority or parent.priority, status=TaskStatus.PENDING, due_at=due,
                delivery_standard=cmd.delivery_standard, resources=cmd.resources,
                created_at=self._now(), updated_at=self._now(),
            )
        )
        await self._add_members(task, cmd.collaborators, ROLE_COLLABORATOR)
        await self._record(task, actor, "created", f"创建子任务（主任务 {parent.code}）")
        await self._record(parent, actor, "subtask", f"新增子任务 {code} {cmd.title}")
        await self._roll_up(parent)
        return await self.views.build(task)

    async def assign(self, code: str, assignee_ref: PersonRef, *, actor: User) -> TaskView:
        task = await self._require(code, lock=True)
        if task.status in CLOSED_STATUSES:
            raise DomainError(f"任务 {task.code} 已{closed_phrase(task.status)}，不能再指派。")
        await self._check(task, actor, TaskAction.UPDATE)
        assignee = await self.people.resolve(assignee_ref)
        if assignee.id == task.owner_id:
            return await self.views.build(task)
        task.owner_id = assignee.id
        task.updated_at = self._now()
        await self._record(task, actor, "assigned", f"负责人改为 {display_name(assignee)}")
        return await self.views.build(task)

    async def report_progress(self, code: str, percent: int, note: str, *, actor: User) -> TaskView:
        task = await self._require(code, lock=True)
        if task.status in CLOSED_STATUSES:
            raise DomainError(f"任务 {task.code} 已{closed_phrase(task.status)}，无需再更新进度。")
        await self._check(task, actor, TaskAction.REPORT_PROGRESS)
        task.progress = percent
        if task.status == TaskStatus.PENDING and percent > 0:
            transition(task, TaskStatus.IN_PROGRESS, allowed_from=(TaskStatus.PENDING,))
        task.updated_at = self._now()
        await self._record(task, actor, "progress", f"进度 {percent}%" + (f"：{note}" if note else ""))
        await self._roll_up_from(task)
        return await self.views.build(task)

    async def complete(self, code: str, *, actor: User) -> tuple[TaskView, bool]:
        """Mark a task done; pressing twice changes nothing the second time."""
        task = await self._require(code, lock=True)
        if task.status == TaskStatus.DONE:
            return await self.views.build(task), False
        if task.status == TaskStatus.CANCELLED:
            raise DomainError(f"任务 {task.code} 已取消，不能标记完成。")
        members, people = await self.tasks.people(task)
        await self._check(task, actor, TaskAction.COMPLETE, members=members)
        await self.finish(task, actor=actor)
        return await self.views.build_from(task, members, people), True

    async def name_people(
        self, code: str, role: str, refs: tuple[PersonRef, ...], *, actor: User
    ) -> tuple[TaskView, list[User]]:
        """RACI after creation; returns the task and the people newly named (to be told once)."""
        task = await self._require(code, lock=True)
        self.check_open(task, "修改")
        await self._check(task, actor, TaskAction.UPDATE)
        people = await self.people.resolve_all(refs)
        if role == ROLE_APPROVER:
            new = [people[0]] if task.approver_id != people[0].id else []
            task.approver_id = people[0].id
        else:
            existing = {m.user_id for m in await self.tasks.members(task.id or 0) if m.role == role}
            new = [u for u in people if u.id not in existing]
            for user in new:
                await self.tasks.add_member(task.id or 0, user.id or 0, role)
        if new:
            task.updated_at = self._now()
            names = "、".join(display_name(u) for u in new)
            await self._record(task, actor, role, f"{ROLE_WORDS[role]}：{names}")
        return await self.views.build(task), new

    async def set_text(self, code: str, field: str, text: str, *, actor: User) -> TaskView:
        label = {"resources": "资源", "delivery_standard": "交付标准"}[field]
        problem = field_problem(label, text)
        if problem is not None:
            raise DomainError(problem)
        task = await self._require(code, lock=True)
        self.check_open(task, "修改")
        await self._check(task, actor, TaskAction.UPDATE)
        setattr(task, field, text)
        task.updated_at = self._now()
        await self._record(task, actor, field, f"{label}改为：{text}")
        return await self.views.build(task)

    async def set_deadline(self, code: str, due: datetime, *, actor: User) -> TaskView:
        task = await self._require(code, lock=True)
        self.check_open(task, "修改截止时间")
        await self._check(task, actor, TaskAction.CHANGE_DEADLINE)
        await self.move_deadline(task, due, actor=actor)
        return await self.views.build(task)

    async def move_deadline(self, task: Task, due: datetime, *, actor: User, why: str = "") -> None:
        """Move a locked task's deadline once whoever may has decided; the tree's dates stay consistent."""
        self._check_future(due)
        parent = await self.tasks.by_id(task.parent_id) if task.parent_id is not None else None
        if parent is not None and parent.due_at is not None and due > parent.due_at:
            raise DomainError(f"子任务的截止时间不能晚于主任务 {parent.code} 的截止时间"
                              f"（{parent.due_at.astimezone(self.tz):%m月%d日 %H:%M}）。")
        later = [c for c in await self.tasks.children(task.id or 0)
                 if c.due_at is not None and c.due_at > due and c.status not in CLOSED_STATUSES]
        if later:
            codes = "、".join(c.code for c in later[:5])
            raise DomainError(f"子任务 {codes} 的截止时间晚于新的截止时间，请先调整子任务。")
        before = task.due_at.astimezone(self.tz).strftime("%m月%d日 %H:%M") if task.due_at else "未设置"
        task.due_at = due
        task.updated_at = self._now()
        await self._record(task, actor, "deadline",
                           f"截止时间 {before} → {due.astimezone(self.tz):%m月%d日 %H:%M}{why}")

    async def create_request(
        self, *, title: str, due: datetime, start: datetime | None, priority: str, background: str,
        objective: str, deliverables: str | None, actor: User, chat: Chat,
    ) -> Task:
        """A cross-department task: the sender initiates and coordinates it until departments accept."""
        self._check_lengths(title, description=background)
        for label, text in (("目标", objective), ("交付物", deliverables)):
            problem = field_problem(label, text)
            if problem is not None:
                raise DomainError(problem)
        self._check_future(due)
        task = await self.tasks.add(Task(
            tenant_id=self.tenant.id or 0, chat_id=chat.id, code=await self._new_code(), title=title,
            owner_id=actor.id, initiator_id=actor.id, department_id=actor.department_id, priority=priority,
            status=TaskStatus.PENDING, start_at=start, due_at=due, background=background, objective=objective,
            deliverables=deliverables, created_at=self._now(), updated_at=self._now(),
        ))
        await self._record(task, actor, "created", "发起跨部门协作")
        return task

    async def add_part(self, parent: Task, *, title: str, department_id: int | None, owner: User,
                       coordinator: User) -> Task:
        """A department's part of a locked task, once its head has accepted it (the head coordinates it)."""
        siblings = await self.tasks.children(parent.id or 0)
        code = f"{parent.code}-{len(siblings) + 1:02d}"
        while await self.tasks.by_code(code) is not None:
            code = f"{parent.code}-{int(code.rsplit('-', 1)[1]) + 1:02d}"
        task = await self.tasks.add(Task(
            tenant_id=self.tenant.id or 0, chat_id=parent.chat_id, code=code, title=title, parent_id=parent.id,
            owner_id=owner.id, initiator_id=coordinator.id, approver_id=parent.approver_id,
            department_id=department_id, priority=parent.priority, status=TaskStatus.PENDING, start_at=parent.start_at,
            due_at=parent.due_at, delivery_standard=parent.deliverables, created_at=self._now(),
            updated_at=self._now(),
        ))
        await self._record(task, coordinator, "created", f"创建子任务（{parent.code} 的部门分工）")
        await self._record(parent, coordinator, "subtask", f"新增子任务 {code} {title}")
        return task

    async def set_status(self, task: Task, status: str, *, allowed_from: tuple[str, ...], actor: User,
                         detail: str) -> bool:
        """Move a locked task along its life (待验收, back to 进行中) as a decision says; False if it was not there."""
        if not transition(task, status, allowed_from=allowed_from):
            return False
        task.updated_at = self._now()
        await self._record(task, actor, "status", detail)
        await self._roll_up_from(task)
        return True

    async def finish(self, task: Task, *, actor: User, detail: str = "标记完成") -> None:
        """Complete a locked task whose completion was decided (accepted on review)."""
        open_children = await self.tasks.open_children(task.id or 0)
        if open_children:
            codes = "、".join(open_children[:5])
            raise DomainError(f"还有 {len(open_children)} 个子任务未完成（{codes}），请先完成子任务。")
        transition(task, TaskStatus.DONE, allowed_from=OPEN_STATUSES)
        task.progress = 100
        task.completed_at = self._now()
        task.updated_at = self._now()
        await self._record(task, actor, "completed", detail)
        await self._roll_up_from(task)

    async def check(self, task: Task, actor: User, action: TaskAction, *, chat: Chat | None = None) -> None:
        """Raise the refusal when `actor` may not do `action` on `task` (seen from `chat`)."""
        await self._check(task, actor, action, chat=chat)

    async def require_for(self, code: str, *, actor: User, action: TaskAction) -> Task:
        """The task, locked, once `actor` may do `action` on it (for other services acting on tasks)."""
        task = await self._require(code, lock=True)
        await self._check(task, actor, action)
        return task

    async def note(self, task: Task, actor: User, kind: str, detail: str) -> None:
        """A line in the task's timeline, for changes other services make to it."""
        task.updated_at = self._now()
        await self._record(task, actor, kind, detail)

    @staticmethod
    def check_open(task: Task, what: str) -> None:
        """Refuse, saying so, to `what` a finished or cancelled task."""
        if task.status in CLOSED_STATUSES:
            raise DomainError(f"任务 {task.code} 已{closed_phrase(task.status)}，不能再{what}。")

    async def view(self, code: str, *, actor: User, chat: Chat, with_timeline: bool = True) -> TaskView:
        task = await self._require(code)
        await self._check(task, actor, TaskAction.VIEW, chat=chat)
        return await self.views.build(task, with_children=True, with_timeline=with_timeline)

    async def list_chat(self, chat: Chat) -> list[TaskView]:
        return await self.views.build_many(await self.tasks.in_chat(chat.id or 0))

    async def list_involving(self, user: User) -> list[TaskView]:
        return await self.views.build_many(await self.tasks.involving(user.id or 0))

    async def _add_members(self, task: Task, people: tuple[PersonRef, ...], role: str) -> list[tuple[User, str]]:
        added = await self.people.resolve_all(people)
        for user in added:
            await self.tasks.add_member(task.id or 0, user.id or 0, role)
        return [(user, role) for user in added]

    async def _record(self, task: Task, actor: User | None, kind: str, detail: str) -> None:
        await self.tasks.record(task.id or 0, kind, detail, actor_id=actor.id if actor else None, at=self._now())

    async def _ancestors(self, task: Task) -> list[Task]:
        chain: list[Task] = []
        current = task
        while current.parent_id is not None and len(chain) < 20:
            parent = await self.tasks.by_id(current.parent_id)
            if parent is None:
                break
            chain.append(parent)
            current = parent
        return chain

    async def _parties(self, task: Task, members: Sequence[Member] | None = None) -> TaskParties:
        if members is None:
            members = [(m.user_id, m.role) for m in await self.tasks.members(task.id or 0)]
        ancestors = await self._ancestors(task)
        return TaskParties(
            owner_id=task.owner_id, initiator_id=task.initiator_id, approver_id=task.approver_id,
            chat_id=task.chat_id,
            collaborator_ids=ids(user_id for user_id, role in members if role == ROLE_COLLABORATOR),
            watcher_ids=ids(user_id for user_id, role in members if role != ROLE_COLLABORATOR),
            ancestor_ids=ids(i for a in ancestors for i in (a.owner_id, a.initiator_id, a.approver_id)),
        )

    async def _check(self, task: Task, actor: User, action: TaskAction, *, chat: Chat | None = None,
                     members: Sequence[Member] | None = None) -> None:
        who = Actor(user_id=actor.id or 0, chat_id=chat.id if chat is not None else None, is_admin=actor.is_admin)
        if not may(who, action, await self._parties(task, members)):
            raise DomainError(refusal(action, task.code))

    async def _roll_up_from(self, task: Task) -> None:
        if task.parent_id is not None:
            # Locked before its children are read: concurrent reports on siblings roll up in turn,
            # each seeing the other's committed value, so the parent ends at the true mean.
            parent = await self.tasks.by_id(task.parent_id, lock=True)
            if parent is not None:
                await self._roll_up(parent)

    async def _roll_up(self, parent: Task) -> None:
        """A parent's progress is the mean of its live children's; the walk continues upward."""
        children = [c for c in await self.tasks.children(parent.id or 0) if c.status != TaskStatus.CANCELLED]
        if children and parent.status not in CLOSED_STATUSES:
            parent.progress = round(sum(c.progress for c in children) / len(children))
            if parent.status == TaskStatus.PENDING and any(c.status != TaskStatus.PENDING for c in children):
                transition(parent, TaskStatus.IN_PROGRESS, allowed_from=(TaskStatus.PENDING,))
            parent.updated_at = self._now()
        await self._roll_up_from(parent)
