"""SQLModel tables. Every row that belongs to a customer carries its tenant_id."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# The queue tables' open rows: an inbox event not yet processed, an outbox message not yet sent.
INBOX_OPEN = "received"
OUTBOX_OPEN = "pending"


def _open_rows(name: str, status: str, *columns: str) -> Index:
    """An index over a queue table's open rows only (a partial index, on both databases).

    Finished rows stay for the retention period and would make an index on `status` large; open
    rows are few, so this one stays small. A query reaches it only with the status written as a
    literal (`is_open` below): a statement prepared with the status as a
    parameter cannot use it, so an update by id goes by the primary key, never by scanning the
    open rows (which had made taking an event from a backlog of n cost O(n)).
    """
    where = text(f"status = '{status}'")
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


def is_open(status: Any, open_status: str) -> ColumnElement[bool]:
    """`status = 'received'` with the value in the SQL text, so the open rows' index can serve it.

    Written into the statement when it is compiled (and cached), not rendered again at each
    execution as a `literal_execute` parameter would be: the outbox insert of every reply has it.
    """
    return status == literal_column(f"'{open_status}'", type_=String())


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware in UTC, on every engine.

    PostgreSQL's timestamptz already does this. SQLite has no timezone type: SQLAlchemy writes the
    wall-clock fields and drops the offset, and reads back naive datetimes. So values are
    normalised to UTC before they are written (naive values are taken to be UTC already), which
    also keeps SQLite's textual ordering and comparisons correct, and tagged UTC when read.
    The column DDL is unchanged: DateTime(timezone=True).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        value = as_utc(value)
        if value is None:
            return None
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Tenant(SQLModel, table=True):
    __tablename__ = "tenant"
    __table_args__ = (UniqueConstraint("platform", "tenant_key"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    tenant_key: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    task_code_prefix: str = Field(default="XZB", max_length=8)
    # Bumped with every change to the tenant's calendar_day rows: a process may keep the calendar
    # it read for as long as the tenant row it reads with each event shows the same version.
    calendar_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Department(SQLModel, table=True):
    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=200)
    platform_department_id: str | None = Field(default=None, max_length=128)
    # use_alter breaks the department <-> user foreign-key cycle at create time.
    head_user_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("user.id", use_alter=True, name="fk_department_head"), nullable=True
        ),
    )


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("tenant_id", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    platform_user_id: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    leader_user_id: int | None = Field(default=None, foreign_key="user.id")
    directory_synced_at: datetime | None = _ts()
    # Tenant admins manage the organisation, the calendar and chat settings.
    is_admin: bool = Field(default=False)
    # Department and superior set by command: the platform directory no longer overrides them.
    org_set_by_command: bool = Field(default=False)


class Chat(SQLModel, table=True):
    __tablename__ = "chat"
    __table_args__ = (UniqueConstraint("tenant_id", "platform_chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    platform_chat_id: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    chat_type: str = Field(default="group", max_length=16)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TaskStatus(StrEnum):
    """A task's life: pending → in progress → in review → done, or cancelled at any point.

    Stored as these values; the words people read (待启动, 进行中 …) belong to bot/presentation.
    """

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RiskLevel(StrEnum):
    """A risk's level, kept in its decision's data as `level`; the words (高 …) belong to presentation."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


OPEN_STATUSES: tuple[str, ...] = (TaskStatus.PENDING, TaskStatus.IN_PROGRESS, TaskStatus.IN_REVIEW)
CLOSED_STATUSES: tuple[str, ...] = (TaskStatus.DONE, TaskStatus.CANCELLED)


class Task(SQLModel, table=True):
    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_task_tenant_chat", "tenant_id", "chat_id"),
        Index("ix_task_tenant_owner", "tenant_id", "owner_id"),
        Index("ix_task_tenant_updated", "tenant_id", "updated_at"),
        Index("ix_task_tenant_due", "tenant_id", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    chat_id: int | None = Field(default=None, foreign_key="chat.id")
    code: str = Field(max_length=40)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    parent_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="user.id")
    approver_id: int | None = Field(default=None, foreign_key="user.id")
    initiator_id: int | None = Field(default=None, foreign_key="user.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    priority: str = Field(default=Priority.MEDIUM, max_length=8)
    status: str = Field(default=TaskStatus.PENDING, max_length=16)
    progress: int = Field(default=0)
    start_at: datetime | None = _ts()
    due_at: datetime | None = _ts(index=True)
    delivery_standard: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    resources: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    completed_at: datetime | None = _ts()
    # Where the task hangs in the goal tree (目标 → 阶段目标 → 任务), if anywhere: a goal or a key result.
    goal_id: int | None = Field(default=None, foreign_key="goal.id", index=True)
    key_result_id: int | None = Field(default=None, foreign_key="key_result.id", index=True)
    # The brief of a cross-department request (背景, 目标, 交付物), changed only by a change request.
    background: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    objective: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    deliverables: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Goal(SQLModel, table=True):
    """An objective (总目标, parent_id empty) or a stage goal under one (阶段目标)."""

    __tablename__ = "goal"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    code: str = Field(max_length=40)
    parent_id: int | None = Field(default=None, foreign_key="goal.id", index=True)
    title: str = Field(max_length=200)
    owner_id: int | None = Field(default=None, foreign_key="user.id")
    initiator_id: int | None = Field(default=None, foreign_key="user.id")
    chat_id: int | None = Field(default=None, foreign_key="chat.id")
    due_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class KeyResult(SQLModel, table=True):
    """A measurable key result (KR) of a goal: progress is current / target."""

    __tablename__ = "key_result"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    code: str = Field(max_length=40)
    goal_id: int = Field(foreign_key="goal.id", index=True)
    title: str = Field(max_length=200)
    target: float = Field(default=100.0)
    current: float = Field(default=0.0)
    unit: str = Field(default="", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Decision(SQLModel, table=True):
    """One decision asked of one person on a card, about one task.

    A department's answer to a collaboration request, a blocker or risk to answer, one head's
    consent to a change, a review of a deliverable. Decisions answered together (the departments of
    one request, the heads asked about one change) share `request`. The button carries `id` and
    `token`; who may answer and whether it is still open are read from this row, never the button.
    """

    __tablename__ = "decision"
    __table_args__ = (
        UniqueConstraint("tenant_id", "task_id", "kind", "number"),
        Index("ix_decision_decider_state", "tenant_id", "decider_id", "state"),
        Index("ix_decision_state_due", "state", "due_at"),
        Index("ix_decision_chat_created", "tenant_id", "chat_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: str = Field(max_length=32)
    # Per task and kind: 卡点 #1, #2 …
    number: int = Field(default=1)
    request: str = Field(default="", max_length=40)
    decider_id: int = Field(foreign_key="user.id")
    requester_id: int | None = Field(default=None, foreign_key="user.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    chat_id: int | None = Field(default=None, foreign_key="chat.id")
    state: str = Field(default="open", max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    token: str = Field(max_length=32)
    due_at: datetime | None = _ts()
    responded_at: datetime | None = _ts()
    decided_at: datetime | None = _ts()
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TaskMember(SQLModel, table=True):
    """The RACI roles beyond owner and approver: 协作人, 咨询人, 知会人."""

    __tablename__ = "task_member"
    __table_args__ = (UniqueConstraint("task_id", "user_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    role: str = Field(max_length=16)


class TaskEvent(SQLModel, table=True):
    """One line of a task's timeline: who did what, when."""

    __tablename__ = "task_event"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    kind: str = Field(max_length=32)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TaskCodeCounter(SQLModel, table=True):
    """The last sequence number handed out per tenant and month (XZB202611 + NN)."""

    __tablename__ = "task_code_counter"
    __table_args__ = (UniqueConstraint("tenant_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    period: str = Field(max_length=16)
    last: int = Field(default=0)


class InboxEvent(SQLModel, table=True):
    """An inbound event seen once; the unique key is what makes platform retries harmless.

    `payload` holds the neutral event, so an event acknowledged but not yet processed can be
    replayed after a crash; `lease_until` keeps two processes from replaying the same row, and
    `lease_owner` names the process holding it, so a graceful stop can give back exactly its own.
    """

    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("platform", "tenant_key", "event_id"),
        _open_rows("ix_inbox_open", INBOX_OPEN, "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    tenant_key: str = Field(max_length=128)
    event_id: str = Field(max_length=191)
    kind: str = Field(max_length=32)
    status: str = Field(default="received", max_length=16)
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    processed_at: datetime | None = _ts()
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    lease_until: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=32)


class OutboxMessage(SQLModel, table=True):
    """A message waiting to leave, or the record that it left.

    A pending row whose `next_attempt_at` lies ahead is either leased (claimed by a process, which
    `lease_owner` names, `attempts` counting the claim) or waiting out a retry's backoff (no owner).
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        _open_rows("ix_outbox_open", OUTBOX_OPEN, "id"),
        _open_rows("ix_outbox_open_chat", OUTBOX_OPEN, "platform", "tenant_key", "chat_id", "next_attempt_at"),
        Index("ix_outbox_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int | None = Field(default=None, foreign_key="tenant.id", index=True)
    platform: str = Field(max_length=32)
    tenant_key: str = Field(max_length=128)
    chat_id: str = Field(max_length=128)
    idempotency_key: str = Field(max_length=191)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    last_error: str | None = Field(default=None, max_length=500)
    platform_message_id: str | None = Field(default=None, max_length=191)
    task_code: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=32)


class DispatchClaim(SQLModel, table=True):
    """A scheduled push claimed once per (kind, target, period) across replicas and restarts."""

    __tablename__ = "dispatch_claim"
    __table_args__ = (UniqueConstraint("kind", "target", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    target: str = Field(max_length=191)
    period: str = Field(max_length=64)
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _day(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(Date(), nullable=nullable))


class CalendarDay(SQLModel, table=True):
    """A tenant's own calendar entry: a day off (假期) or an extra working day (调休), over the national one."""

    __tablename__ = "calendar_day"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    day: date = _day()
    workday: bool = Field(default=False)
    name: str = Field(default="", max_length=100)
    set_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Leave(SQLModel, table=True):
    """A person away (请假) from `start_day` to `end_day`, both included; 销假 ends it early."""

    __tablename__ = "leave"
    __table_args__ = (Index("ix_leave_tenant_user", "tenant_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    user_id: int = Field(foreign_key="user.id")
    start_day: date = _day()
    end_day: date = _day()
    set_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Standup(SQLModel, table=True):
    """A chat's daily stand-up: when to ask, remind and sum up, and who takes part.

    `next_at` is the next instant something is due (prompt, reminder or summary); the sweep reads
    only rows whose `next_at` has come, so its cost follows what is due, not the number of chats.
    """

    __tablename__ = "standup"
    __table_args__ = (UniqueConstraint("chat_id"), Index("ix_standup_next", "enabled", "next_at"))

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    chat_id: int = Field(foreign_key="chat.id")
    prompt_time: str = Field(default="09:30", max_length=5)
    remind_time: str | None = Field(default=None, max_length=5)
    summary_time: str | None = Field(default=None, max_length=5)
    member_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True)
    next_at: datetime | None = _ts()


class StandupAnswer(SQLModel, table=True):
    """One member's stand-up answer for one day (昨天 / 今天 / 障碍); the last one sent counts."""

    __tablename__ = "standup_answer"
    __table_args__ = (UniqueConstraint("chat_id", "user_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    chat_id: int = Field(foreign_key="chat.id")
    user_id: int = Field(foreign_key="user.id")
    day: date = _day()
    yesterday: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    today: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    blockers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ReviewNote(SQLModel, table=True):
    """A monthly review's conclusions (复盘): what went well, what to improve, the measures taken."""

    __tablename__ = "review_note"
    __table_args__ = (Index("ix_review_note_chat", "tenant_id", "chat_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    chat_id: int = Field(foreign_key="chat.id")
    author_id: int | None = Field(default=None, foreign_key="user.id")
    period: str = Field(max_length=7)
    good: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    improve: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    actions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
