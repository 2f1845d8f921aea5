"""The outbox: outgoing messages that survive a crash until the platform has them.

A claim leases a row to one process: `next_attempt_at` moves to the lease's end, `attempts` counts
the claim (a fencing token: the lease is the claimer's while the row still says so) and
`lease_owner` names the process, so a graceful stop gives back exactly what it held
(`release_leases`). A retry's backoff also moves `next_attempt_at`, with no owner.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Integer, String, Table, bindparam, case, exists, func, literal, null, text, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlmodel import col, select

from storage.ack_pool import AckPool
from storage.driver import DriverStatement, connection_of
from storage.tables import OUTBOX_OPEN, OutboxMessage, UTCDateTime, is_open
from storage.upsert import insert_for

PENDING, SENT, DEAD = OUTBOX_OPEN, "sent", "dead"
TABLE: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


class DueRow(NamedTuple):
    """What the delivery worker needs of a claimed row (read with SQLAlchemy Core, no ORM objects)."""

    id: int
    platform: str
    tenant_key: str
    chat_id: str
    tenant_id: int | None
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


_DUE_COLUMNS = [TABLE.c[name] for name in DueRow._fields]

# PostgreSQL: one statement and one round trip for any batch size, its SQL always the same. The
# `= ANY` gives the planner the primary key to look the rows up by: joined to unnest() alone, it
# chose a hash join over a scan of the whole table, every sent row of the retention period. On the
# driver (storage/driver.py): every reply is marked sent by it.
_MARK_SENT_PG = DriverStatement(lambda _dialect: text(
    "UPDATE outbox_message SET status = 'sent', sent_at = v.at, platform_message_id = v.pmid, last_error = NULL "
    "FROM unnest(CAST(:ids AS INTEGER[]), CAST(:pmids AS VARCHAR[]), CAST(:ats AS TIMESTAMPTZ[])) "
    "AS v(id, pmid, at) WHERE outbox_message.id = v.id AND outbox_message.id = ANY(CAST(:ids AS INTEGER[]))"
).bindparams(bindparam("ids", type_=ARRAY(Integer)), bindparam("pmids", type_=ARRAY(String)),
             bindparam("ats", type_=ARRAY(UTCDateTime()))))
_MARK_SENT_MANY = (
    update(TABLE)
    .where(TABLE.c.id == bindparam("row_id"))
    .values(status=SENT, sent_at=bindparam("at"), platform_message_id=bindparam("pmid"), last_error=None)
)


_MARK_SENT_ON_DRIVER = DriverStatement(lambda _dialect: _MARK_SENT_MANY)


async def mark_many_sent(target: AsyncConnection | AsyncEngine | AckPool,
                         sent: Collection[tuple[int, str | None, datetime]]) -> None:
    """Many rows marked sent in one statement (the delivery worker's group commit).

    The worker passes `Database.one_statement_target`: on PostgreSQL the autocommit pool
    (storage/ack_pool.py), on SQLite the engine, where the statement and its commit are one call
    (`DriverStatement.commit_each`). Either way it is committed (durably) when this returns.
    """
    if not sent:
        return
    if isinstance(target, AckPool):
        await target.execute(_MARK_SENT_PG, _sent_arrays(sent))
    elif isinstance(target, AsyncEngine):
        await _MARK_SENT_ON_DRIVER.commit_each(target, _sent_rows(sent))
    elif target.dialect.name == "postgresql":
        await _MARK_SENT_PG.execute(target, _sent_arrays(sent))
    else:
        await target.execute(_MARK_SENT_MANY, _sent_rows(sent))


def _sent_rows(sent: Collection[tuple[int, str | None, datetime]]) -> list[dict[str, Any]]:
    return [{"row_id": row_id, "pmid": pmid, "at": at} for row_id, pmid, at in sent]


def _sent_arrays(sent: Collection[tuple[int, str | None, datetime]]) -> dict[str, list[Any]]:
    return {"ids": [row_id for row_id, _, _ in sent], "pmids": [pmid for _, pmid, _ in sent],
            "ats": [at for _, _, at in sent]}


async def claim_due_rows(
    conn: AsyncConnection, now: datetime, *, limit: int, lease: timedelta, platforms: Collection[str] | None = None,
    owner: str | None = None,
) -> list[DueRow]:
    """Claim due rows, each leased until `now + lease` with one more attempt, oldest first: one statement.

    PostgreSQL skips rows another replica is claiming at the same moment (FOR UPDATE SKIP
    LOCKED) in a MATERIALIZED CTE, evaluated exactly once: a plain `IN (SELECT … LIMIT)` may be
    run more than once and claim past the limit. SQLite has one writer, so there it is the plain
    subquery. `platforms` limits the claim to what this process can send.
    """
    due = (
        select(TABLE.c.id)
        .where(is_open(TABLE.c.status, PENDING), TABLE.c.next_attempt_at <= now)
        .order_by(TABLE.c.id)
        .limit(limit)
    )
    if platforms is not None:
        due = due.where(TABLE.c.platform.in_(list(platforms)))
    stmt = update(TABLE).values(next_attempt_at=now + lease, attempts=TABLE.c.attempts + 1, lease_owner=owner) \
        .returning(*_DUE_COLUMNS)
    if conn.dialect.name == "postgresql":
        picked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        stmt = stmt.where(TABLE.c.id == picked.c.id)
    else:
        stmt = stmt.where(TABLE.c.id.in_(due.scalar_subquery()))
    rows = (await conn.execute(stmt)).all()
    return sorted((DueRow(*row) for row in rows), key=lambda row: row.id)


async def renew_lease(conn: AsyncConnection, row_id: int, attempts: int, until: datetime) -> bool:
    """Extend our lease on a row; False when it is no longer ours (claimed again by anyone, sent or dead)."""
    result = await conn.execute(
        update(TABLE)
        .where(TABLE.c.id == row_id, TABLE.c.status == PENDING, TABLE.c.attempts == attempts)
        .values(next_attempt_at=until)
    )
    return bool(result.rowcount)


def _insert_statement(dialect: str, *, leased: bool) -> Any:
    """The enqueue INSERT, built once per dialect: only its parameters change from call to call.

    Leased, the row is born claimed unless an older row of its chat waits: that check is one
    subquery (`waiting`), read once by the columns that depend on it.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def param(name: str) -> Any:
        return bindparam(name, type_=TABLE.c[name].type)

    at = bindparam("at", type_=UTCDateTime())
    values: dict[str, Any] = {
        "tenant_id": param("tenant_id"), "platform": param("platform"), "tenant_key": param("tenant_key"),
        "chat_id": param("chat_id"), "idempotency_key": param("idempotency_key"), "payload": param("payload"),
        "status": literal(PENDING, TABLE.c.status.type), "next_attempt_at": at, "created_at": at,
        "task_code": param("task_code"), "attempts": literal(0), "lease_owner": null(),
    }
    if not leased:
        stmt = insert(TABLE).values(**values)
    else:
        same_chat = (TABLE.c.platform == bindparam("platform")) & (TABLE.c.tenant_key == bindparam("tenant_key")) \
            & (TABLE.c.chat_id == bindparam("chat_id"))
        check = select(exists().where(is_open(TABLE.c.status, PENDING), TABLE.c.next_attempt_at <= at, same_chat)
                       .label("waiting")).subquery("chat_check")
        waiting = check.c.waiting
        values.update(
            next_attempt_at=case((waiting, at), else_=bindparam("lease_until", type_=UTCDateTime())),
            attempts=case((waiting, 0), else_=1),
            lease_owner=case((waiting, null()), else_=param("lease_owner")),
        )
        # WHERE true: SQLite would read ON CONFLICT as the join's ON without a WHERE before it.
        rows = select(*values.values()).select_from(check).where(true())
        stmt = insert(TABLE).from_select(list(values), rows)
    return stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(TABLE.c.id, TABLE.c.attempts)


# On the driver (storage/driver.py): every reply is queued with one of them.
_INSERT = DriverStatement(functools.partial(_insert_statement, leased=False))
_INSERT_LEASED = DriverStatement(functools.partial(_insert_statement, leased=True))


class Queued(NamedTuple):
    id: int
    # Born claimed by the caller (see OutboxRepository.enqueue_leased).
    leased: bool


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self, *, tenant_id: int | None, platform: str, tenant_key: str, chat_id: str,
        idempotency_key: str, payload: dict[str, Any], at: datetime, task_code: str | None = None,
    ) -> bool:
        """False when a message with this idempotency key was queued before."""
        return await self.enqueue_leased(
            tenant_id=tenant_id, platform=platform, tenant_key=tenant_key, chat_id=chat_id,
            idempotency_key=idempotency_key, payload=payload, at=at, task_code=task_code,
        ) is not None

    async def enqueue_leased(
        self, *, tenant_id: int | None, platform: str, tenant_key: str, chat_id: str,
        idempotency_key: str, payload: dict[str, Any], at: datetime, task_code: str | None = None,
        lease_until: datetime | None = None, lease_owner: str | None = None,
    ) -> Queued | None:
        """Queue a message; None when a message with this idempotency key was queued before.

        With `lease_until` the new row is born claimed (leased to `lease_owner` until then, one attempt), for the
        caller to send itself after its transaction commits; unless an older row of the same chat
        is due and unclaimed: that one must go first, so the new row is then queued as usual, for
        a claim round to take both in order. One statement either way.
        """
        statement = _INSERT if lease_until is None else _INSERT_LEASED
        params = dict(
            tenant_id=tenant_id, platform=platform, tenant_key=tenant_key, chat_id=chat_id,
            idempotency_key=idempotency_key[:191], payload=payload, at=at, task_code=task_code,
            lease_until=lease_until, lease_owner=lease_owner,
        )
        rows = await statement.fetch(await connection_of(self.session), params)
        if not rows:
            return None
        return Queued(id=int(rows[0][0]), leased=rows[0][1] > 0)

    async def enqueue_many(self, rows: list[dict[str, Any]], at: datetime) -> int:
        """Queue many messages at once (a sweep's reminders); returns how many were new.

        Each row has the keys of `enqueue` but `at`; a key queued before is skipped, as there. One
        statement compiled once, its rows sent in batches (SQLAlchemy's insertmanyvalues).
        """
        if not rows:
            return 0
        # Core, not the ORM's bulk path: thousands of rows at once.
        table: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
        stmt = (
            insert_for(self.session, table)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id)
        )
        values = [{**row, "idempotency_key": row["idempotency_key"][:191], "status": PENDING,
                   "next_attempt_at": at, "created_at": at, "attempts": 0} for row in rows]
        result = await self.session.execute(stmt, values)
        return len(result.all())

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta, platforms: Collection[str] | None = None,
        owner: str | None = None,
    ) -> list[DueRow]:
        """Claim due rows on the session's connection (see claim_due_rows)."""
        return await claim_due_rows(await self.session.connection(), now, limit=limit, lease=lease,
                                    platforms=platforms, owner=owner)

    async def release(self, message_ids: Collection[int], at: datetime) -> None:
        """Give claimed rows back, due again at `at` (their lane stopped before reaching them)."""
        if not message_ids:
            return
        await self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(message_ids)), OutboxMessage.status == PENDING)  # type: ignore[arg-type]
            .values(next_attempt_at=at, lease_owner=None)
            .execution_options(synchronize_session=False)
        )

    async def release_leases(self, owner: str, at: datetime) -> int:
        """Give back every pending row `owner` holds, due again at `at`: one statement.

        Only rows still leased to `owner` are touched: a row sent or dead, waiting out a retry's
        backoff (no owner), or claimed since by another process (its owner) is not. The open rows'
        index narrows it to pending rows. The caller must have stopped sending
        first, so no send of this process finishes after its row was given back.
        """
        result = await self.session.execute(
            update(OutboxMessage)
            .where(is_open(OutboxMessage.status, PENDING), col(OutboxMessage.next_attempt_at) > at)
            .where(col(OutboxMessage.lease_owner) == owner)
            .values(next_attempt_at=at, lease_owner=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def expire_unsendable(self, now: datetime, max_age: timedelta, platforms: Collection[str]) -> int:
        """Rows no running process can send (their platform is not configured), once too old, are dead."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(is_open(OutboxMessage.status, PENDING), col(OutboxMessage.created_at) < now - max_age)
            .where(col(OutboxMessage.platform).not_in(list(platforms)))
            .values(status=DEAD, last_error="no adapter configured for this platform")
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def mark_sent(self, message_id: int, platform_message_id: str | None, at: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)  # type: ignore[arg-type]
            .values(status=SENT, sent_at=at, platform_message_id=platform_message_id, last_error=None)
        )

    async def mark_retry(self, message_id: int, error: str, next_attempt_at: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)  # type: ignore[arg-type]
            .values(next_attempt_at=next_attempt_at, last_error=error[:500], lease_owner=None)
        )

    async def mark_dead(self, message_id: int, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)  # type: ignore[arg-type]
            .values(status=DEAD, last_error=error[:500])
        )

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def by_key(self, idempotency_key: str) -> OutboxMessage | None:
        result = await self.session.execute(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key[:191])
        )
        return result.scalar_one_or_none()

    async def counts_by_status(self) -> dict[str, int]:
        """Every row counted by status: reads the whole table (operators' checks and tests)."""
        result = await self.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(count) for status, count in result.all()}

    async def pending_count(self) -> int:
        """Messages still to send (counted in the open rows' index, not over every sent row)."""
        result = await self.session.execute(select(func.count()).where(is_open(OutboxMessage.status, PENDING)))
        return int(result.scalar_one())
