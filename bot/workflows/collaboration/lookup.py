"""Which departments collaborate on a task: those whose heads accepted the request at its root."""

from __future__ import annotations

from bot.decisions import DecisionService
from bot.decisions.flow import DecisionState
from bot.workflows.collaboration.flow import KIND
from storage.tables import Decision, Task


async def root_of(decisions: DecisionService, task: Task) -> Task:
    current = task
    for _ in range(10):
        if current.parent_id is None:
            break
        parent = await decisions.tasks.by_id(current.parent_id)
        if parent is None:
            break
        current = parent
    return current


async def collaborating(decisions: DecisionService, task: Task) -> list[Decision]:
    """The accepted departments' decisions of the request the task belongs to (none inside one team)."""
    root = await root_of(decisions, task)
    asked = await decisions.repo.for_task(root.id or 0, (KIND,))
    return [d for d in asked if d.state == DecisionState.DECIDED and d.outcome == "accept"]


async def is_cross_department(decisions: DecisionService, task: Task) -> bool:
    root = await root_of(decisions, task)
    return bool(await decisions.repo.for_task(root.id or 0, (KIND,)))
