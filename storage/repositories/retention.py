"""Pruning what has served its purpose: finished inbox rows, sent or dead outbox rows, old claims.

Never a `received` inbox row (it may still need replaying) or a `pending` outbox row (it may
still need sending). Deleted in bounded batches so a first prune of a large table never holds
long locks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import DispatchClaim, InboxEvent, OutboxMessage


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _delete_batch(self, table: Any, *where: Any, limit: int) -> int:
        ids = list((await self.session.execute(select(table.id).where(*where).limit(limit))).scalars())
        if not ids:
            return 0
        await self.session.execute(delete(table).where(col(table.id).in_(ids)))
        return len(ids)

    async def prune_inbox(self, before: datetime, *, limit: int) -> int:
        return await self._delete_batch(
            InboxEvent, col(InboxEvent.status).in_(("done", "failed")), col(InboxEvent.received_at) < before,
            limit=limit,
        )

    async def prune_outbox(self, before: datetime, *, limit: int) -> int:
        return await self._delete_batch(
            OutboxMessage, col(OutboxMessage.status).in_(("sent", "dead")), col(OutboxMessage.created_at) < before,
            limit=limit,
        )

    async def prune_claims(self, before: datetime, *, limit: int) -> int:
        return await self._delete_batch(DispatchClaim, col(DispatchClaim.claimed_at) < before, limit=limit)
