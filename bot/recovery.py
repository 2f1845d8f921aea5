"""The recovery loop: acknowledged events that nobody finished are replayed, exactly once.

A process that dies (kill -9, a deploy, an outage) after acknowledging an event leaves its inbox
row `received` with a lease. When the lease runs out, whichever replica's loop claims the row
first replays it; the effect's transaction re-checks the row, so a late original and a replay
never both apply. Runs at start-up and then periodically.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.clock import Clock
from bot.core import CardActionEvent, MessageEvent
from bot.core.serialize import event_from_dict
from bot.pipeline import Pipeline
from storage.db import Database
from storage.repositories import InboxRepository
from storage.tables import InboxEvent

log = logging.getLogger(__name__)

BATCH = 50
# Replays run side by side, a few at a time: one slow directory lookup must not hold up the rest.
CONCURRENCY = 8


class InboxRecovery:
    def __init__(self, db: Database, pipeline: Pipeline, clock: Clock) -> None:
        self.db = db
        self.pipeline = pipeline
        self.clock = clock
        settings = pipeline.settings.inbox
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.every = settings.recovery_every_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="inbox-recovery")

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; replays under way get `grace` seconds (None: all they need), then are cancelled.

        A cancelled replay leaves its row `received` and leased to this process, for the app to give
        back (bot/leases.py) once nothing of this process can still finish it.
        """
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        _, running = await asyncio.wait({task}, timeout=grace)
        if running:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.run_once() == BATCH and not self._stopping.is_set():
                    pass
            except Exception:
                log.exception("inbox recovery round failed")
            try:
                await asyncio.wait_for(self._stopping.wait(), self.every)
            except TimeoutError:
                pass

    async def run_once(self) -> int:
        """Claim and replay one batch of unfinished events; returns how many were claimed."""
        async with self.db.transaction() as session:
            rows = await InboxRepository(session).claim_unfinished(self.clock.now(), limit=BATCH, lease=self.lease,
                                                                   owner=self.pipeline.lease_owner)
        if not rows:
            return 0
        log.info("replaying unfinished inbound events", extra={"count": len(rows)})
        gate = asyncio.Semaphore(CONCURRENCY)

        async def replay(row: InboxEvent) -> None:
            async with gate:
                await self._replay(row)

        await asyncio.gather(*(replay(row) for row in rows))
        return len(rows)

    async def _replay(self, row: InboxEvent) -> None:
        assert row.id is not None and row.payload is not None
        try:
            event = event_from_dict(row.payload)
        except (KeyError, TypeError, ValueError) as error:
            # A payload we cannot read will never become readable: give it up at once.
            async with self.db.transaction() as session:
                await InboxRepository(session).record_failure(
                    row.id, f"unreadable payload: {type(error).__name__}", self.clock.now(), max_attempts=0,
                    retry_at=self.clock.now(),
                )
            log.error("inbound event payload unreadable; given up", extra={"inbox_id": row.id})
            return
        self.pipeline.metrics.inbound_replayed.labels(row.platform).inc()
        if isinstance(event, MessageEvent):
            await self.pipeline.run_message(row.id, event)
        elif isinstance(event, CardActionEvent):
            reply = await self.pipeline.run_card_action(row.id, event)
            await self.pipeline.update_card_later(reply, event)
