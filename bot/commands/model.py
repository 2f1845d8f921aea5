"""The typed commands the parser produces, and the error it returns instead of raising."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeAlias

# Letters then digits (XZB20231001); each subtask level adds -NN (XZB20231001-01-02).
# Matched against the upper-cased token with fullmatch.
CODE_PATTERN: Final[re.Pattern[str]] = re.compile(r"[A-Z]+[0-9][A-Z0-9]*(?:-[0-9]{2,3})*")

Priority: TypeAlias = Literal["high", "medium", "low"]
ParseErrorKind: TypeAlias = Literal["unknown_command", "missing_field", "bad_value", "bad_date", "empty"]


@dataclass(frozen=True, slots=True)
class PersonRef:
    """A mentioned user (user_id from a `<@ID>` token) or a plain typed name; exactly one is set."""

    user_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.name is None):
            raise ValueError("PersonRef needs exactly one of user_id or name")

    @classmethod
    def mention(cls, user_id: str) -> PersonRef:
        return cls(user_id=user_id)

    @classmethod
    def named(cls, name: str) -> PersonRef:
        return cls(name=name)


@dataclass(frozen=True, slots=True)
class NewTask:
    title: str
    owner: PersonRef
    due: datetime
    priority: Priority = "medium"
    delivery_standard: str | None = None
    collaborators: tuple[PersonRef, ...] = ()
    approver: PersonRef | None = None
    consulted: tuple[PersonRef, ...] = ()
    informed: tuple[PersonRef, ...] = ()
    resources: str | None = None
    description: str | None = None
    start: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewSubtask:
    """Owner, due and priority left as None are inherited from the parent task by the caller."""

    parent_code: str
    title: str
    owner: PersonRef | None = None
    due: datetime | None = None
    priority: Priority | None = None
    delivery_standard: str | None = None
    collaborators: tuple[PersonRef, ...] = ()
    resources: str | None = None


@dataclass(frozen=True, slots=True)
class AssignTask:
    code: str
    assignee: PersonRef


@dataclass(frozen=True, slots=True)
class ReportProgress:
    code: str
    percent: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class CompleteTask:
    code: str


@dataclass(frozen=True, slots=True)
class ListMyTasks:
    pass


@dataclass(frozen=True, slots=True)
class ListChatTasks:
    pass


@dataclass(frozen=True, slots=True)
class ShowTask:
    code: str


@dataclass(frozen=True, slots=True)
class ShowHelp:
    topic: str | None = None


TaskRole: TypeAlias = Literal["collaborator", "approver", "consulted", "informed"]
TaskText: TypeAlias = Literal["resources", "delivery_standard"]


@dataclass(frozen=True, slots=True)
class NameTaskPeople:
    """协作人/审批人/咨询人/知会人 <code> @a …: people named on a task after it was created."""

    code: str
    role: TaskRole
    people: tuple[PersonRef, ...]


@dataclass(frozen=True, slots=True)
class SetTaskText:
    code: str
    field: TaskText
    text: str


@dataclass(frozen=True, slots=True)
class SetDeadline:
    code: str
    due: datetime


@dataclass(frozen=True, slots=True)
class NewGoal:
    title: str
    due: datetime | None = None
    owner: PersonRef | None = None


@dataclass(frozen=True, slots=True)
class NewStage:
    goal_code: str
    title: str
    due: datetime | None = None
    owner: PersonRef | None = None


@dataclass(frozen=True, slots=True)
class NewKeyResult:
    goal_code: str
    title: str
    target: float
    unit: str = ""
    current: float = 0.0


@dataclass(frozen=True, slots=True)
class UpdateKeyResult:
    code: str
    current: float


@dataclass(frozen=True, slots=True)
class LinkTask:
    task_code: str
    target_code: str


@dataclass(frozen=True, slots=True)
class ShowGoalTree:
    code: str | None = None


@dataclass(frozen=True, slots=True)
class SetDepartmentHead:
    department: str
    head: PersonRef
    create: bool = False


@dataclass(frozen=True, slots=True)
class JoinDepartment:
    department: str
    members: tuple[PersonRef, ...]


@dataclass(frozen=True, slots=True)
class SetSuperior:
    person: PersonRef
    superior: PersonRef


@dataclass(frozen=True, slots=True)
class ShowOrganisation:
    department: str | None = None


@dataclass(frozen=True, slots=True)
class AddAdmin:
    person: PersonRef


@dataclass(frozen=True, slots=True)
class BindPushHook:
    """A group robot webhook key for this chat; None unbinds it."""

    key: str | None


@dataclass(frozen=True, slots=True)
class ParseError:
    """A reply-ready refusal: `message` tells the user what to type instead, with an example."""

    kind: ParseErrorKind
    message: str


class WorkflowCommand:
    """Base of the commands a workflow package defines (bot/workflows/…), beside the core ones."""

    __slots__ = ()


Command: TypeAlias = (
    WorkflowCommand
    | NewTask
    | NewSubtask
    | AssignTask
    | ReportProgress
    | CompleteTask
    | ListMyTasks
    | ListChatTasks
    | ShowTask
    | ShowHelp
    | NameTaskPeople
    | SetTaskText
    | SetDeadline
    | NewGoal
    | NewStage
    | NewKeyResult
    | UpdateKeyResult
    | LinkTask
    | ShowGoalTree
    | SetDepartmentHead
    | JoinDepartment
    | SetSuperior
    | ShowOrganisation
    | AddAdmin
    | BindPushHook
)
