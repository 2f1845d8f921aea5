"""Health of a task: 正常 (green), 即将到期 (yellow), 延期 (red)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from bot.core.cards import Template
from storage.tables import CLOSED_STATUSES, Task

Health = Literal["正常", "即将到期", "延期"]
DUE_SOON = timedelta(hours=24)

HEALTH_TEMPLATE: dict[Health, Template] = {"正常": "green", "即将到期": "yellow", "延期": "red"}
HEALTH_DOT = {"正常": "🟢", "即将到期": "🟡", "延期": "🔴"}


def task_health(task: Task, now: datetime) -> Health:
    if task.status in CLOSED_STATUSES or task.due_at is None:
        return "正常"
    if task.due_at <= now:
        return "延期"
    if task.due_at - now <= DUE_SOON:
        return "即将到期"
    return "正常"
