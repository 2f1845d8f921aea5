"""Who may do what with a task: the one place these rules are written.

The initiator coordinates, the owner executes, the approver accepts; people up the task tree
(the parent's owner, initiator and approver) may act on what hangs below them. Collaborators may
report progress. Anyone named on a task, anyone in its chat and tenant admins may see it.
Decisions are made from the data passed in, never from what a button or a message claims.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class TaskAction(Enum):
    UPDATE = "update"  # assign, add subtasks, change fields
    COMPLETE = "complete"
    REPORT_PROGRESS = "report_progress"
    VIEW = "view"
    # Until change requests exist, a deadline moves only by the initiator or the approver.
    CHANGE_DEADLINE = "change_deadline"


# What each action is called in a refusal.
ACTION_WORDS = {
    TaskAction.UPDATE: "修改", TaskAction.COMPLETE: "标记完成", TaskAction.REPORT_PROGRESS: "更新进度",
    TaskAction.VIEW: "查看", TaskAction.CHANGE_DEADLINE: "修改截止时间",
}


@dataclass(frozen=True)
class TaskParties:
    """The people a task names, by user id, and where it lives."""

    owner_id: int | None
    initiator_id: int | None
    approver_id: int | None
    chat_id: int | None
    collaborator_ids: frozenset[int] = field(default_factory=frozenset)
    # Consulted and informed: they may see the task, not act on it.
    watcher_ids: frozenset[int] = field(default_factory=frozenset)
    # Owners, initiators and approvers of the tasks above this one.
    ancestor_ids: frozenset[int] = field(default_factory=frozenset)

    def managers(self) -> set[int]:
        return {i for i in (self.owner_id, self.initiator_id, self.approver_id) if i is not None} | self.ancestor_ids


@dataclass(frozen=True)
class Actor:
    user_id: int
    chat_id: int | None = None
    is_admin: bool = False


def may(actor: Actor, action: TaskAction, task: TaskParties) -> bool:
    managers = task.managers()
    if action in (TaskAction.UPDATE, TaskAction.COMPLETE):
        return actor.user_id in managers
    if action is TaskAction.REPORT_PROGRESS:
        return actor.user_id in managers or actor.user_id in task.collaborator_ids
    if action is TaskAction.CHANGE_DEADLINE:
        deciders = {i for i in (task.initiator_id, task.approver_id) if i is not None} | task.ancestor_ids
        return actor.user_id in deciders
    named = managers | task.collaborator_ids | task.watcher_ids
    return actor.is_admin or actor.user_id in named or (task.chat_id is not None and actor.chat_id == task.chat_id)


def refusal(action: TaskAction, code: str) -> str:
    if action is TaskAction.VIEW:
        return f"任务 {code} 不在本群，你也不是它的相关人，无法查看。请在任务所在的群里查看，或请负责人把你加为协作人。"
    if action is TaskAction.REPORT_PROGRESS:
        return f"只有负责人、协作人、发起人或审批人可以{ACTION_WORDS[action]}（任务 {code}）。"
    if action is TaskAction.CHANGE_DEADLINE:
        return f"截止时间只能由发起人或审批人修改（任务 {code}）。需要延期请联系发起人。"
    return f"只有负责人、发起人或审批人可以{ACTION_WORDS[action]}（任务 {code}）。"


def ids(values: Iterable[int | None]) -> frozenset[int]:
    return frozenset(v for v in values if v is not None)


def may_manage_organisation(is_admin: bool) -> bool:
    """Departments, heads, superiors, admins, the team calendar and chat settings: admins only."""
    return is_admin


def may_manage_goal(actor_id: int, is_admin: bool, owner_id: int | None, initiator_id: int | None) -> bool:
    """Adding stages and key results, reporting a key result: the goal's owner or initiator, or an admin."""
    return is_admin or actor_id in {i for i in (owner_id, initiator_id) if i is not None}
