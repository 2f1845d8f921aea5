"""What the task service hands to presentation: tasks with names resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.engine.health import Health
from storage.tables import CLOSED_STATUSES


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    kind: str
    detail: str


@dataclass(frozen=True)
class TaskView:
    code: str
    title: str
    status: str
    health: Health
    progress: int
    priority: str
    owner: str
    due_at: datetime | None
    timezone: str
    delivery_standard: str | None = None
    resources: str | None = None
    description: str | None = None
    initiator: str | None = None
    approver: str | None = None
    collaborators: tuple[str, ...] = ()
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()
    parent_code: str | None = None
    children: tuple[TaskView, ...] = ()
    timeline: tuple[TimelineEntry, ...] = field(default_factory=tuple)
    # When the view was built (the injectable clock's now): what "this year" means when showing dates.
    as_of: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES
