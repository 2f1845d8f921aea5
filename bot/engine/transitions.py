"""Status changes people race on: decided once, on a locked row.

Call with a task read under lock (`TaskRepository.by_code(code, lock=True)`): a second press of
the same button waits for the first, then finds the task already moved and changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.engine.errors import DomainError
from bot.presentation.words import status_word
from storage.tables import Task


def transition(task: Task, to: str, *, allowed_from: Collection[str]) -> bool:
    """Move `task` to `to`. False when it is there already (one press, one effect)."""
    if task.status == to:
        return False
    if task.status not in allowed_from:
        raise DomainError(f"任务 {task.code} 当前是「{status_word(task.status)}」，不能改为「{status_word(to)}」。")
    task.status = to
    return True
