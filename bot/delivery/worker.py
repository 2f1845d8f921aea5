"""The delivery worker: claims due outbox rows and sends them, one lane per conversation.

Each conversation (platform, tenant, chat) is a lane: its messages go out in order, one at a
time, while other lanes go on in parallel, so a chat that is rate-limited, slow or hanging never
holds up another. Every send has a timeout. A failure that may pass (timeouts, 5xx, 429, a cache
outage, anything unexpected) is retried on a capped, jittered backoff with the platform's reset
hint as a floor; only a permanent platform error, or a message older than the configured age,
is given up, kept as `dead` with the reason, logged and counted.

Rows reach a lane two ways: a claim round (one statement, leasing due rows to this process), or
a direct hand-over from a transaction of this process that queued a message due now (see
bot/delivery/outbox.py). A lease is checked before each send: one about to run out is renewed,
and a row no longer ours (its lease ran out and another worker claimed it) is left to that one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import DeliverySettings
from bot.core import OutboundMessage
from bot.core.messages import PUSH_HOOK_SETTING
from bot.core.platform import DeliveryError, PlatformAdapter
from bot.core.serialize import message_from_dict
from bot.delivery.backoff import jittered_backoff
from bot.delivery.leased import LaneKey, Leased
from bot.delivery.outbox import Outbox
from bot.delivery.unreachable import UnreachableNotices
from bot.leases import new_lease_owner
from bot.metrics import Metrics
from bot.pressure import AckPressure
from storage.batch import GroupCommit
from storage.db import Database
from storage.repositories import DirectoryRepository, OutboxRepository, TenantRepository
from storage.repositories.outbox import DEAD, DueRow, claim_due_rows, mark_many_sent, renew_lease

log = logging.getLogger(__name__)

# The pending gauge (and the expiry of rows for platforms nobody serves) is refreshed this often,
# not on every round: under load that was two statements for every claim.
GAUGE_EVERY = timedelta(seconds=15)
UPDATE_WAIT_SECONDS = 2.0
# A handed-over row is leased for one send timeout plus this: far more than a healthy process
# needs between its commit and the send (milliseconds), and all a crash costs its replies.
HANDOVER_SLACK = timedelta(seconds=30)


def claimed(row: DueRow) -> Leased:
    return Leased(id=row.id, platform=row.platform, tenant_key=row.tenant_key, chat_id=row.chat_id,
                  tenant_id=row.tenant_id, attempts=row.attempts, created_at=row.created_at,
                  leased_until=row.next_attempt_at, payload=row.payload)


class DeliveryWorker:
    def __init__(
        self, db: Database, outbox: Outbox, adapters: Mapping[str, PlatformAdapter], clock: Clock,
        metrics: Metrics, settings: DeliverySettings | None = None, *, poll_seconds: float = 1.0,
        rng: random.Random | None = None, pressure: AckPressure | None = None, lease_owner: str | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.adapters = adapters
        self.clock = clock
        self.metrics = metrics
        self.settings = settings or DeliverySettings()
        self.poll_seconds = poll_seconds
        self.rng = rng or random.Random()
        self.pressure = pressure or AckPressure(0.0)
        # Every outbox lease this process takes names it (bot/leases.py).
        self.lease_owner = lease_owner or new_lease_owner()
        self._queues: dict[LaneKey, deque[Leased]] = {}
        self._queued = 0
        self._lanes: dict[LaneKey, asyncio.Task[None]] = {}
        self._sending = asyncio.Semaphore(self.settings.concurrency)
        self._task: asyncio.Task[None] | None = None
        self._gauge_at: datetime | None = None
        self._stopping = asyncio.Event()
        # When a stop's grace ends (loop time): lanes then finish the send they are in and start no other.
        self._stop_by: float | None = None
        self._closed = False
        # Lanes finishing sends at the same moment record them in one statement and one commit.
        self._sent = GroupCommit(self._mark_sent, max_batch=200)

    async def _mark_sent(self, sent: list[tuple[int, str | None, datetime]]) -> list[None]:
        # One statement, its own transaction, committed (durably) before it returns: on
        # PostgreSQL's autocommit pool, no BEGIN and COMMIT round trips; on SQLite one call.
        await mark_many_sent(self.db.one_statement_target, sent)
        return [None] * len(sent)

    @property
    def lease(self) -> timedelta:
        # Long enough that a lane gets through what it claimed before another replica may take it.
        return timedelta(seconds=self.settings.send_timeout_seconds * 4 + 60)

    @property
    def handover_lease(self) -> timedelta:
        return timedelta(seconds=self.settings.send_timeout_seconds) + HANDOVER_SLACK

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="delivery-worker")
        self.outbox.attach(self)

    async def stop(self, grace: float | None = None) -> None:
        """Claim once more, send for `grace` seconds (None: until every lane is through), then stop.

        A send under way when the grace ends still finishes (it has its timeout); rows not reached,
        like rows leased to us by transactions that commit after this, stay leased to this process
        for the app to give back once everything has stopped (bot/leases.py).
        """
        if grace is not None:
            self._stop_by = asyncio.get_running_loop().time() + grace
        self.outbox.detach(self)
        self._stopping.set()
        self.outbox.wake()
        if self._task is not None:
            await self._task
        self._closed = True

    # The hand-over (bot/delivery/outbox.py) -------------------------------------------------------

    def lease_until(self, platform: str, at: datetime) -> datetime | None:
        """Take a message due at `at` directly while there is room; else a claim round will."""
        if self._stopping.is_set() or platform not in self.adapters or self._queued >= self.settings.batch:
            return None
        now = self.clock.now()
        if at > now:
            return None
        return now + self.handover_lease

    def take(self, item: Leased) -> None:
        if self._closed:
            return
        self._enqueue(item)

    def _enqueue(self, item: Leased) -> None:
        key = item.lane
        self._queues.setdefault(key, deque()).append(item)
        self._queued += 1
        self._start_lane(key)

    def _start_lane(self, key: LaneKey) -> None:
        """One task per chat drains its queue in order; none is started for a chat that has one."""
        if key not in self._lanes:
            self._lanes[key] = asyncio.create_task(self._drain_lane(key), name=f"lane:{key[0]}:{key[2]}")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await self._claim_and_dispatch()
            except Exception:
                log.exception("delivery round failed")
                claimed = 0
            if claimed == 0 and not self._stopping.is_set():
                await self.outbox.wait(self.poll_seconds)
        # Last round at shutdown: send what is due, for as long as the grace allows.
        if not self._past_grace():
            try:
                await self._claim_and_dispatch()
            except Exception:
                log.exception("delivery round failed")
        while self._lanes:
            await asyncio.gather(*list(self._lanes.values()), return_exceptions=True)
        left = sum(len(queue) for queue in self._queues.values())
        if left:
            log.info("delivery stopped with rows not reached", extra={"count": left})

    def _past_grace(self) -> bool:
        return self._stop_by is not None and asyncio.get_running_loop().time() >= self._stop_by

    async def run_once(self) -> int:
        """Claim what is due now and wait until every lane is through; returns how many were claimed."""
        claimed = await self._claim_and_dispatch()
        while self._lanes:
            await asyncio.gather(*list(self._lanes.values()), return_exceptions=True)
        return claimed

    async def _claim_and_dispatch(self) -> int:
        now = self.clock.now()
        # Room left: never hold more claimed rows in memory than a few rounds of sends.
        room = self.settings.batch - self._queued
        rows: list[DueRow] = []
        if room > 0:
            async with self.db.engine.begin() as conn:
                rows = await claim_due_rows(conn, now, limit=room, lease=self.lease, platforms=list(self.adapters),
                                            owner=self.lease_owner)
        for row in rows:
            self._enqueue(claimed(row))
        for key in list(self._queues):
            self._start_lane(key)  # again for a lane that stopped on an unexpected error
        if self._gauge_stale(now):
            await self._housekeeping(now)
        return len(rows)

    async def _drain_lane(self, key: LaneKey) -> None:
        queue = self._queues[key]
        try:
            while queue and not self._past_grace():
                row = queue.popleft()
                self._queued -= 1
                retry_at = await self._deliver(row)
                if retry_at is not None and queue:
                    # The chat is failing: give the rest back, due with the failed one, in order.
                    rest = [r.id for r in queue]
                    self._queued -= len(queue)
                    queue.clear()
                    async with self.db.transaction() as session:
                        await OutboxRepository(session).release(rest, retry_at)
        except Exception:
            log.exception("delivery lane failed", extra={"platform": key[0]})
        finally:
            self._lanes.pop(key, None)
            if not queue:
                self._queues.pop(key, None)

    async def _still_ours(self, row: Leased) -> bool:
        """Renew a lease that could run out during the send; False when another worker has the row now."""
        now = self.clock.now()
        if row.leased_until - now > timedelta(seconds=self.settings.send_timeout_seconds):
            return True
        until = now + self.handover_lease
        async with self.db.engine.begin() as conn:
            if not await renew_lease(conn, row.id, row.attempts, until):
                log.info("lease lost before sending; left to the worker that has it",
                         extra={"outbox_id": row.id, "platform": row.platform})
                return False
        row.leased_until = until
        return True

    async def _deliver(self, row: Leased) -> datetime | None:
        """Send one row; returns when it is due again if it will be retried, else None."""
        adapter = self.adapters[row.platform]
        message = row.message
        if message is None:
            try:
                message = message_from_dict(row.payload or {})
            except (KeyError, TypeError, ValueError) as error:
                await self._give_up(row, f"unreadable payload: {type(error).__name__}")
                return None
        if message.update_of_key is not None and message.update_of is None:
            async with self.db.session() as session:
                original = await OutboxRepository(session).by_key(message.update_of_key)
            if original is None or original.status == DEAD:
                await self._give_up(row, "the card to update was never sent")
                return None
            if original.platform_message_id is None:
                # Queued behind the card it updates, which has not left yet.
                return await self._retry(row, "the card to update has not been sent yet", UPDATE_WAIT_SECONDS)
            message = replace(message, update_of=original.platform_message_id)
        if getattr(adapter, "uses_push_hook", False) and message.push_hook is None \
                and message.conversation.chat_type == "group":
            message = replace(message, push_hook=await self._push_hook(message))
        try:
            async with self.pressure.background(), self._sending:
                # Checked with the send slot in hand: the wait for it may have outlasted the lease.
                if not await self._still_ours(row):
                    return None
                receipt = await asyncio.wait_for(adapter.deliver(message), self.settings.send_timeout_seconds)
        except DeliveryError as error:
            if not error.retryable:
                await self._give_up(row, error.reason)
                return None
            if error.setup_hint is not None:
                await self._report_unreachable(row, error.setup_hint)
            return await self._retry(row, error.reason, error.retry_after)
        except TimeoutError:
            return await self._retry(row, f"no answer within {self.settings.send_timeout_seconds:g}s", None)
        except Exception as error:
            # A cache or network failure on our side, or an adapter bug: never lose the message for it.
            log.warning("delivery raised unexpectedly; will retry", exc_info=True,
                        extra={"outbox_id": row.id, "platform": row.platform})
            return await self._retry(row, f"unexpected {type(error).__name__}", None)
        await self._sent.submit((row.id, receipt.platform_message_id, self.clock.now()))
        self.metrics.sent.labels(row.platform).inc()
        return None

    async def _push_hook(self, message: OutboundMessage) -> str | None:
        """The push address an admin bound to the message's group chat (`绑定推送`), if any."""
        conv = message.conversation
        async with self.db.session() as session:
            tenant = await TenantRepository(session).get(conv.platform, conv.tenant_key)
            if tenant is None or tenant.id is None:
                return None
            chat = await DirectoryRepository(session, tenant.id).chat_by_platform_id(conv.chat_id)
        hook = (chat.settings or {}).get(PUSH_HOOK_SETTING) if chat is not None else None
        return hook if isinstance(hook, str) and hook else None

    async def _report_unreachable(self, row: Leased, hint: str) -> None:
        """Tell the tenant's admins, once per chat, that the bot cannot reach it and what fixes it."""
        if row.tenant_id is None:
            return
        try:
            async with self.db.transaction() as session:
                notices = UnreachableNotices(session, row.tenant_id)
                if await notices.report(row.conversation, hint, self.clock.now(), self.outbox):
                    log.warning("a chat cannot be reached; its admins were told",
                                extra={"platform": row.platform, "outbox_id": row.id})
        except Exception:
            log.warning("could not tell admins about an unreachable chat", exc_info=True,
                        extra={"platform": row.platform})

    async def _retry(self, row: Leased, reason: str, retry_after: float | None) -> datetime | None:
        now = self.clock.now()
        age = now - row.created_at
        if age >= timedelta(hours=self.settings.max_age_hours):
            await self._give_up(row, f"still failing after {age}: {reason}")
            return None
        wait = jittered_backoff(row.attempts, base=self.settings.backoff_base_seconds,
                                cap=self.settings.backoff_cap_seconds, floor=0.5, rng=self.rng)
        # The platform's reset hint is a floor: retrying sooner only earns another 429.
        wait = max(wait, retry_after or 0.0)
        retry_at = now + timedelta(seconds=wait)
        async with self.db.transaction() as session:
            await OutboxRepository(session).mark_retry(row.id, reason, retry_at)
        self.metrics.retried.labels(row.platform).inc()
        log.warning("delivery will be retried", extra={"outbox_id": row.id, "platform": row.platform,
                                                        "attempt": row.attempts, "wait_s": round(wait, 2),
                                                        "reason": reason})
        return retry_at

    async def _give_up(self, row: Leased, reason: str) -> None:
        async with self.db.transaction() as session:
            await OutboxRepository(session).mark_dead(row.id, reason)
        self.metrics.dead.labels(row.platform).inc()
        log.error("delivery given up; the message stays in the outbox as dead",
                  extra={"outbox_id": row.id, "platform": row.platform, "reason": reason})

    def _gauge_stale(self, now: datetime) -> bool:
        return self._gauge_at is None or now - self._gauge_at >= GAUGE_EVERY

    async def _housekeeping(self, now: datetime) -> None:
        async with self.db.transaction() as session:
            outbox = OutboxRepository(session)
            expired = await outbox.expire_unsendable(
                now, timedelta(hours=self.settings.max_age_hours), list(self.adapters)
            )
            pending = await outbox.pending_count()
        if expired:
            log.error("messages for platforms nobody serves were given up", extra={"count": expired})
        self.metrics.outbox_pending.set(pending)
        self._gauge_at = now
