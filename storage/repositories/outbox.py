"""The outbox: outgoing messages that survive a crash until the platform has them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col, select

from storage.tables import OutboxMessage
from storage.upsert import insert_for

PENDING, SENT, DEAD = "pending", "sent", "dead"


async def mark_many_sent(conn: AsyncConnection, sent: Collection[tuple[int, str | None, datetime]]) -> None:
    """Many rows marked sent in one round trip (the delivery worker's group commit; SQLAlchemy Core)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(status=SENT, sent_at=bindparam("at"), platform_message_id=bindparam("pmid"), last_error=None)
    )
    await conn.execute(stmt, [{"row_id": row_id, "pmid": pmid, "at": at} for row_id, pmid, at in sent])


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self, *, tenant_id: int | None, platform: str, tenant_key: str, chat_id: str,
        idempotency_key: str, payload: dict[str, Any], at: datetime, task_code: str | None = None,
    ) -> bool:
        """False when a message with this idempotency key was queued before."""
        stmt = (
            insert_for(self.session, OutboxMessage.__table__)  # type: ignore[attr-defined]
            .values(
                tenant_id=tenant_id, platform=platform, tenant_key=tenant_key, chat_id=chat_id,
                idempotency_key=idempotency_key[:191], payload=payload, status=PENDING,
                next_attempt_at=at, created_at=at, task_code=task_code,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        # Core on the session's connection: no ORM statement machinery on the hot path.
        result = await (await self.session.connection()).execute(stmt)
        return bool(result.rowcount)

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
        self, now: datetime, *, limit: int, lease: timedelta, platforms: Collection[str] | None = None
    ) -> list[OutboxMessage]:
        """Claim due rows, each leased until `now + lease`, oldest first.

        PostgreSQL skips rows another replica is claiming at the same moment (FOR UPDATE SKIP
        LOCKED); SQLite has one writer. `platforms` limits the claim to what this process can send.
        """
        due = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        )
        if platforms is not None:
            due = due.where(col(OutboxMessage.platform).in_(list(platforms)))
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT): PostgreSQL may run such a
        # subquery more than once and claim past the limit. The selected rows stay locked until commit.
        ids = list((await self.session.execute(due)).scalars().all())
        if not ids:
            return []
        result = await self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids))
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)  # type: ignore[arg-type]
            .values(next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False)
        )
        return sorted(result.scalars().all(), key=lambda row: row.id or 0)

    async def release(self, message_ids: Collection[int], at: datetime) -> None:
        """Give claimed rows back, due again at `at` (their lane stopped before reaching them)."""
        if not message_ids:
            return
        await self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(message_ids)), OutboxMessage.status == PENDING)  # type: ignore[arg-type]
            .values(next_attempt_at=at)
            .execution_options(synchronize_session=False)
        )

    async def expire_unsendable(self, now: datetime, max_age: timedelta, platforms: Collection[str]) -> int:
        """Rows no running process can send (their platform is not configured), once too old, are dead."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == PENDING, OutboxMessage.created_at < now - max_age)  # type: ignore[arg-type]
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
            .values(next_attempt_at=next_attempt_at, last_error=error[:500])
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
        result = await self.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(count) for status, count in result.all()}
