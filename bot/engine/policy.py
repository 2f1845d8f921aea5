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
    # A deadline moves directly only by the initiator or the approver; the owner asks by change request.
    CHANGE_DEADLINE = "change_deadline"
    RAISE_ISSUE = "raise_issue"  # 卡点, 风险: anyone who works on the task
    REQUEST_CHANGE = "request_change"  # 变更: the owner, initiator or approver
    SUBMIT_FOR_REVIEW = "submit_for_review"  # 提交验收: the owner (or whoever manages the task)


# What each action is called in a refusal.
ACTION_WORDS = {
    TaskAction.UPDATE: "修改", TaskAction.COMPLETE: "标记完成", TaskAction.REPORT_PROGRESS: "更新进度",
    TaskAction.VIEW: "查看", TaskAction.CHANGE_DEADLINE: "修改截止时间",
    TaskAction.RAISE_ISSUE: "上报卡点或风险", TaskAction.REQUEST_CHANGE: "发起变更",
    TaskAction.SUBMIT_FOR_REVIEW: "提交验收",
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
    if action in (TaskAction.REPORT_PROGRESS, TaskAction.RAISE_ISSUE):
        return actor.user_id in managers or actor.user_id in task.collaborator_ids
    if action in (TaskAction.REQUEST_CHANGE, TaskAction.SUBMIT_FOR_REVIEW):
        return actor.user_id in managers
    if action is TaskAction.CHANGE_DEADLINE:
        deciders = {i for i in (task.initiator_id, task.approver_id) if i is not None} | task.ancestor_ids
        return actor.user_id in deciders
    named = managers | task.collaborator_ids | task.watcher_ids
    return actor.is_admin or actor.user_id in named or (task.chat_id is not None and actor.chat_id == task.chat_id)


def refusal(action: TaskAction, code: str) -> str:
    if action is TaskAction.VIEW:
        return f"任务 {code} 不在本群，你也不是它的相关人，无法查看。请在任务所在的群里查看，或请负责人把你加为协作人。"
    if action in (TaskAction.REPORT_PROGRESS, TaskAction.RAISE_ISSUE):
        return f"只有负责人、协作人、发起人或审批人可以{ACTION_WORDS[action]}（任务 {code}）。"
    if action is TaskAction.CHANGE_DEADLINE:
        return (f"截止时间只能由发起人或审批人修改（任务 {code}）。"
                f"需要延期请发送：变更 {code} 截止 新日期 原因 ……")
    return f"只有负责人、发起人或审批人可以{ACTION_WORDS[action]}（任务 {code}）。"


def ids(values: Iterable[int | None]) -> frozenset[int]:
    return frozenset(v for v in values if v is not None)


def may_manage_organisation(is_admin: bool) -> bool:
    """Departments, heads, superiors, admins, the team calendar and chat settings: admins only."""
    return is_admin


def may_record_leave(actor_id: int, is_admin: bool, person_id: int, person_leader_id: int | None,
                     person_head_id: int | None) -> bool:
    """Leave (请假, 销假) is recorded by the person, their superior, their department's head or an admin."""
    return is_admin or actor_id in {person_id, person_leader_id, person_head_id}


def may_manage_goal(actor_id: int, is_admin: bool, owner_id: int | None, initiator_id: int | None) -> bool:
    """Adding stages and key results, reporting a key result: the goal's owner or initiator, or an admin."""
    return is_admin or actor_id in {i for i in (owner_id, initiator_id) if i is not None}


# Who decides. Each workflow asks these, so the rules of the seed's mechanism live in one place.


def collaboration_decider(head_id: int | None) -> int | None:
    """A cross-department request is answered by the head (负责人) of each department asked."""
    return head_id


def issue_receiver(named_id: int | None, initiator_id: int | None) -> int | None:
    """A blocker goes to the person it names (需要 @x), else to the task's initiator; a risk to the initiator."""
    return named_id or initiator_id


def reviewer(approver_id: int | None, initiator_head_id: int | None, initiator_id: int | None,
             *, cross_department: bool) -> int | None:
    """A deliverable is accepted by the approver, else (across departments) the initiating head, else the initiator."""
    if approver_id is not None:
        return approver_id
    if cross_department and initiator_head_id is not None:
        return initiator_head_id
    return initiator_id


def change_deciders(collaborating_head_ids: Iterable[int | None], approver_id: int | None,
                    initiator_id: int | None, requester_id: int) -> list[int]:
    """Everyone who must agree to a change: every collaborating head and the approver, never the requester.

    With none of them (a task inside one team), the initiator decides a change someone else asks for.
    """
    candidates = dict.fromkeys([*collaborating_head_ids, approver_id])
    deciders = [i for i in candidates if i is not None and i != requester_id]
    if not deciders and initiator_id is not None and initiator_id != requester_id:
        deciders = [initiator_id]
    return deciders


def owner_asks_for_deadline_change(actor_id: int, owner_id: int | None, cross_department: bool) -> bool:
    """On a cross-department task the owner's new deadline is a change request, not an edit."""
    return cross_department and actor_id == owner_id


def may_hand_over_for_absent(actor_id: int, is_admin: bool, requester_id: int | None, decider_leader_id: int | None,
                             decider_head_id: int | None) -> bool:
    """While a decider is on leave, their 转交 may be made for them: by the person who asked, the
    decider's superior or department head, or an admin (so a question does not wait for their return)."""
    return is_admin or actor_id in {i for i in (requester_id, decider_leader_id, decider_head_id) if i is not None}


# 转交: every decision (request, blocker, risk, change, review) may be handed to someone else.


def may_hand_over(actor_id: int, decider_id: int, *, acts_for_absent: bool) -> bool:
    """The decider hands over their own decision; while they are on leave, whoever
    `may_hand_over_for_absent` names may do it for them. Nobody else, whatever a button says."""
    return actor_id == decider_id or acts_for_absent


class HandOverBar(Enum):
    """Why a decision may not go to the person named."""

    SAME = "same"  # they already decide it
    REQUESTER = "requester"  # the person who asked never decides their own request
    ALSO_ASKED = "also_asked"  # already asked in the same request: one person, one answer
    NOT_A_MEMBER = "not_a_member"  # someone of another company (the bot is nobody's member either)
    AWAY = "away"  # on leave today: it would wait for them as it waited for the decider


@dataclass(frozen=True)
class HandOverTarget:
    """The person a decision would be handed to, as the server knows them."""

    user_id: int
    tenant_id: int
    away: bool


def hand_over_bar(target: HandOverTarget, *, tenant_id: int, decider_id: int, requester_id: int | None,
                  fellow_decider_ids: Iterable[int]) -> HandOverBar | None:
    """Whom a decision may be handed to: any other member of the company who is at work, who did
    not ask for it and is not already answering the same request (a change needs each head's own
    consent, so one person may not hold two of its votes)."""
    if target.tenant_id != tenant_id:
        return HandOverBar.NOT_A_MEMBER
    if target.user_id == decider_id:
        return HandOverBar.SAME
    if target.user_id == requester_id:
        return HandOverBar.REQUESTER
    if target.user_id in set(fellow_decider_ids):
        return HandOverBar.ALSO_ASKED
    if target.away:
        return HandOverBar.AWAY
    return None
