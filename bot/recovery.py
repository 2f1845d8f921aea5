"""The recovery loop: acknowledged events that nobody finished are replayed, exactly once.

A process that dies (kill -9, a deploy, an outage) after acknowledging an event leaves its inbox
row `received` with a lease. When the lease runs out, whichever replica's loop claims the row
first replays it; the effect's transaction re-checks the row, so a late original and a replay
never both apply. Runs at start-up and then periodically.

In a processor process (bot/processor.py) the same loop is how every message gets processed: the
serving processes store messages unleased and announce them (storage/inbox_signal.py), and the
loop, woken by the announcement, claims them as fast as it has room. Replays run in a sliding
window (`CONCURRENCY`): a freed place is filled at once, not after the slowest of a batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from bot.clock import Clock
from bot.core import CardActionEvent, MessageEvent
from bot.core.serialize import event_from_dict
from bot.pipeline import Pipeline
from storage.db import Database
from storage.inbox_signal import Announced, InboxSignal
from storage.repositories import InboxRepository
from storage.tables import InboxEvent

log = logging.getLogger(__name__)

BATCH = 50
# Replays run side by side, a few at a time: one slow directory lookup must not hold up the rest.
CONCURRENCY = 8
# A processor whose listening connection is down polls this often instead.
UNANNOUNCED_POLL_SECONDS = 1.0


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
        self._wake = asyncio.Event()
        self._signal: InboxSignal | None = None
        self._listening = False
        self._counted_at = float("-inf")

    def start(self, *, listen: bool = False, wake_sender: Callable[[], None] | None = None) -> None:
        """`listen`: claim whenever events are announced (a processor), not only every `every` seconds.

        `wake_sender` is called when messages to send are announced (the processor's delivery worker).
        """
        self._stopping.clear()
        self._listening = listen
        if listen:
            def heard(what: Announced) -> None:
                if what != "outbox":
                    self.wake()
                if what != "inbox" and wake_sender is not None:
                    wake_sender()

            self._signal = self.db.inbox_signal(heard)
            if self._signal is not None:
                self._signal.start()
        self._task = asyncio.create_task(self._run(), name="inbox-recovery")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; replays under way get `grace` seconds (None: all they need), then are cancelled.

        A cancelled replay leaves its row `received` and leased to this process, for the app to give
        back (bot/leases.py) once nothing of this process can still finish it.
        """
        self._stopping.set()
        self._wake.set()
        signal, self._signal = self._signal, None
        if signal is not None:
            await signal.stop()
        task, self._task = self._task, None
        if task is None:
            return
        _, running = await asyncio.wait({task}, timeout=grace)
        if running:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            self._wake.set()

        try:
            while not self._stopping.is_set():
                self._wake.clear()
                room = CONCURRENCY - len(running)
                rows: list[InboxEvent] = []
                claiming = self._worth_claiming(room, len(running))
                if claiming:
                    try:
                        rows = await self._claim(room)
                    except Exception:
                        log.exception("inbox recovery round failed")
                for row in rows:
                    task = asyncio.create_task(self._replay_logged(row), name=f"replay:{row.id}")
                    running.add(task)
                    task.add_done_callback(finished)
                if claiming and len(rows) < room:
                    await self._count_waiting()
                    await self._rest(self._poll_seconds())  # nothing more waiting: until announced
                elif not self._wake.is_set():
                    await self._rest(None)  # more may wait: until a place frees up
            await asyncio.gather(*running, return_exceptions=True)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    async def _count_waiting(self) -> None:
        """The inbox's backlog for /metrics, at most every `every` seconds (with processors it lives there)."""
        now = asyncio.get_running_loop().time()
        if now - self._counted_at < self.every:
            return
        self._counted_at = now
        try:
            async with self.db.session() as session:
                self.pipeline.metrics.inbox_waiting.set(await InboxRepository(session).waiting_count())
        except Exception:
            log.warning("could not count the inbox's backlog", exc_info=True)

    def _worth_claiming(self, room: int, running: int) -> bool:
        """Claim when half the window is free, or when processing would otherwise sit idle.

        Claiming each freed place at once cost a claim per event under load (a processor claims
        every message); waiting for half the window shares one claim among several events.
        """
        return room > 0 and (room >= CONCURRENCY // 2 or running < self.pipeline.concurrency)

    async def _rest(self, timeout: float | None) -> None:
        """Until woken (an announcement, a finished replay, stop) or `timeout` seconds."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that arrives
        # as the wait completes, and stop() cancels just after it wakes us.
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass

    def _poll_seconds(self) -> float:
        if self._signal is not None and not self._signal.connected:
            return min(self.every, UNANNOUNCED_POLL_SECONDS)
        return self.every

    async def _claim(self, limit: int) -> list[InboxEvent]:
        async with self.db.transaction() as session:
            return await InboxRepository(session).claim_unfinished(self.clock.now(), limit=limit, lease=self.lease,
                                                                   owner=self.pipeline.lease_owner)

    async def _replay_logged(self, row: InboxEvent) -> None:
        try:
            await self._replay(row)
        except Exception:
            log.exception("replaying an inbound event failed", extra={"inbox_id": row.id})

    async def run_once(self) -> int:
        """Claim and replay one batch of unfinished events; returns how many were claimed."""
        rows = await self._claim(BATCH)
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
        if not self._handed_off(row):
            self.pipeline.metrics.inbound_replayed.labels(row.platform).inc()
        if isinstance(event, MessageEvent):
            await self.pipeline.run_message(row.id, event)
        elif isinstance(event, CardActionEvent):
            reply = await self.pipeline.run_card_action(row.id, event)
            await self.pipeline.update_card_later(reply, event)

    def _handed_off(self, row: InboxEvent) -> bool:
        """Stored for a processor (never leased, never tried), so not a replay.

        The claimed row keeps the values read before its claim took the lease.
        """
        return self._listening and row.lease_owner is None and row.attempts == 0
