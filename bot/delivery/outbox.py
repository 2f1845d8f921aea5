"""Queueing outbound messages inside the caller's transaction, then waking the worker."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import OutboundMessage
from bot.core.serialize import message_to_dict
from storage.repositories import OutboxRepository


class Outbox:
    def __init__(self) -> None:
        self._wake = asyncio.Event()

    async def enqueue(
        self, session: AsyncSession, message: OutboundMessage, *, tenant_id: int | None, at: datetime,
        task_code: str | None = None,
    ) -> bool:
        """Stored with the caller's transaction, so a reply exists exactly when the change does."""
        conv = message.conversation
        return await OutboxRepository(session).enqueue(
            tenant_id=tenant_id, platform=conv.platform, tenant_key=conv.tenant_key, chat_id=conv.chat_id,
            idempotency_key=message.idempotency_key, payload=message_to_dict(message), at=at,
            task_code=task_code,
        )

    def wake(self) -> None:
        self._wake.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass
        self._wake.clear()
