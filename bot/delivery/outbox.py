"""Queueing outbound messages inside the caller's transaction, then waking the worker.

When this process's delivery worker is running and has room, a message due now is handed to it
directly: the row is inserted already leased to this process and, once the caller's transaction
has committed, the worker gets the row id and the message in memory, with no claim round and no
payload to read back. If the transaction rolls back the worker never hears of it; if the process
dies first, the lease runs out and any worker claims the row as usual. A row not handed over
wakes the worker once its transaction has committed, for a claim round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import OutboundMessage
from bot.core.serialize import message_to_dict
from bot.delivery.aftercommit import after_commit
from bot.delivery.leased import Leased
from storage.repositories import OutboxRepository


class Receiver(Protocol):
    # Names the process in the leases it is given (bot/leases.py).
    lease_owner: str

    def lease_until(self, platform: str, at: datetime) -> datetime | None:
        """Until when a message due at `at` would be leased to the receiver; None when it takes none now."""
        ...

    def take(self, item: Leased) -> None:
        """A committed row, leased to the receiver: send it."""
        ...


class Outbox:
    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._receiver: Receiver | None = None
        # Wakes the delivery workers of other processes too: set where this process sends nothing
        # itself (a serving process beside processors, bot/processor.py).
        self.wake_elsewhere: Callable[[], None] | None = None

    def attach(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def detach(self, receiver: Receiver) -> None:
        if self._receiver is receiver:
            self._receiver = None

    async def enqueue(
        self, session: AsyncSession, message: OutboundMessage, *, tenant_id: int | None, at: datetime,
        task_code: str | None = None,
    ) -> bool:
        """Stored with the caller's transaction, so a reply exists exactly when the change does."""
        conv = message.conversation
        receiver = self._receiver
        lease_until = receiver.lease_until(conv.platform, at) if receiver is not None else None
        queued = await OutboxRepository(session).enqueue_leased(
            tenant_id=tenant_id, platform=conv.platform, tenant_key=conv.tenant_key, chat_id=conv.chat_id,
            idempotency_key=message.idempotency_key, payload=message_to_dict(message), at=at,
            task_code=task_code, lease_until=lease_until,
            lease_owner=receiver.lease_owner if receiver is not None and lease_until is not None else None,
        )
        if queued is None:
            return False
        if queued.leased and receiver is not None and lease_until is not None:
            item = Leased(id=queued.id, platform=conv.platform, tenant_key=conv.tenant_key, chat_id=conv.chat_id,
                          tenant_id=tenant_id, attempts=1, created_at=at, leased_until=lease_until,
                          message=message)
            after_commit(session, lambda: receiver.take(item))
        else:
            # Waiting for a claim round: wake the worker when the row is there to be claimed.
            after_commit(session, self.wake)
        return True

    def wake(self) -> None:
        self._wake.set()
        if self.wake_elsewhere is not None:
            self.wake_elsewhere()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass
        self._wake.clear()
