"""Building TaskViews: names, health and (on request) children and timeline."""

from __future__ import annotations

from bot.clock import Clock
from bot.engine.health import task_health
from bot.engine.views import TaskView, TimelineEntry
from storage.repositories import DirectoryRepository, TaskRepository
from storage.tables import Task, User


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
        members = await self.tasks.members(task.id or 0)
        ids = [i for i in (task.owner_id, task.approver_id, task.initiator_id) if i is not None]
        ids += [m.user_id for m in members]
        timeline = await self.tasks.timeline(task.id or 0) if with_timeline else []
        ids += [e.actor_id for e in timeline if e.actor_id is not None]
        users = await self.directory.users_by_ids(ids)

        def names(role: str) -> tuple[str, ...]:
            return tuple(display_name(users.get(m.user_id)) for m in members if m.role == role)

        parent_code = None
        if task.parent_id is not None:
            parent = await self.tasks.by_id(task.parent_id)
            parent_code = parent.code if parent else None
        children: tuple[TaskView, ...] = ()
        if with_children:
            children = tuple([await self.build(c) for c in await self.tasks.children(task.id or 0)])
        return TaskView(
            code=task.code, title=task.title, status=task.status,
            health=task_health(task, self.clock.now()), progress=task.progress, priority=task.priority,
            owner=display_name(users.get(task.owner_id)) if task.owner_id else "未指定",
            due_at=task.due_at, timezone=self.timezone, delivery_standard=task.delivery_standard,
            resources=task.resources, description=task.description,
            initiator=display_name(users.get(task.initiator_id)) if task.initiator_id else None,
            approver=display_name(users.get(task.approver_id)) if task.approver_id else None,
            collaborators=names("collaborator"), consulted=names("consulted"), informed=names("informed"),
            parent_code=parent_code, children=children,
            timeline=tuple(
                TimelineEntry(at=e.at, actor=display_name(users.get(e.actor_id)) if e.actor_id else "系统",
                              kind=e.kind, detail=e.detail)
                for e in timeline
            ),
        )
