"""Building TaskViews: names, health and (on request) children and timeline.

Views are built in batches: a list of tasks costs three queries (members, parents, people),
not three per task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from bot.clock import Clock
from bot.engine.health import task_health
from bot.engine.views import TaskView, TimelineEntry
from storage.repositories import DirectoryRepository, TaskRepository
from storage.tables import Task, User

# A RACI member of a task: (user id, role).
Member = tuple[int, str]


def display_name(user: User | None) -> str:
    """A person's name; without directory access (no contact permission) a short stand-in."""
    if user is None:
        return "未指定"
    return user.name or f"用户{user.platform_user_id[-4:]}"


class TaskViewBuilder:
    def __init__(self, tasks: TaskRepository, directory: DirectoryRepository, clock: Clock, timezone: str) -> None:
        self.tasks = tasks
        self.directory = directory
        self.clock = clock
        self.timezone = timezone

    async def build(self, task: Task, *, with_children: bool = False, with_timeline: bool = False) -> TaskView:
        (view,) = await self.build_many([task])
        if with_children:
            view = replace(view, children=tuple(await self.build_many(await self.tasks.children(task.id or 0))))
        if with_timeline:
            events = await self.tasks.timeline(task.id or 0)
            actors = await self.directory.users_by_ids([e.actor_id for e in events if e.actor_id is not None])
            view = replace(view, timeline=tuple(
                TimelineEntry(at=e.at, actor=display_name(actors.get(e.actor_id)) if e.actor_id else "系统",
                              kind=e.kind, detail=e.detail)
                for e in events
            ))
        return view

    async def build_many(self, tasks: Sequence[Task]) -> list[TaskView]:
        members: dict[int, list[Member]] = defaultdict(list)
        for member in await self.tasks.members_of([t.id for t in tasks if t.id is not None]):
            members[member.task_id].append((member.user_id, member.role))
        parents = await self.tasks.by_ids([t.parent_id for t in tasks if t.parent_id is not None])
        ids = [i for t in tasks for i in (t.owner_id, t.approver_id, t.initiator_id) if i is not None]
        ids += [user_id for group in members.values() for user_id, _ in group]
        users = await self.directory.users_by_ids(ids)
        return [self._view(t, members.get(t.id or 0, []), users, parents) for t in tasks]

    async def build_from(self, task: Task, members: Sequence[Member], users: dict[int, User]) -> TaskView:
        """One task's view from its members and people already read (TaskRepository.people)."""
        parents = await self.tasks.by_ids([task.parent_id]) if task.parent_id is not None else {}
        return self._view(task, members, users, parents)

    def of_new(self, task: Task, members: Sequence[Member], people: Sequence[User]) -> TaskView:
        """A task this transaction just created, from its members and the people it names."""
        return self._view(task, members, {u.id: u for u in people if u.id is not None}, {})

    def _view(
        self, task: Task, members: Sequence[Member], users: dict[int, User], parents: dict[int, Task]
    ) -> TaskView:
        def names(role: str) -> tuple[str, ...]:
            return tuple(display_name(users.get(user_id)) for user_id, member_role in members if member_role == role)

        parent = parents.get(task.parent_id) if task.parent_id is not None else None
        return TaskView(
            code=task.code, title=task.title, status=task.status,
            health=task_health(task, self.clock.now()), progress=task.progress, priority=task.priority,
            owner=display_name(users.get(task.owner_id)) if task.owner_id else "未指定",
            due_at=task.due_at, timezone=self.timezone, as_of=self.clock.now(),
            delivery_standard=task.delivery_standard,
            resources=task.resources, description=task.description,
            initiator=display_name(users.get(task.initiator_id)) if task.initiator_id else None,
            approver=display_name(users.get(task.approver_id)) if task.approver_id else None,
            collaborators=names("collaborator"), consulted=names("consulted"), informed=names("informed"),
            parent_code=parent.code if parent else None,
        )
