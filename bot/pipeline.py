"""The core's entry point: inbox, then command or card action, then outbox, in one transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from bot.clock import Clock
from bot.commands import ParseError, parse_command
from bot.config import Settings
from bot.core import CardActionEvent, CardActionResult, MessageEvent, OutboundMessage
from bot.core.platform import SinkUnavailable
from bot.delivery.outbox import Outbox
from bot.directory_sync import DirectorySync
from bot.engine.errors import DomainError
from bot.metrics import Metrics
from bot.router import Reply, Router
from bot.scope import Scope, open_scope
from bot.supervisor import Supervisor
from storage.db import Database
from storage.repositories import InboxRepository

log = logging.getLogger(__name__)

ONLY_TEXT = "目前只支持文字消息。发送「帮助」查看可用命令。"
SORRY = "抱歉，处理这条消息时出错了，请稍后再试。"


class Pipeline:
    def __init__(
        self, *, db: Database, settings: Settings, clock: Clock, router: Router, outbox: Outbox,
        supervisor: Supervisor, metrics: Metrics, directory: DirectorySync | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.router = router
        self.outbox = outbox
        self.supervisor = supervisor
        self.metrics = metrics
        self.directory = directory

    async def _first_time(self, platform: str, tenant_key: str, event_id: str, kind: str) -> bool:
        if not self.supervisor.accepting:
            raise SinkUnavailable("not taking new events while shutting down")
        async with self.db.transaction() as session:
            new = await InboxRepository(session).record_once(platform, tenant_key, event_id, kind, self.clock.now())
        if new:
            self.metrics.events.labels(platform, kind).inc()
        else:
            self.metrics.duplicates.labels(platform).inc()
            log.info("duplicate event ignored", extra={"platform": platform, "event_id": event_id})
        return new

    # Messages -----------------------------------------------------------------------------------

    async def accept_message(self, event: MessageEvent) -> bool:
        conv = event.conversation
        if not event.addressed:
            # Group chatter not meant for the bot: not ours to answer or to store.
            return False
        if not await self._first_time(conv.platform, conv.tenant_key, event.event_id, "message"):
            return False
        self.supervisor.spawn(self.process_message(event), name=f"message:{event.event_id}")
        return True

    async def process_message(self, event: MessageEvent) -> None:
        if self.directory is not None:
            await self.directory.sync(event.conversation, (event.sender, *event.mentions))
        try:
            async with self.db.transaction() as session:
                scope = await open_scope(session, event.conversation, event.sender, settings=self.settings,
                                         clock=self.clock, mentions=event.mentions)
                reply = await self._answer_message(event, scope)
                await self._send_reply(scope, event, reply)
        except Exception:
            log.exception("message handling failed", extra={"event_id": event.event_id})
            async with self.db.transaction() as session:
                message = OutboundMessage(conversation=event.conversation, text=SORRY, reply_to=event.message_id,
                                          idempotency_key=self._reply_key(event.conversation.platform,
                                                                          event.conversation.tenant_key,
                                                                          event.event_id))
                await self.outbox.enqueue(session, message, tenant_id=None, at=self.clock.now())
        self.outbox.wake()

    async def _answer_message(self, event: MessageEvent, scope: Scope) -> Reply:
        if event.message_type != "text":
            return Reply(text=ONLY_TEXT)
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
        """Run a handler in a savepoint: a refusal undoes its partial writes but still answers."""
        savepoint = await scope.session.begin_nested()
        try:
            reply: Reply = await self.router.run(name, scope, call)
        except DomainError as refusal:
            await savepoint.rollback()
            self.metrics.commands.labels(name, "refused").inc()
            return Reply(text=refusal.message, toast=refusal.message, toast_kind="error")
        await savepoint.commit()
        self.metrics.commands.labels(name, "ok").inc()
        return reply

    @staticmethod
    def _reply_key(platform: str, tenant_key: str, event_id: str) -> str:
        return f"reply:{platform}:{tenant_key}:{event_id}"

    async def _send_reply(self, scope: Scope, event: MessageEvent, reply: Reply) -> None:
        conv = event.conversation
        message = OutboundMessage(
            conversation=conv, text=reply.text, card=reply.card, reply_to=event.message_id,
            idempotency_key=self._reply_key(conv.platform, conv.tenant_key, event.event_id),
        )
        await self.outbox.enqueue(scope.session, message, tenant_id=scope.tenant.id, at=self.clock.now(),
                                  task_code=reply.task_code)

    # Card actions ---------------------------------------------------------------------------------

    async def accept_card_action(self, event: CardActionEvent) -> CardActionResult:
        started = time.perf_counter()
        conv = event.conversation
        try:
            if event.action is None:
                return CardActionResult("这个按钮已失效，请重新发送命令。", "warning")
            if not await self._first_time(conv.platform, conv.tenant_key, event.event_id, "card_action"):
                return CardActionResult("已处理，请勿重复点击。", "info")
            work = self.supervisor.spawn(self.process_card_action(event), name=f"action:{event.event_id}")
            try:
                reply = await asyncio.wait_for(asyncio.shield(work), self.settings.card_inline_budget)
            except TimeoutError:
                self.supervisor.spawn(self._update_later(work, event), name=f"late-update:{event.event_id}")
                return CardActionResult("正在处理，稍后更新卡片。", "info")
            return CardActionResult(reply.toast or "已处理", reply.toast_kind, reply.card)
        finally:
            self.metrics.card_action_seconds.labels(conv.platform).observe(time.perf_counter() - started)

    async def process_card_action(self, event: CardActionEvent) -> Reply:
        assert event.action is not None
        handler = self.router.find_action(event.action.act)
        if handler is None:
            return Reply(toast="这个按钮已失效，请重新发送命令。", toast_kind="warning")
        if self.directory is not None:
            await self.directory.sync(event.conversation, (event.operator,))
        action = event.action
        async with self.db.transaction() as session:
            scope = await open_scope(session, event.conversation, event.operator, settings=self.settings,
                                     clock=self.clock)
            return await self._guarded(f"action:{action.act}", scope, lambda: handler(action, scope))

    async def _update_later(self, work: asyncio.Task[Reply], event: CardActionEvent) -> None:
        reply = await work
        if reply.card is None or event.message_id is None:
            return
        async with self.db.transaction() as session:
            message = OutboundMessage(
                conversation=event.conversation, card=reply.card, update_of=event.message_id,
                idempotency_key=f"update:{event.conversation.platform}:{event.event_id}",
            )
            await self.outbox.enqueue(session, message, tenant_id=None, at=self.clock.now(),
                                      task_code=reply.task_code)
        self.outbox.wake()
