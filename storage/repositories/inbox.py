"""The inbox: each inbound event recorded once per (platform, tenant, event id), with its payload.

A row is `received` until its effect commits (`done`) or it is given up (`failed`). The row holds
the neutral event, so whatever was acknowledged can be replayed after a crash; `lease_until` says
until when one process owns the work, so replicas and the recovery loop never replay it together,
and `lease_owner` which process that is (a token per process), so a graceful stop gives back
exactly what it held (`release_leases`) while a crash still waits for the lease to run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, Integer, Text, bindparam, func, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlmodel import col, select

from storage.ack_pool import AckPool
from storage.driver import DriverStatement, connection_of
from storage.json import dumps
from storage.sqlite_ack import COLUMNS, insert_and_commit, insert_on_driver
from storage.tables import INBOX_OPEN, InboxEvent, UTCDateTime, is_open
from storage.upsert import insert_for

RECEIVED, DONE, FAILED = INBOX_OPEN, "done", "failed"
MAX_EVENT_ID = 191


# Statements every event runs, built once: building one cost about as much CPU as running it.

@cache
def _record_statement(dialect: str) -> Any:
    table = InboxEvent.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["platform", "tenant_key", "event_id"])
        .returning(table.c.id, table.c.platform, table.c.tenant_key, table.c.event_id)
    )


# PostgreSQL: a batch of any size is one statement text (one prepared statement), its columns
# bound as arrays. The insert-many form SQLAlchemy renders differs with the batch's size and
# processes every row's parameters; on the ack path that cost more than the insert.
_RECORD_UNNEST = text(
    "INSERT INTO inbox_event (platform, tenant_key, event_id, kind, received_at, status, payload, attempts,"
    " lease_until, lease_owner) "
    "SELECT p, t, e, k, r, :status, CAST(pl AS JSON), 0, l, o FROM unnest("
    "CAST(:platforms AS TEXT[]), CAST(:tenants AS TEXT[]), CAST(:events AS TEXT[]), CAST(:kinds AS TEXT[]),"
    " CAST(:received AS TIMESTAMPTZ[]), CAST(:payloads AS TEXT[]), CAST(:leases AS TIMESTAMPTZ[]),"
    " CAST(:owners AS TEXT[]))"
    " AS batch(p, t, e, k, r, pl, l, o) "
    "ON CONFLICT (platform, tenant_key, event_id) DO NOTHING "
    "RETURNING id, platform, tenant_key, event_id"
).bindparams(
    bindparam("platforms", type_=ARRAY(Text)), bindparam("tenants", type_=ARRAY(Text)),
    bindparam("events", type_=ARRAY(Text)), bindparam("kinds", type_=ARRAY(Text)),
    bindparam("received", type_=ARRAY(UTCDateTime())), bindparam("payloads", type_=ARRAY(Text)),
    bindparam("leases", type_=ARRAY(UTCDateTime())), bindparam("owners", type_=ARRAY(Text)),
)


def _take_statement(_dialect: str) -> Any:
    table = InboxEvent.__table__  # type: ignore[attr-defined]
    return (
        update(table).where(table.c.id == bindparam("row_id", type_=Integer()), table.c.status == RECEIVED)
        .values(status=DONE, processed_at=bindparam("taken_at", type_=table.c.processed_at.type), lease_until=None)
    )


_TAKE = DriverStatement(_take_statement)


@cache
def _claim_statement() -> Any:
    """PostgreSQL: pick and lease in one statement, returning each row with its previous owner."""
    table = InboxEvent.__table__  # type: ignore[attr-defined]
    picked = (
        select(table.c.id, table.c.lease_owner)
        .where(is_open(table.c.status, RECEIVED), table.c.payload.is_not(None),
               or_(table.c.lease_until.is_(None), table.c.lease_until <= bindparam("now", type_=UTCDateTime())))
        .order_by(table.c.id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True)
        .cte("picked")
    )
    return (
        update(table).where(table.c.id == picked.c.id)
        .values(lease_until=bindparam("until", type_=UTCDateTime()), lease_owner=bindparam("owner", type_=Text()))
        .returning(table.c.id, table.c.platform, table.c.tenant_key, table.c.event_id, table.c.kind,
                   table.c.received_at, table.c.payload, table.c.attempts, picked.c.lease_owner)
    )


@dataclass(frozen=True)
class NewInboxRow:
    platform: str
    tenant_key: str
    event_id: str
    kind: str
    received_at: datetime
    payload: dict[str, Any] | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.platform, self.tenant_key, self.event_id[:MAX_EVENT_ID]


async def record_many(target: AsyncConnection | AsyncEngine | AckPool,
                      rows: Sequence[NewInboxRow]) -> list[int | None]:
    """Insert many events in one statement: per row its new id, or None when it was seen before.

    Used by the group-commit writer on the acknowledgement path: on PostgreSQL through the acks'
    own asyncpg pool (storage/ack_pool.py), on SQLite's engine as one call that inserts and
    commits (storage/sqlite_ack.py): `Database.one_statement_target`. Given a connection, in its
    transaction: on SQLite through aiosqlite directly, elsewhere SQLAlchemy Core; no ORM session.
    A key that occurs twice in `rows` is new only the first time, as if the rows had been inserted
    one after the other.
    """
    first: dict[tuple[str, str, str], int] = {}
    for index, row in enumerate(rows):
        first.setdefault(row.key, index)
    # Each key's first row, in COLUMNS order (its event id cut to length).
    new = [(rows[i].platform, rows[i].tenant_key, key[2], rows[i].kind, RECEIVED, rows[i].received_at,
            rows[i].payload, 0, rows[i].lease_until, rows[i].lease_owner) for key, i in first.items()]
    found: Sequence[Any]
    if isinstance(target, AckPool):
        found = await target.fetch(_RECORD_ON_ACK_POOL, _unnest_params(new))
    elif isinstance(target, AsyncEngine):
        found = await insert_and_commit(target, new)
    elif target.dialect.name == "sqlite":
        found = await insert_on_driver(target, new)
    else:
        found = (await target.execute(_record_statement(target.dialect.name),
                                      [dict(zip(COLUMNS, values, strict=True)) for values in new])).all()
    ids = {(platform, tenant_key, event_id): int(row_id) for row_id, platform, tenant_key, event_id in found}
    return [ids.get(row.key) if first[row.key] == index else None for index, row in enumerate(rows)]


_RECORD_ON_ACK_POOL = DriverStatement(lambda _dialect: _RECORD_UNNEST)


def _unnest_params(new: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The rows' values (in COLUMNS order) as column arrays; the timestamps' type makes them UTC."""
    platforms, tenants, events, kinds, _, received, payloads, _, leases, owners = zip(*new, strict=True)
    return {
        "status": RECEIVED, "platforms": list(platforms), "tenants": list(tenants), "events": list(events),
        "kinds": list(kinds), "received": list(received),
        "payloads": [None if payload is None else dumps(payload) for payload in payloads],
        "leases": list(leases), "owners": list(owners),
    }


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_once(
        self, platform: str, tenant_key: str, event_id: str, kind: str, at: datetime, *,
        payload: dict[str, Any] | None = None, lease_until: datetime | None = None, lease_owner: str | None = None,
    ) -> int | None:
        """The new row's id the first time the event is seen; None when it was seen before."""
        stmt = (
            insert_for(self.session, InboxEvent)
            .values(platform=platform, tenant_key=tenant_key, event_id=event_id[:MAX_EVENT_ID], kind=kind,
                    received_at=at, status=RECEIVED, payload=payload, attempts=0, lease_until=lease_until,
                    lease_owner=lease_owner)
            .on_conflict_do_nothing(index_elements=["platform", "tenant_key", "event_id"])
            .returning(InboxEvent.id)
        )
        result = await self.session.execute(stmt)
        row = result.first()
        return int(row[0]) if row is not None else None

    async def take_for_effect(self, row_id: int, at: datetime) -> bool:
        """Mark the row done inside the transaction that applies its effect.

        Run it first in that transaction: on PostgreSQL the update holds the row lock until commit,
        so a concurrent replay waits and then finds the row done; a rollback makes it `received` again.
        False means another process finished it already and the caller must apply nothing.
        """
        # On the driver (storage/driver.py): every event runs it.
        return bool(await _TAKE.execute(await connection_of(self.session), {"row_id": row_id, "taken_at": at}))

    async def record_failure(
        self, row_id: int, error: str, at: datetime, *, max_attempts: int, retry_at: datetime
    ) -> tuple[int, bool]:
        """Count a failed attempt: (attempts so far, whether the row is now given up as failed)."""
        row = await self.session.get(InboxEvent, row_id, with_for_update=True)
        if row is None or row.status != RECEIVED:
            return 0, False
        row.attempts += 1
        row.last_error = error[:500]
        if row.attempts >= max_attempts:
            row.status, row.processed_at, row.lease_until, row.lease_owner = FAILED, at, None, None
            return row.attempts, True
        # Waiting out the backoff is nobody's lease: a graceful stop must not cut it short.
        row.lease_until, row.lease_owner = retry_at, None
        return row.attempts, False

    async def attempts(self, row_id: int) -> int:
        row = await self.session.get(InboxEvent, row_id)
        return row.attempts if row is not None else 0

    async def claim_unfinished(
        self, now: datetime, *, limit: int, lease: timedelta, owner: str | None = None
    ) -> list[InboxEvent]:
        """Rows acknowledged but not finished whose lease ran out, leased to `owner` for `lease`.

        PostgreSQL skips rows another replica is claiming, in one statement; SQLite has one writer,
        so the guarded update alone is enough there. The rows returned carry the lease owner they
        had before this claim (None: handed over by a serving process, or given back).
        """
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            result = await self.session.execute(
                _claim_statement(), {"now": now, "limit": limit, "until": now + lease, "owner": owner})
            return sorted(
                (InboxEvent(id=row_id, platform=platform, tenant_key=tenant_key, event_id=event_id, kind=kind,
                            received_at=received_at, status=RECEIVED, payload=payload, attempts=attempts,
                            lease_owner=previous)
                 for row_id, platform, tenant_key, event_id, kind, received_at, payload, attempts, previous in result),
                key=lambda row: row.id or 0)
        query = (
            select(InboxEvent)
            .where(
                is_open(InboxEvent.status, RECEIVED),
                col(InboxEvent.payload).is_not(None),
                or_(col(InboxEvent.lease_until).is_(None), col(InboxEvent.lease_until) <= now),
            )
            .order_by(col(InboxEvent.id))
            .limit(limit)
        )
        rows = list((await self.session.execute(query)).scalars().all())
        claimed: list[InboxEvent] = []
        for row in rows:
            won = await self.session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == row.id, InboxEvent.status == RECEIVED)  # type: ignore[arg-type]
                .where(or_(col(InboxEvent.lease_until).is_(None), col(InboxEvent.lease_until) <= now))
                .values(lease_until=now + lease, lease_owner=owner)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount:  # type: ignore[attr-defined]
                claimed.append(row)
        return claimed

    async def waiting_count(self) -> int:
        """Events acknowledged and not yet done (counted in the open rows' index)."""
        result = await self.session.execute(select(func.count()).where(is_open(InboxEvent.status, RECEIVED)))
        return int(result.scalar_one())

    async def release_leases(self, owner: str) -> int:
        """Give back every unfinished row `owner` holds, for any process to take at once: one statement.

        Only `received` rows still leased to `owner` are touched (a row finished, failed, waiting
        out a retry's backoff, or claimed since by another process is not), through the open rows'
        index, so the statement reads no more than the unfinished rows. The caller must have
        stopped this process's work on them first: a release racing a replay of the same row would
        let a second process start it while the first still runs.
        """
        result = await self.session.execute(
            update(InboxEvent)
            .where(is_open(InboxEvent.status, RECEIVED), col(InboxEvent.lease_owner) == owner)
            .values(lease_until=None, lease_owner=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def mark(self, platform: str, tenant_key: str, event_id: str, status: str, at: datetime) -> None:
        await self.session.execute(
            update(InboxEvent)
            .where(
                InboxEvent.platform == platform,  # type: ignore[arg-type]
                InboxEvent.tenant_key == tenant_key,  # type: ignore[arg-type]
                InboxEvent.event_id == event_id[:MAX_EVENT_ID],  # type: ignore[arg-type]
            )
            .values(status=status, processed_at=at)
        )
