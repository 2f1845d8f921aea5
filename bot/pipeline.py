"""The core's entry point: a durable inbox, then command or card action, then outbox.

An event is acknowledged only once its inbox row, holding the neutral event, has committed. The
effect (state changes and the reply in the outbox) then commits in one transaction with the row
turning `done`, so it happens exactly once: a crash before that commit leaves the row `received`,
and the recovery loop (bot/recovery.py) replays it when its lease runs out. Once that transaction
commits, the outbox itself hands the reply to the delivery worker or wakes it
(bot/delivery/outbox.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.commands import ParseError, parse_command
from bot.config import Settings
from bot.core import CardActionEvent, CardActionResult, ConversationRef, MessageEvent, OutboundMessage, UserRef
from bot.core.events import InboundEvent
from bot.core.platform import SinkUnavailable
from bot.core.serialize import event_to_dict
from bot.delivery.backoff import jittered_backoff
from bot.delivery.outbox import Outbox
from bot.delivery.publish import publish_extras
from bot.directory_sync import DirectorySync
from bot.engine.errors import DomainError
from bot.leases import new_lease_owner
from bot.limits import check_event, text_problem
from bot.memory import FreeMemory
from bot.metrics import Metrics
from bot.pressure import AckPressure
from bot.router import Reply, Router
from bot.scope import KnownRows, Scope, open_scope
from bot.supervisor import Supervisor
from storage.batch import GroupCommit
from storage.conflicts import CONFLICT_ATTEMPTS, is_transient_conflict
from storage.db import Database
from storage.inbox_signal import Announced
from storage.repositories import InboxRepository
from storage.repositories.inbox import NewInboxRow, record_many

log = logging.getLogger(__name__)

ONLY_TEXT = "目前只支持文字消息。发送「帮助」查看可用命令。"
SORRY = "抱歉，处理这条消息时出错了，请稍后再试。"
CLICK_FAILED = "处理失败，请稍后再点一次。"
STALE_BUTTON = "这个按钮已失效，请重新发送命令。"
# A click not finished within the inline budget: answered with this, its card updated once done.
LATER = "正在处理，稍后更新卡片。"


# An event's effect inside its transaction, given the refusal to answer instead on a second pass.
Effect = Callable[[AsyncSession, Reply | None], Awaitable[Reply]]


class Refused(Exception):
    """A handler refused (DomainError): its transaction rolls back and `reply` is the answer to send."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


def processing_concurrency(settings: Settings, db: Database) -> int:
    """Events processed at once: TUIJIN_INBOX__CONCURRENCY, else 2 on SQLite and 4 on PostgreSQL.

    On PostgreSQL a command waits on several round trips, and acks have connections of their own:
    on the machine of 2026-11-30's sixth session four at once answered 370/372/375 commands/s
    where two answered 322/325/333, with the acks' p99 at 1,000/s unchanged (bench/README.md). On
    SQLite the acks share the one connection with processing, and four raised that p99 past 20 ms.
    """
    if settings.inbox.concurrency is not None:
        return settings.inbox.concurrency
    return 2 if db.is_sqlite else 4


class Pipeline:
    def __init__(
        self, *, db: Database, settings: Settings, clock: Clock, router: Router, outbox: Outbox,
        supervisor: Supervisor, metrics: Metrics, directory: DirectorySync | None = None,
        pressure: AckPressure | None = None, lease_owner: str | None = None, hand_off: bool = False,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.router = router
        self.outbox = outbox
        self.supervisor = supervisor
        self.metrics = metrics
        self.directory = directory
        self.pressure = pressure or AckPressure(settings.inbox.ack_first_seconds, full=self._nearly_full)
        # Every inbox lease this process takes names it (bot/leases.py).
        self.lease_owner = lease_owner or new_lease_owner()
        self.concurrency = processing_concurrency(settings, db)
        self._processing = asyncio.Semaphore(self.concurrency)
        # Clicks are answered inline: they never queue behind a backlog of messages.
        self._clicking = asyncio.Semaphore(settings.inbox.click_concurrency)
        # Events acknowledged (or being stored) by this process whose processing has not finished.
        self._unfinished = 0
        self._known = KnownRows()
        # Messages are stored for processor processes (bot/processor.py) instead of processed here.
        self.hand_off = hand_off
        # Announcements under way, and those asked for again meanwhile (storage/inbox_signal.py).
        self._announcing: set[Announced] = set()
        self._announce_again: set[Announced] = set()
        self._memory = FreeMemory()
        # Group commit: concurrent acks share one INSERT … ON CONFLICT DO NOTHING and one commit.
        self._inbox_writer = GroupCommit(self._insert_inbox_rows, max_batch=256,
                                         parallel=1 if db.is_sqlite else 2)

    @property
    def backlog(self) -> int:
        return self._unfinished

    # The durable ack ------------------------------------------------------------------------------

    async def acks_settled(self) -> None:
        """Wait for inbox inserts still running (their request may be gone, their row not yet stored)."""
        await self._inbox_writer.settled()

    async def _insert_inbox_rows(self, rows: list[NewInboxRow]) -> list[int | None]:
        """One statement for the batch, its own (durable) transaction."""
        return await record_many(self.db.one_statement_target, rows)

    def _reserve(self) -> None:
        """Take a place in the backlog, or refuse (503, so the platform re-sends later) when it is full."""
        if not self.supervisor.accepting:
            raise SinkUnavailable("not taking new events while shutting down")
        if self._unfinished >= self.settings.inbox.max_backlog:
            self.metrics.backlog_refused.inc()
            raise SinkUnavailable("too many events waiting to be processed")
        self._unfinished += 1

    def _nearly_full(self) -> bool:
        """The backlog at its bound, or nearly: processing, not acks, must have the loop.

        Nearly, not three quarters: a burst of the bound's size (2,000 events) must still be
        acknowledged first. Under a sustained overload the platform's re-sends take every place
        freed at once, so the backlog stays at its bound and this holds.
        """
        return self._unfinished * 20 >= self.settings.inbox.max_backlog * 19

    def _release(self) -> None:
        self._unfinished -= 1
        if self._unfinished == 0:
            self._memory.after_burst()

    async def _record(self, event: InboundEvent, kind: str) -> int | None:
        """Store the event with its payload; the row id the first time, None for a re-delivery.

        Raises InvalidEvent (the adapter answers 400) for ids no platform sends. The caller has
        reserved a place in the backlog (and gives it back unless a new row is processed).
        """
        check_event(event)
        conv = event.conversation
        now = self.clock.now()
        # A handed-off message is nobody's yet: the first processor to claim it leases it.
        ours = not (self.hand_off and kind == "message")
        with self.pressure.ack():
            row_id = await self._inbox_writer.submit(NewInboxRow(
                conv.platform, conv.tenant_key, event.event_id, kind, now, payload=event_to_dict(event),
                lease_until=now + timedelta(seconds=self.settings.inbox.lease_seconds) if ours else None,
                lease_owner=self.lease_owner if ours else None,
            ))
        if row_id is not None:
            self.metrics.events.labels(conv.platform, kind).inc()
        else:
            self.metrics.duplicates.labels(conv.platform).inc()
            log.info("duplicate event ignored", extra={"platform": conv.platform, "event_id": event.event_id})
        return row_id

    async def _failed(self, row_id: int, event: InboundEvent, error: BaseException) -> bool:
        """Count a failed attempt; after the last one the row is `failed` and a message gets one reply.

        Returns True when the event was given up.
        """
        conv = event.conversation
        kind = "message" if isinstance(event, MessageEvent) else "card_action"
        reason = f"{type(error).__name__}: {str(error)[:200]}"
        now = self.clock.now()
        settings = self.settings.inbox
        async with self.db.transaction() as session:
            inbox = InboxRepository(session)
            attempts = await inbox.attempts(row_id)
            wait = jittered_backoff(attempts + 1, base=settings.retry_base_seconds, cap=300.0, floor=0.5)
            attempts, gave_up = await inbox.record_failure(
                row_id, reason, now, max_attempts=settings.max_attempts, retry_at=now + timedelta(seconds=wait)
            )
            if gave_up and isinstance(event, MessageEvent):
                sorry = OutboundMessage(conversation=conv, text=SORRY, reply_to=event.message_id,
                                        idempotency_key=self._reply_key(conv, event.event_id))
                await self.outbox.enqueue(session, sorry, tenant_id=None, at=now)
        log.error("inbound event failed", exc_info=error,
                  extra={"platform": conv.platform, "event_id": event.event_id, "attempt": attempts,
                         "given_up": gave_up})
        if gave_up:
            self.metrics.inbound_failed.labels(conv.platform, kind).inc()
        else:
            self.metrics.inbound_retried.labels(conv.platform, kind).inc()
        return gave_up

    async def _sync_directory(self, conversation: ConversationRef, people: Iterable[UserRef]) -> None:
        """Directory facts are a nicety: a lookup or upsert failure never costs the command."""
        if self.directory is None:
            return
        try:
            await self.directory.sync(conversation, people)
        except Exception:
            log.warning("directory sync failed; going on without it", exc_info=True,
                        extra={"platform": conversation.platform})

    # Messages -------------------------------------------------------------------------------------

    async def accept_message(self, event: MessageEvent) -> bool:
        if not event.addressed:
            # Group chatter not meant for the bot: not ours to answer or to store.
            return False
        self._reserve()
        try:
            row_id = await self._record(event, "message")
        except BaseException:
            self._release()
            raise
        if row_id is None:
            self._release()
            return False
        if self.hand_off:
            self._release()
            self.announce("inbox")
            return True
        self.supervisor.spawn(self._process_message(row_id, event), name=f"message:{event.event_id}")
        return True

    def announce(self, what: Announced) -> None:
        """Wake the processors (events to process, or messages to send); a burst shares one NOTIFY."""
        if what in self._announcing:
            self._announce_again.add(what)
            return
        if not self.supervisor.accepting:
            return  # stopping: the processors' poll finds the rows
        self._announcing.add(what)
        self.supervisor.spawn(self._announce_while_asked(what), name=f"announce-{what}")

    async def _announce_while_asked(self, what: Announced) -> None:
        try:
            while True:
                self._announce_again.discard(what)
                try:
                    await self.db.announce(what)
                except Exception:
                    # Only a hint: the processors find the rows at their next poll.
                    log.warning("could not announce new work", exc_info=True, extra={"what": what})
                if what not in self._announce_again:
                    return
        finally:
            self._announcing.discard(what)

    async def _process_message(self, row_id: int, event: MessageEvent) -> None:
        try:
            await self.run_message(row_id, event)
        finally:
            self._release()

    async def run_message(self, row_id: int, event: MessageEvent) -> None:
        """One attempt at a stored message: its effect commits together with the row turning done."""
        async with self._processing, self.pressure.background():
            await self._run_message(row_id, event)

    async def _run_message(self, row_id: int, event: MessageEvent) -> None:
        await self._sync_directory(event.conversation, (event.sender, *event.mentions))

        async def answer(session: AsyncSession, refusal: Reply | None) -> Reply:
            scope = await open_scope(session, event.conversation, event.sender, settings=self.settings,
                                     clock=self.clock, mentions=event.mentions, known=self._known)
            reply = refusal if refusal is not None else await self._answer_message(event, scope)
            await self._send_reply(scope, event, reply)
            return reply

        await self._apply(row_id, event, answer)

    async def _apply(self, row_id: int, event: InboundEvent, effect: Effect) -> Reply | None:
        """Run `effect` in a transaction with the inbox row turning done: the event's one effect.

        A lost race (deadlock) runs it again at once. A refusal (`Refused`) has rolled everything
        back; `effect` runs again with the refusal, which it only answers, in a transaction of its
        own. Any other failure is counted (`_failed`). None when the row was done already, or failed.
        """
        refusal: Reply | None = None
        attempt = 0
        while attempt < CONFLICT_ATTEMPTS:
            attempt += 1
            try:
                async with self.db.transaction() as session:
                    if not await InboxRepository(session).take_for_effect(row_id, self.clock.now()):
                        return None
                    return await effect(session, refusal)
            except Refused as refused:
                refusal = refused.reply
                attempt -= 1
            except Exception as error:
                if attempt < CONFLICT_ATTEMPTS and is_transient_conflict(error):
                    continue
                await self._failed(row_id, event, error)
                return None
        return None

    async def _answer_message(self, event: MessageEvent, scope: Scope) -> Reply:
        if event.message_type != "text":
            return Reply(text=ONLY_TEXT)
        problem = text_problem(event.text)
        if problem is not None:
            return Reply(text=problem)
        command = parse_command(event.text, scope.parse_context())
        if isinstance(command, ParseError):
            self.metrics.commands.labels("parse_error", command.kind).inc()
            return Reply(text=command.message)
        handler = self.router.find_command(command)
        if handler is None:
            return Reply(text="这个命令还不支持。发送「帮助」查看可用命令。")
        name = type(command).__name__
        return await self._guarded(name, scope, lambda: handler(command, scope))

    async def _guarded(self, name: str, scope: Scope, call: Any) -> Reply:
        """Run a handler; a refusal (DomainError) raises `Refused` with its answer.

        The caller rolls the whole transaction back, which undoes the handler's partial writes,
        and answers in a fresh one. No savepoint around the handler: that spares two statements
        (SAVEPOINT, RELEASE) on every command that succeeds, and a refusal, which is rare, costs a
        second short transaction (the inbox row, the scope, the answer).
        """
        try:
            reply: Reply = await self.router.run(name, scope, call)
        except DomainError as refusal:
            self.metrics.commands.labels(name, "refused").inc()
            raise Refused(Reply(text=refusal.message, toast=refusal.message, toast_kind="error")) from None
        self.metrics.commands.labels(name, "ok").inc()
        return reply

    @staticmethod
    def _action_key(event: CardActionEvent) -> str:
        conv = event.conversation
        return f"action:{conv.platform}:{conv.tenant_key}:{event.event_id}"

    @staticmethod
    def _reply_key(conv: ConversationRef, event_id: str) -> str:
        return f"reply:{conv.platform}:{conv.tenant_key}:{event_id}"

    async def _send_reply(self, scope: Scope, event: MessageEvent, reply: Reply) -> None:
        conv = event.conversation
        key = self._reply_key(conv, event.event_id)
        if reply.text is not None or reply.card is not None:
            message = OutboundMessage(
                conversation=conv, text=reply.text, card=reply.card, reply_to=event.message_id,
                idempotency_key=reply.key or key,
            )
            await self.outbox.enqueue(scope.session, message, tenant_id=scope.tenant.id, at=self.clock.now(),
                                      task_code=reply.task_code)
        await publish_extras(scope.session, self.outbox, reply, conversation=conv, event_key=key,
                             tenant_id=scope.tenant.id, at=self.clock.now())

    # Card actions ---------------------------------------------------------------------------------

    async def accept_card_action(self, event: CardActionEvent) -> CardActionResult:
        started = time.perf_counter()
        try:
            if event.action is None:
                return CardActionResult(STALE_BUTTON, "warning")
            self._reserve()
            try:
                row_id = await self._record(event, "card_action")
            except BaseException:
                self._release()
                raise
            if row_id is None:
                self._release()
                return CardActionResult("已处理，请勿重复点击。", "info")
            work = self.supervisor.spawn(self._process_card_action(row_id, event), name=f"action:{event.event_id}")
            try:
                reply = await asyncio.wait_for(asyncio.shield(work), self.settings.card_inline_budget)
            except TimeoutError:
                self.supervisor.spawn(self._update_later(work, event), name=f"late-update:{event.event_id}")
                return CardActionResult(LATER, "info")
            if reply is None:
                return CardActionResult(CLICK_FAILED, "error")
            return CardActionResult(reply.toast or "已处理", reply.toast_kind, reply.card)
        finally:
            self.metrics.card_action_seconds.labels(event.conversation.platform).observe(
                time.perf_counter() - started
            )

    async def _process_card_action(self, row_id: int, event: CardActionEvent) -> Reply | None:
        try:
            return await self.run_card_action(row_id, event)
        finally:
            self._release()

    async def run_card_action(self, row_id: int, event: CardActionEvent) -> Reply | None:
        """One attempt at a stored click; None when it failed or another process had already done it."""
        async with self._clicking:
            return await self._run_card_action(row_id, event)

    async def _run_card_action(self, row_id: int, event: CardActionEvent) -> Reply | None:
        action = event.action
        if action is None:
            return None
        handler = self.router.find_action(action.act)
        if handler is not None:
            await self._sync_directory(event.conversation, (event.operator,))

        async def press(session: AsyncSession, refusal: Reply | None) -> Reply:
            if handler is None:
                return Reply(toast=STALE_BUTTON, toast_kind="warning")
            scope = await open_scope(session, event.conversation, event.operator, settings=self.settings,
                                     clock=self.clock, known=self._known)
            scope.inputs = dict(event.form_values)
            reply = refusal if refusal is not None else await self._guarded(
                f"action:{action.act}", scope, partial(handler, action, scope))
            await publish_extras(session, self.outbox, reply, conversation=event.conversation,
                                 event_key=self._action_key(event), tenant_id=scope.tenant.id,
                                 at=self.clock.now(), pressed=event.message_id)
            return reply

        return await self._apply(row_id, event, press)

    async def _update_later(self, work: asyncio.Task[Reply | None], event: CardActionEvent) -> None:
        await self.update_card_later(await work, event)

    async def update_card_later(self, reply: Reply | None, event: CardActionEvent) -> None:
        """The clicked card, updated through the outbox when the inline answer could not carry it."""
        if reply is None or reply.card is None or event.message_id is None:
            return
        async with self.db.transaction() as session:
            message = OutboundMessage(
                conversation=event.conversation, card=reply.card, update_of=event.message_id,
                idempotency_key=f"update:{event.conversation.platform}:{event.event_id}",
            )
            await self.outbox.enqueue(session, message, tenant_id=None, at=self.clock.now(),
                                      task_code=reply.task_code)
