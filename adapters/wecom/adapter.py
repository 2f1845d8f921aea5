"""The WeCom adapter: the AI bot (URL callback or long connection) and the self-built app in; the
bot's replies and pushes, the app's messages and card updates, and the group robot webhook out.

Where a message goes, first that applies:
1. a reply to an AI bot message received by URL callback: its `response_url` (one reply, 1 h);
2. a reply to an AI bot message received over the long connection: `aibot_respond_msg` with its req_id;
3. the long connection is open: `aibot_send_msg` to the chat (a group that talked to the bot, or a person);
4. a person, with the self-built app configured: `message/send`;
5. a group with a robot webhook key bound by an admin (`绑定推送`): the webhook (cards without buttons);
6. otherwise nothing can reach the chat now: retryable, after an hour, and logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from typing import Any

from aiohttp import web

from adapters.wecom.client import WeComApiError, WeComClient
from adapters.wecom.longconn import (
    EVENT_CALLBACK,
    RESPOND,
    RESPOND_UPDATE,
    SEND,
    FrameError,
    LongConnection,
    LongConnError,
)
from adapters.wecom.payloads import Ignored, Parsed, parse_app_message, parse_bot_callback
from adapters.wecom.render import bot_card, bot_text, hook_text, render_card, update_answer
from adapters.wecom.settings import WeComSettings
from adapters.wecom.webhook import MAX_BODY_BYTES, WeComWebhook
from bot.clock import Clock
from bot.core import CardActionEvent, MessageEvent, OutboundMessage
from bot.core.platform import DeliveryError, DeliveryReceipt, DirectoryProfile, EventSink
from storage.cache import Cache

logger = logging.getLogger(__name__)

MAX_NAMES = 10_000
MAX_REQ_IDS = 10_000
RESPONSE_URL_TTL = 3500  # WeCom allows one reply through response_url within an hour
RESPONSE_CODE_TTL = 72 * 3600  # an app card's response_code is single use, for 72 hours
REQ_ID_SECONDS = 300.0
NO_ROUTE_WAIT = 3600.0
RATE_LIMIT_CODES = frozenset({45009, 45033})
RATE_LIMITED_WAIT = 60.0


def task_id_of(idempotency_key: str) -> str:
    """A card's task_id: stable across retries, unique per card (WeCom refuses a task_id twice)."""
    return "tj-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


class WeComAdapter:
    platform = "wecom"

    def __init__(self, settings: WeComSettings, sink: EventSink, cache: Cache, clock: Clock,
                 client: WeComClient | None = None, *, max_body_bytes: int = MAX_BODY_BYTES,
                 longconn: LongConnection | None = None) -> None:
        self._settings = settings
        self._sink = sink
        self._cache = cache
        self._clock = clock
        self._client = client
        self._longconn = longconn
        self._names: OrderedDict[str, str] = OrderedDict()
        self._req_ids: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()
        self.webhook = WeComWebhook(settings, self.handle_bot_payload, self.handle_app_xml, clock,
                                    max_body_bytes=max_body_bytes)

    # The delivery worker fills OutboundMessage.push_hook from the chat's settings for this adapter.
    uses_push_hook = True

    @property
    def client(self) -> WeComClient:
        if self._client is None:
            self._client = WeComClient(self._settings, self._cache, self._clock)
        return self._client

    @property
    def longconn(self) -> LongConnection | None:
        return self._longconn

    @property
    def tenant_key(self) -> str:
        return self._settings.tenant_key

    def setup_routes(self, app: web.Application) -> None:
        self.webhook.setup_routes(app, bot=self._settings.mode == "callback")

    async def start(self) -> None:
        if self._settings.mode == "longconn" and self._settings.bot_id:
            if self._longconn is None:
                self._longconn = LongConnection(self._settings.ws_url, self._settings.bot_id,
                                                self._settings.bot_secret.get_secret_value(), self.handle_frame)
            await self._longconn.start()

    async def stop(self) -> None:
        if self._longconn is not None:
            await self._longconn.stop()
        await self.drain()
        if self._client is not None:
            await self._client.close()

    async def drain(self) -> None:
        """Wait for the app card updates that clicks started in the background."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- inbound -------------------------------------------------------------------------------

    async def handle_bot_payload(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """An AI bot callback (URL mode); the answer replaces the clicked card."""
        parsed = parse_bot_callback(payload, tenant_key=self.tenant_key, received_at=self._clock.now())
        if parsed.response_url and isinstance(parsed.event, MessageEvent) and parsed.event.message_id:
            await self._cache.set(self._response_url_key(parsed.event.message_id), parsed.response_url,
                                  ttl=RESPONSE_URL_TTL)
        return await self._accept(parsed)

    async def handle_frame(self, cmd: str, req_id: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A long-connection callback frame; the answer goes back with the same req_id."""
        parsed = parse_bot_callback(body, tenant_key=self.tenant_key, received_at=self._clock.now())
        if cmd != EVENT_CALLBACK and isinstance(parsed.event, MessageEvent) and parsed.event.message_id:
            self._remember_req_id(parsed.event.message_id, req_id)
        answer = await self._accept(parsed)
        return (RESPOND_UPDATE, answer) if answer is not None else None

    async def handle_app_xml(self, xml: str) -> None:
        """A self-built app callback (decrypted XML); a click's card update goes through the API."""
        parsed = parse_app_message(xml, tenant_key=self.tenant_key, received_at=self._clock.now())
        event = parsed.event
        if isinstance(event, CardActionEvent) and parsed.response_code and event.message_id:
            await self._cache.set(self._response_code_key(event.message_id), parsed.response_code,
                                  ttl=RESPONSE_CODE_TTL)
        if isinstance(event, Ignored):
            logger.info("wecom app callback ignored", extra={"reason": event.kind})
            return
        if not isinstance(event, CardActionEvent):
            await self._sink.accept_message(event)
            return
        result = await self._sink.accept_card_action(event)
        if result.card is not None and event.message_id:
            task_id = event.message_id
            card = render_card(result.card, task_id, self._name_of, url=self._settings.card_url)
            task = asyncio.create_task(self._update_app_card(task_id, card), name="wecom-card-update")
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _accept(self, parsed: Parsed) -> dict[str, Any] | None:
        event = parsed.event
        if isinstance(event, Ignored):
            logger.info("wecom bot callback ignored", extra={"reason": event.kind})
            return None
        if not isinstance(event, CardActionEvent):
            await self._sink.accept_message(event)
            return None
        result = await self._sink.accept_card_action(event)
        if result.card is None or not event.message_id:
            logger.info("wecom card click answered without a new card", extra={"toast": result.toast_kind})
            return None
        return update_answer(render_card(result.card, event.message_id, self._name_of, url=self._settings.card_url))

    async def _update_app_card(self, task_id: str, card: dict[str, Any]) -> None:
        try:
            if not await self._update_with_code(task_id, card):
                logger.warning("wecom app card not updated: no response_code for it")
        except DeliveryError as exc:
            logger.warning("wecom app card update failed: %s", exc.reason)

    async def _update_with_code(self, task_id: str, card: dict[str, Any]) -> bool:
        key = self._response_code_key(task_id)
        code = await self._cache.get(key)
        if code is None:
            return False
        await self._cache.delete(key)  # single use, whatever happens next
        await self.client.update_template_card(code, card)
        return True

    def _remember_req_id(self, message_id: str, req_id: str) -> None:
        self._req_ids[message_id] = (req_id, self._clock.now().timestamp())
        self._req_ids.move_to_end(message_id)
        while len(self._req_ids) > MAX_REQ_IDS:
            self._req_ids.popitem(last=False)

    def _name_of(self, user_id: str) -> str | None:
        return self._names.get(user_id)

    def _learn_name(self, user_id: str, name: str | None) -> None:
        if name:
            self._names[user_id] = name
            self._names.move_to_end(user_id)
            while len(self._names) > MAX_NAMES:
                self._names.popitem(last=False)

    @staticmethod
    def _response_url_key(message_id: str) -> str:
        return f"wecom:response_url:{message_id}"

    @staticmethod
    def _response_code_key(task_id: str) -> str:
        return f"wecom:response_code:{task_id}"

    # -- outbound ------------------------------------------------------------------------------

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        conversation = message.conversation
        if message.card is not None and message.update_of:
            replacement = render_card(message.card, message.update_of, self._name_of, url=self._settings.card_url)
            if self._settings.app_configured and await self._update_with_code(message.update_of, replacement):
                return DeliveryReceipt(platform_message_id=message.update_of)
            if message.update_only:  # the reply to the same event shows the new state in this chat
                return DeliveryReceipt(platform_message_id=message.update_of)
            # An AI bot card can be replaced only while WeCom waits for the click's answer (5 s):
            # later, the new state goes out as a new card in the same chat.
        elif message.update_of:
            raise DeliveryError("a WeCom text message cannot be updated", retryable=False)
        task_id = task_id_of(message.idempotency_key)
        card = (render_card(message.card, task_id, self._name_of, url=self._settings.card_url)
                if message.card is not None else None)
        text = message.text or ""
        receipt = DeliveryReceipt(platform_message_id=task_id if card is not None else None)

        # 1. and 2.: a reply on the surface the message came from.
        if message.reply_to:
            url = await self._cache.get(self._response_url_key(message.reply_to))
            if url is not None:
                await self.client.post_response_url(url, bot_card(card) if card else bot_text(text, self._name_of))
                await self._cache.delete(self._response_url_key(message.reply_to))  # one reply per message
                return receipt
            req = self._req_ids.get(message.reply_to)
            connection = self._longconn
            if req is not None and connection is not None and connection.ready \
                    and self._clock.now().timestamp() - req[1] < REQ_ID_SECONDS:
                self._req_ids.pop(message.reply_to, None)
                await self._frame(connection, RESPOND, bot_card(card) if card else bot_text(text, self._name_of),
                                  rid=req[0])
                return receipt
        # 3. the long connection pushes to any chat that has talked to the bot.
        connection = self._longconn
        if connection is not None and connection.ready:
            body = bot_card(card) if card else bot_text(text, self._name_of)
            await self._frame(connection, SEND, {"chatid": conversation.chat_id, **body})
            return receipt
        # 4. a person, through the self-built app.
        if conversation.chat_type == "p2p" and self._settings.app_configured:
            body = ({"msgtype": "template_card", "template_card": card} if card
                    else {"msgtype": "text", "text": {"content": hook_text(text, self._name_of)["text"]["content"]}})
            answer = await self.client.send_app_message({"touser": conversation.chat_id, **body})
            code = answer.get("response_code")
            if card is not None and isinstance(code, str) and code:
                await self._cache.set(self._response_code_key(task_id), code, ttl=RESPONSE_CODE_TTL)
            return DeliveryReceipt(platform_message_id=task_id if card else str(answer.get("msgid") or "") or None)
        # 5. a group with a bound robot webhook (no callbacks there: buttons are left out).
        if conversation.chat_type == "group" and message.push_hook:
            if message.card is not None:
                notice = render_card(message.card, task_id, self._name_of, buttons=False, url=self._settings.card_url)
                await self.client.send_webhook(message.push_hook, bot_card(notice))
            else:
                await self.client.send_webhook(message.push_hook, hook_text(text, self._name_of))
            return receipt
        logger.warning("wecom: no way to push to this chat yet (bind a group robot with 绑定推送, or use the "
                       "long connection)", extra={"chat_type": conversation.chat_type})
        hint = None
        if conversation.chat_type == "group":
            hint = ("请在该群添加一个群机器人，复制它的 Webhook 地址，在群里 @推进 发送：绑定推送 <Webhook地址>；"
                    "或改用长连接模式（TUIJIN_WECOM__MODE=longconn）。")
        raise DeliveryError("wecom: no route to this chat (no reply window, long connection or bound webhook)",
                            retryable=True, retry_after=NO_ROUTE_WAIT, setup_hint=hint)

    async def _frame(self, connection: LongConnection, cmd: str, body: dict[str, Any], *,
                     rid: str | None = None) -> None:
        try:
            await connection.request(cmd, body, rid=rid)
        except FrameError as exc:
            if exc.errcode in RATE_LIMIT_CODES:
                raise WeComApiError(f"wecom {cmd}: rate limited (errcode {exc.errcode})", retryable=True,
                                    retry_after=RATE_LIMITED_WAIT, errcode=exc.errcode) from None
            raise WeComApiError(f"wecom {cmd}: errcode {exc.errcode} {exc.errmsg}".strip(), retryable=False,
                                errcode=exc.errcode) from None
        except LongConnError as exc:
            raise WeComApiError(f"wecom {cmd}: {exc}", retryable=True) from None

    async def lookup_user(self, tenant_key: str, user_id: str) -> DirectoryProfile | None:
        if not self._settings.app_configured:
            return None
        try:
            profile = await self.client.get_user(user_id)
        except DeliveryError as exc:
            logger.info("wecom user lookup failed: %s", exc.reason)
            return None
        if profile is not None:
            self._learn_name(user_id, profile.name)
        return profile
