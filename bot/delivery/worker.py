"""The delivery worker: claims due outbox rows and hands them to their platform's adapter."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.core.platform import DeliveryError, PlatformAdapter
from bot.core.serialize import message_from_dict
from bot.delivery.backoff import jittered_backoff
from bot.delivery.outbox import Outbox
from bot.metrics import Metrics
from storage.db import Database
from storage.repositories import OutboxRepository
from storage.tables import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
# An idle worker refreshes the pending gauge this often rather than on every poll.
GAUGE_EVERY = timedelta(seconds=15)


class DeliveryWorker:
    def __init__(
        self, db: Database, outbox: Outbox, adapters: Mapping[str, PlatformAdapter], clock: Clock,
        metrics: Metrics, *, batch: int = 20, poll_seconds: float = 1.0, rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.adapters = adapters
        self.clock = clock
        self.metrics = metrics
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._gauge_at: datetime | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="delivery-worker")

    async def stop(self) -> None:
        self._stopping.set()
        self.outbox.wake()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                delivered = await self.run_once()
            except Exception:
                log.exception("delivery round failed")
                delivered = 0
            if delivered == 0 and not self._stopping.is_set():
                await self.outbox.wait(self.poll_seconds)
        await self.run_once()

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were attempted."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            rows = await OutboxRepository(session).claim_due(now, limit=self.batch, lease=LEASE)
        for row in rows:
            await self._deliver(row)
        if rows or self._gauge_stale(now):
            async with self.db.session() as session:
                counts = await OutboxRepository(session).counts_by_status()
            self.metrics.outbox_pending.set(counts.get("pending", 0))
            self._gauge_at = now
        return len(rows)

    def _gauge_stale(self, now: datetime) -> bool:
        return self._gauge_at is None or now - self._gauge_at >= GAUGE_EVERY

    async def _deliver(self, row: OutboxMessage) -> None:
        assert row.id is not None
        adapter = self.adapters.get(row.platform)
        if adapter is None:
            await self._give_up(row, f"no adapter for platform {row.platform}")
            return
        try:
            message = message_from_dict(row.payload)
            receipt = await adapter.deliver(message)
        except DeliveryError as error:
            if not error.retryable or row.attempts >= MAX_ATTEMPTS:
                await self._give_up(row, error.reason)
                return
            wait = error.retry_after or jittered_backoff(row.attempts, base=1.0, cap=300.0, floor=0.5, rng=self.rng)
            async with self.db.transaction() as session:
                await OutboxRepository(session).mark_retry(
                    row.id, error.reason, self.clock.now() + timedelta(seconds=wait)
                )
            self.metrics.retried.labels(row.platform).inc()
            log.warning("delivery will be retried", extra={"outbox_id": row.id, "platform": row.platform,
                                                            "attempt": row.attempts, "wait_s": round(wait, 2),
                                                            "reason": error.reason})
            return
        except Exception as error:
            log.exception("delivery crashed", extra={"outbox_id": row.id, "platform": row.platform})
            await self._give_up(row, f"unexpected {type(error).__name__}")
            return
        async with self.db.transaction() as session:
            await OutboxRepository(session).mark_sent(row.id, receipt.platform_message_id, self.clock.now())
        self.metrics.sent.labels(row.platform).inc()

    async def _give_up(self, row: OutboxMessage, reason: str) -> None:
        assert row.id is not None
        async with self.db.transaction() as session:
            await OutboxRepository(session).mark_dead(row.id, reason)
        self.metrics.dead.labels(row.platform).inc()
        log.error("delivery given up; the message stays in the outbox as dead",
                  extra={"outbox_id": row.id, "platform": row.platform, "reason": reason})
