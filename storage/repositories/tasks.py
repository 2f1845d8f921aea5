"""Tasks, their RACI members and their timeline, for one tenant."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Integer, and_, bindparam, insert, literal, null, or_, union_all
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, select

from storage.db import COUNTER_ENGINE
from storage.driver import DriverStatement, connection_of, one_of, one_of_values
from storage.driver_rows import DriverQuery
from storage.tables import OPEN_STATUSES, Chat, Task, TaskCodeCounter, TaskEvent, TaskMember, TaskStatus, User
from storage.upsert import insert_for


class TaskRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def next_sequence(self, period: str) -> int:
        """Atomically take the next number in a period (a month), unique across replicas and restarts.

        On PostgreSQL the number is taken in a transaction of its own (on the database's counter
        pool, `storage/db.py`), so the counter row is locked for one statement instead of for the
        whole command: tasks created at once in one tenant (processing slots, workers, replicas) no
        longer queue behind each other's transactions. The price is a gap in the numbers when a
        create fails after taking its number. SQLite has one writer anyway, and its one pooled
        connection is the open transaction's, so there the number is taken inside it.
        """
        values = {"tenant_id": self.tenant_id, "period": period}
        counter: AsyncEngine | None = self.session.info.get(COUNTER_ENGINE)
        if counter is not None:
            try:
                async with counter.connect() as conn:
                    [(taken,)] = await _TAKE_SEQUENCE.fetch(conn, values)
                    return int(taken)
            except DBAPIError:
                # A tenant created by this very transaction: the foreign key check elsewhere waits
                # for our commit (the counter pool's lock timeout ends that wait) or fails.
                pass
        [(taken,)] = await _TAKE_SEQUENCE.fetch(await connection_of(self.session), values)
        return int(taken)

    async def add(self, task: Task) -> Task:
        """Insert the task at once and hand it back as a row of the session (tracked like a loaded one)."""
        task.tenant_id = self.tenant_id
        table = Task.__table__  # type: ignore[attr-defined]
        values = {c.key: getattr(task, c.key) for c in table.columns if c.key != "id"}
        # On the driver (storage/driver.py): the unit of work's flush of one new object costs more
        # than the INSERT itself, and SQLAlchemy Core's execution path about as much again.
        [(task_id,)] = await _INSERT_TASK.fetch(await connection_of(self.session), values)
        task.id = int(task_id)
        make_transient_to_detached(task)
        self.session.add(task)
        return task

    async def by_code(self, code: str, *, lock: bool = False) -> Task | None:
        """`lock`: the decision rule for anything people race on (status changes, roll-up, codes).

        The row stays locked (SELECT … FOR UPDATE) until the transaction ends and is read fresh, so
        a second press waits for the first and then sees its outcome. SQLite runs one writer at a
        time through a single pooled connection (storage/db.py), which gives the same guarantee.
        """
        return await self._one("code", code.upper(), lock)

    async def by_id(self, task_id: int, *, lock: bool = False) -> Task | None:
        return await self._one("id", task_id, lock)

    async def _one(self, column: str, key: object, lock: bool) -> Task | None:
        rows = await _task_by(column, lock).rows(self.session, {"tenant_id": self.tenant_id, "key": key})
        task: Task | None = rows[0][0] if rows else None
        return task

    async def by_ids(self, task_ids: Sequence[int]) -> dict[int, Task]:
        if not task_ids:
            return {}
        result = await self.session.execute(
            select(Task).where(Task.tenant_id == self.tenant_id, col(Task.id).in_(set(task_ids)))
        )
        return {t.id: t for t in result.scalars() if t.id is not None}

    async def open_children(self, parent_id: int) -> list[str]:
        """Codes of a task's children still open, in code order."""
        rows = await _OPEN_CHILDREN.fetch(await connection_of(self.session),
                                          {"tenant_id": self.tenant_id, "parent_id": parent_id})
        return [str(code) for code, in rows]

    async def children(self, parent_id: int) -> list[Task]:
        result = await self.session.execute(
            select(Task)
            .where(Task.tenant_id == self.tenant_id, Task.parent_id == parent_id)
            .order_by(col(Task.code))
        )
        return list(result.scalars())

    async def in_chat(self, chat_id: int, *, include_closed: bool = False) -> list[Task]:
        stmt = select(Task).where(Task.tenant_id == self.tenant_id, Task.chat_id == chat_id)
        if not include_closed:
            stmt = stmt.where(col(Task.status).in_(OPEN_STATUSES))
        result = await self.session.execute(stmt.order_by(col(Task.due_at).asc().nulls_last(), col(Task.code)))
        return list(result.scalars())

    async def involving(self, user_id: int, *, include_closed: bool = False) -> list[Task]:
        """Tasks a person owns or helps with (协作人)."""
        member_of = select(TaskMember.task_id).where(
            TaskMember.tenant_id == self.tenant_id, TaskMember.user_id == user_id
        )
        stmt = select(Task).where(
            Task.tenant_id == self.tenant_id,
            or_(col(Task.owner_id) == user_id, col(Task.id).in_(member_of)),
        )
        if not include_closed:
            stmt = stmt.where(col(Task.status).in_(OPEN_STATUSES))
        # Undated tasks last on every engine (SQLite sorts NULL first, PostgreSQL last).
        ordered = stmt.order_by(col(Task.due_at).asc().nulls_last(), col(Task.code))
        result = await self.session.execute(ordered)
        return list(result.scalars())

    async def open_due_by(self, until: datetime) -> list[Task]:
        """Open tasks due at or before `until`: the ones due soon and the ones already late."""
        result = await self.session.execute(
            select(Task)
            .where(
                Task.tenant_id == self.tenant_id,
                col(Task.status).in_(OPEN_STATUSES),
                col(Task.due_at).is_not(None),
                col(Task.due_at) <= until,
            )
            .order_by(col(Task.due_at), col(Task.code))
        )
        return list(result.scalars())

    async def open_newly_due(self, since: datetime, until: datetime, soon: timedelta) -> list[Task]:
        """What may need a reminder at `until` that it did not at `since`, a minute or so earlier.

        Tasks whose deadline passed in between (now late), whose deadline entered the `soon` window
        in between, or that changed in between (a new deadline, a new task) and are due within it.
        """
        in_window = col(Task.due_at) <= until + soon
        result = await self.session.execute(
            select(Task)
            .where(
                Task.tenant_id == self.tenant_id,
                col(Task.status).in_(OPEN_STATUSES),
                col(Task.due_at).is_not(None),
                or_(
                    and_(col(Task.due_at) > since, col(Task.due_at) <= until),
                    and_(col(Task.due_at) > since + soon, in_window),
                    and_(col(Task.updated_at) > since, in_window),
                ),
            )
            .order_by(col(Task.due_at), col(Task.code))
        )
        return list(result.scalars())

    async def add_member(self, task_id: int, user_id: int, role: str) -> None:
        stmt = (
            insert_for(self.session, TaskMember)
            .values(tenant_id=self.tenant_id, task_id=task_id, user_id=user_id, role=role)
            .on_conflict_do_nothing(index_elements=["task_id", "user_id", "role"])
        )
        await self.session.execute(stmt)

    async def members(self, task_id: int) -> list[TaskMember]:
        return await self.members_of([task_id])

    async def members_of(self, task_ids: Sequence[int]) -> list[TaskMember]:
        """The RACI members of several tasks in one query, in the order they were added."""
        if not task_ids:
            return []
        result = await self.session.execute(
            select(TaskMember)
            .where(TaskMember.tenant_id == self.tenant_id, col(TaskMember.task_id).in_(set(task_ids)))
            .order_by(col(TaskMember.id))
        )
        return list(result.scalars())

    async def record(
        self, task_id: int, kind: str, detail: str, *, actor_id: int | None, at: datetime
    ) -> None:
        # On the driver, written at once: nothing reads the event back as an object.
        await _INSERT_EVENT.execute(await connection_of(self.session), {
            "tenant_id": self.tenant_id, "task_id": task_id, "actor_id": actor_id, "kind": kind, "detail": detail,
            "at": at,
        })

    async def people(self, task: Task) -> tuple[list[tuple[int, str]], dict[int, User]]:
        """A task's RACI members as (user id, role) in the order added, and every user it names, in one query."""
        named = [i for i in (task.owner_id, task.approver_id, task.initiator_id) if i is not None] or [-1]
        rows = await _people_query(len(named)).rows(self.session, {
            "tenant_id": self.tenant_id, "task_id": task.id, **one_of_values("named", named),
        })
        roles = [(user.id or 0, role) for user, role in rows if role is not None]
        return roles, {user.id: user for user, _ in rows if user.id is not None}

    async def timeline(self, task_id: int, *, limit: int = 50) -> list[TaskEvent]:
        result = await self.session.execute(
            select(TaskEvent)
            .where(TaskEvent.tenant_id == self.tenant_id, TaskEvent.task_id == task_id)
            .order_by(TaskEvent.at, TaskEvent.id)  # type: ignore[arg-type]
            .limit(limit)
        )
        return list(result.scalars())

    async def latest_event(self, task_id: int, kind: str) -> TaskEvent | None:
        result = await self.session.execute(
            select(TaskEvent)
            .where(TaskEvent.tenant_id == self.tenant_id, TaskEvent.task_id == task_id, TaskEvent.kind == kind)
            .order_by(col(TaskEvent.at).desc(), col(TaskEvent.id).desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def due_between(self, chat_id: int, start: datetime, end: datetime) -> list[Task]:
        """The chat's tasks (any status) due in [start, end) (index ix_task_due_at)."""
        result = await self.session.execute(
            select(Task).where(Task.tenant_id == self.tenant_id, Task.chat_id == chat_id,
                               col(Task.due_at) >= start, col(Task.due_at) < end)
            .order_by(col(Task.due_at), col(Task.code))
        )
        return list(result.scalars())

    async def completed_between(self, chat_id: int, start: datetime, end: datetime) -> list[Task]:
        result = await self.session.execute(
            select(Task).where(Task.tenant_id == self.tenant_id, Task.chat_id == chat_id,
                               Task.status == TaskStatus.DONE,
                               col(Task.completed_at) >= start, col(Task.completed_at) < end)
            .order_by(col(Task.completed_at), col(Task.code))
        )
        return list(result.scalars())

    async def active_chats(self, since: datetime, *, timezones: Collection[str] | None = None) -> list[int]:
        """Chats with an open task, or a task finished or due since `since`: the ones a digest is about.

        With `timezones`, only the chats kept in one of them (a digest is due at each chat's local time).
        """
        query = select(Task.chat_id).where(
            Task.tenant_id == self.tenant_id, col(Task.chat_id).is_not(None),
            col(Task.status).in_(OPEN_STATUSES) | (col(Task.completed_at) >= since) | (col(Task.due_at) >= since),
        )
        if timezones is not None:
            query = query.join(Chat, col(Chat.id) == col(Task.chat_id)).where(col(Chat.timezone).in_(list(timezones)))
        result = await self.session.execute(query.distinct())
        return sorted(chat_id for chat_id in result.scalars() if chat_id is not None)

    async def latest_events(self, task_ids: Sequence[int], kind: str) -> dict[int, TaskEvent]:
        if not task_ids:
            return {}
        result = await self.session.execute(
            select(TaskEvent).where(TaskEvent.tenant_id == self.tenant_id, col(TaskEvent.task_id).in_(set(task_ids)),
                                    TaskEvent.kind == kind).order_by(col(TaskEvent.at), col(TaskEvent.id))
        )
        return {event.task_id: event for event in result.scalars()}


@cache
def _people_query(named: int) -> DriverQuery:
    """Users of the task's RACI rows, and the `named` users (owner, approver, initiator), with their role."""
    def build(_dialect: str, user_columns: tuple[Any, ...]) -> Any:
        users = User.__table__.c  # type: ignore[attr-defined]
        members = TaskMember.__table__.c  # type: ignore[attr-defined]
        tenant_id: BindParameter[int] = bindparam("tenant_id", type_=Integer)
        both = union_all(
            core_select(*users, members.role.label("member_role"), members.id.label("member_id"))
            .join_from(TaskMember.__table__, User.__table__, users.id == members.user_id)  # type: ignore[attr-defined]
            .where(members.tenant_id == tenant_id, members.task_id == bindparam("task_id", type_=Integer),
                   users.tenant_id == tenant_id),
            core_select(*users, null().label("member_role"), literal(0).label("member_id"))
            .where(users.tenant_id == tenant_id, one_of(users.id, "named", named)),
        ).subquery()
        return (core_select(*(both.c[c.key] for c in user_columns), both.c.member_role)
                .order_by(both.c.member_id))
    return DriverQuery(build, User)


# Statements on the paths every command and click takes, built once: building one cost about as
# much CPU as running it. Their values are bound per call.

@cache
def _task_by(column: str, lock: bool) -> DriverQuery:
    """A task by code or id; `lock`: read fresh under FOR UPDATE (SQLite has one writer anyway)."""
    def build(_dialect: str, task_columns: tuple[Any, ...]) -> Any:
        task = Task.__table__.c  # type: ignore[attr-defined]
        query = core_select(*task_columns).where(task.tenant_id == bindparam("tenant_id", type_=Integer),
                                                 task[column] == bindparam("key", type_=task[column].type))
        return query.with_for_update() if lock else query
    return DriverQuery(build, Task, refresh=lock)


def _take_sequence(dialect: str) -> Any:
    table = TaskCodeCounter.__table__  # type: ignore[attr-defined]
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_(table).values(tenant_id=bindparam("tenant_id", type_=Integer()),
                                 period=bindparam("period", type_=table.c.period.type), last=1)
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", "period"], set_={"last": table.c.last + 1}
    ).returning(table.c.last)


# Statements run on the driver (storage/driver.py): every task created, finished or changed runs them.

def _open_children(_dialect: str) -> Any:
    task = Task.__table__.c  # type: ignore[attr-defined]
    # One parameter per open status: a driver statement takes no IN list.
    return (core_select(task.code)
            .where(task.tenant_id == bindparam("tenant_id", type_=Integer()),
                   task.parent_id == bindparam("parent_id", type_=Integer()),
                   or_(*(task.status == status for status in OPEN_STATUSES)))
            .order_by(task.code))


def _insert_all_columns(table: Any) -> Any:
    return insert(table).values({c.key: bindparam(c.key, type_=c.type) for c in table.columns if c.key != "id"})


_OPEN_CHILDREN = DriverStatement(_open_children)
_TAKE_SEQUENCE = DriverStatement(_take_sequence)
_INSERT_TASK = DriverStatement(
    lambda _dialect: _insert_all_columns(Task.__table__).returning(Task.__table__.c.id))  # type: ignore[attr-defined]
_INSERT_EVENT = DriverStatement(lambda _dialect: _insert_all_columns(TaskEvent.__table__))  # type: ignore[attr-defined]
