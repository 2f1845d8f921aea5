"""The DingTalk adapter: Stream mode (default) or HTTP callbacks in, the OpenAPI out."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from typing import Any

from aiohttp import web

from adapters.dingtalk.client import DingTalkClient
from adapters.dingtalk.payloads import (
    CARD_CALLBACK_TOPIC,
    ROBOT_MESSAGE_TOPIC,
    Ignored,
    parse_card_callback,
    parse_robot_message,
)
from adapters.dingtalk.render import card_callback_answer, card_param_map, render_card, render_text
from adapters.dingtalk.settings import DingTalkSettings
from adapters.dingtalk.stream import StreamConnection
from adapters.dingtalk.webhook import MAX_BODY_BYTES, DingTalkWebhook
from bot.clock import Clock
from bot.core import MessageEvent, OutboundMessage, UserRef
from bot.core.platform import DeliveryError, DeliveryReceipt, DirectoryProfile, EventSink
from storage.cache import Cache

logger = logging.getLogger(__name__)

# Names learned from inbound messages, so an outbound @ reads "@李四" (DingTalk's robot APIs take
# no mention markup in these messages). Bounded; a name not known shows the user id.
MAX_NAMES = 10_000


def out_track_id(idempotency_key: str) -> str:
    """The card's outTrackId: stable across retries (DingTalk treats it as the card's idempotency id)."""
    return "tj-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


class DingTalkAdapter:
    platform = "dingtalk"

    def __init__(
        self,
        settings: DingTalkSettings,
        sink: EventSink,
        cache: Cache,
        clock: Clock,
        client: DingTalkClient | None = None,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        stream: StreamConnection | None = None,
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._cache = cache
        self._clock = clock
        self._client = client
        self._stream = stream
        self._names: OrderedDict[str, str] = OrderedDict()
        # Refusals told to the person who pressed, still being sent.
        self._telling: set[asyncio.Task[None]] = set()
        self.webhook = DingTalkWebhook(settings, self.handle_robot_message, self.handle_card_callback, clock,
                                       max_body_bytes=max_body_bytes)

    @property
    def client(self) -> DingTalkClient:
        if self._client is None:
            self._client = DingTalkClient(self._settings, self._cache, self._clock)
        return self._client

    @property
    def stream(self) -> StreamConnection | None:
        return self._stream

    def setup_routes(self, app: web.Application) -> None:
        if self._settings.mode == "http":
            self.webhook.setup_routes(app)

    async def start(self) -> None:
        if self._settings.mode == "stream":
            if self._stream is None:
                self._stream = StreamConnection(self._settings, self.handle_stream_callback)
            await self._stream.start()

    async def drain_refusals(self) -> None:
        """Wait until the refusals being told to people are sent (or failed)."""
        if self._telling:
            await asyncio.gather(*self._telling, return_exceptions=True)

    async def stop(self) -> None:
        await self.drain_refusals()
        if self._stream is not None:
            await self._stream.stop()
        if self._client is not None:
            await self._client.close()

    # -- inbound -------------------------------------------------------------------------------

    async def handle_stream_callback(self, topic: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        if topic == ROBOT_MESSAGE_TOPIC:
            return await self.handle_robot_message(payload)
        if topic == CARD_CALLBACK_TOPIC:
            return await self.handle_card_callback(payload)
        logger.info("dingtalk callback topic ignored", extra={"topic": topic[:80]})
        return None

    async def handle_robot_message(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Parse and store a robot message; raises PayloadError when malformed."""
        event = parse_robot_message(payload, received_at=self._clock.now())
        if isinstance(event, Ignored):
            logger.info("dingtalk message ignored", extra={"reason": event.kind})
            return None
        self._learn(event)
        await self._sink.accept_message(event)
        return None

    async def handle_card_callback(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Handle a click; the answer carries the updated card, which DingTalk shows at once."""
        event = parse_card_callback(payload, received_at=self._clock.now())
        result = await self._sink.accept_card_action(event)
        if result.card is None:
            logger.info("dingtalk card click answered without a new card", extra={"toast": result.toast_kind})
            if result.toast and result.toast_kind in ("error", "warning"):
                self._tell(event.operator.user_id, result.toast)
            return {}
        return card_callback_answer(render_card(result.card, self._name_of))

    def _tell(self, user_id: str, text: str) -> None:
        """A refused press, said to the person in their one-to-one chat with the bot.

        DingTalk shows no toast: the answer to a click can only change the card, and a refusal
        leaves it as it is, so without this the press would seem to do nothing. Best effort, like
        a toast: not queued in the outbox, and a failure is only logged.
        """
        task = asyncio.create_task(self._send_refusal(user_id, text), name="dingtalk-refusal")
        self._telling.add(task)
        task.add_done_callback(self._telling.discard)

    async def _send_refusal(self, user_id: str, text: str) -> None:
        msg_key, msg_param = render_text(text, self._name_of)
        try:
            await self.client.send_single_message(user_id, msg_key, msg_param)
        except Exception as error:
            logger.warning("dingtalk refusal not told to the presser", extra={"error": type(error).__name__})

    def _learn(self, event: MessageEvent) -> None:
        people: tuple[UserRef, ...] = (event.sender, *event.mentions)
        for person in people:
            if person.name:
                self._names[person.user_id] = person.name
                self._names.move_to_end(person.user_id)
        while len(self._names) > MAX_NAMES:
            self._names.popitem(last=False)

    def _name_of(self, user_id: str) -> str | None:
        return self._names.get(user_id)

    # -- outbound ------------------------------------------------------------------------------

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        conversation = message.conversation
        group = conversation.chat_type == "group"
        if message.card is not None:
            params = card_param_map(render_card(message.card, self._name_of))
            if message.update_of:
                await self.client.update_card(message.update_of, params)
                return DeliveryReceipt(platform_message_id=message.update_of)
            track_id = out_track_id(message.idempotency_key)
            await self.client.send_card(track_id, params, group=group, chat_id=conversation.chat_id)
            return DeliveryReceipt(platform_message_id=track_id)
        if message.update_of:
            raise DeliveryError("a text message cannot be updated", retryable=False)
        # DingTalk's OpenAPI has no reply-in-thread: a reply is a message in the same chat.
        msg_key, msg_param = render_text(message.text or "", self._name_of)
        if group:
            key = await self.client.send_group_message(conversation.chat_id, msg_key, msg_param)
        else:
            key = await self.client.send_single_message(conversation.chat_id, msg_key, msg_param)
        return DeliveryReceipt(platform_message_id=key or None)

    async def lookup_user(self, tenant_key: str, user_id: str) -> DirectoryProfile | None:
        # The contact API is not wired yet: the name DingTalk put on the person's messages is what we know.
        name = self._names.get(user_id)
        return DirectoryProfile(user_id=user_id, name=name) if name else None
