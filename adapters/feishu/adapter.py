"""The Feishu/Lark adapter: webhook or long connection in, the Open API out."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.feishu.client import FeishuClient
from adapters.feishu.longconn import LongConnection
from adapters.feishu.payloads import Ignored, is_legacy_card_callback, parse_payload
from adapters.feishu.render import image_sources_to_upload, render_card, render_text
from adapters.feishu.settings import FeishuSettings
from adapters.feishu.webhook import MAX_BODY_BYTES, FeishuWebhook
from bot.clock import Clock
from bot.core import Card, CardActionEvent, CardActionResult, MessageEvent, OutboundMessage
from bot.core.platform import DeliveryError, DeliveryReceipt, DirectoryProfile, EventSink
from bot.delivery.http import ApiSession, TransportError
from storage.cache import Cache

logger = logging.getLogger(__name__)

# Feishu's `uuid` (the send API's idempotency key) holds at most 50 characters.
MAX_UUID = 50
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_KEY_TTL = 30 * 24 * 3600
# How long start-up waits for the bot's identity before going on and resolving it in the background.
IDENTITY_WAIT_SECONDS = 3.0
IDENTITY_RETRY_SECONDS = 30.0

ImageFetcher = Callable[[str], Awaitable[bytes]]


def feishu_uuid(idempotency_key: str) -> str:
    if len(idempotency_key) <= MAX_UUID:
        return idempotency_key
    return "tj-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


def card_action_response(result: CardActionResult, *, legacy: bool) -> dict[str, Any]:
    """The inline answer to a click: toast plus raw 2.0 card; old callbacks take the card alone."""
    if legacy:
        return render_card(result.card) if result.card is not None else {}
    response: dict[str, Any] = {"toast": {"type": result.toast_kind, "content": result.toast}}
    if result.card is not None:
        response["card"] = {"type": "raw", "data": render_card(result.card)}
    return response


class FeishuAdapter:
    platform = "feishu"

    def __init__(
        self,
        settings: FeishuSettings,
        sink: EventSink,
        cache: Cache,
        clock: Clock,
        client: FeishuClient | None = None,
        *,
        fetch_image: ImageFetcher | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        processes: int = 1,
    ) -> None:
        self._settings = settings
        self._processes = processes
        self._sink = sink
        self._cache = cache
        self._clock = clock
        self._client = client
        self._fetch_image = fetch_image
        self._http = ApiSession(timeout=10.0)
        self._bot_open_id: str | None = None
        self._longconn: LongConnection | None = None
        self._identity_task: asyncio.Task[None] | None = None
        self.webhook = FeishuWebhook(settings, self.handle_plain_payload, clock, max_body_bytes=max_body_bytes)

    @property
    def client(self) -> FeishuClient:
        if self._client is None:
            self._client = FeishuClient(self._settings, self._cache, self._clock, processes=self._processes)
        return self._client

    def setup_routes(self, app: web.Application) -> None:
        if self._settings.mode == "webhook":
            self.webhook.setup_routes(app)

    async def start(self) -> None:
        # Nothing network-bound may run before an event is acknowledged, so the bot's own identity
        # (to tell its mention from others') is resolved here and kept; until it is known, the
        # parser takes a group message's mention of some bot as ours.
        self._identity_task = asyncio.create_task(self._resolve_identity(), name="feishu-identity")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._identity_task), IDENTITY_WAIT_SECONDS)
        if self._settings.mode == "longconn":
            self._longconn = LongConnection(self._settings, self.handle_plain_payload, self._clock)
            await self._longconn.start()

    async def stop(self) -> None:
        if self._identity_task is not None:
            self._identity_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._identity_task
            self._identity_task = None
        if self._longconn is not None:
            await self._longconn.stop()
            self._longconn = None
        await self._http.close()
        if self._client is not None:
            await self._client.close()

    async def _resolve_identity(self) -> None:
        while self._bot_open_id is None:
            try:
                self._bot_open_id = await self.client.bot_open_id()
            except Exception:
                logger.warning("feishu bot identity lookup failed; retrying", exc_info=True)
            if self._bot_open_id is None:
                await asyncio.sleep(IDENTITY_RETRY_SECONDS)

    async def handle_plain_payload(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The shared path after verification/decryption (webhook and long connection).

        Returns the card-callback response body, or None; raises PayloadError when malformed.
        """
        event = parse_payload(payload, bot_open_id=self._bot_open_id, received_at=self._clock.now())
        if isinstance(event, Ignored):
            logger.info("feishu event ignored", extra={"event_type": event.event_type})
            return None
        if isinstance(event, MessageEvent):
            await self._sink.accept_message(event)
            return None
        assert isinstance(event, CardActionEvent)
        result = await self._sink.accept_card_action(event)
        return card_action_response(result, legacy=is_legacy_card_callback(payload))

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        uuid = feishu_uuid(message.idempotency_key)
        if message.card is not None:
            content = render_card(message.card, await self._upload_images(message.card))
            if message.update_of:
                await self.client.update_card(message.update_of, content)
                return DeliveryReceipt(platform_message_id=message.update_of)
            msg_type = "interactive"
        else:
            if message.update_of:
                raise DeliveryError("a text message cannot be updated", retryable=False)
            content, msg_type = render_text(message.text or ""), "text"
        if message.direct_to:
            message_id = await self.client.send_message(message.direct_to, msg_type, content, uuid,
                                                        receive_id_type="open_id")
        elif message.reply_to:
            message_id = await self.client.reply_message(message.reply_to, msg_type, content, uuid,
                                                         chat_id=message.conversation.chat_id)
        else:
            message_id = await self.client.send_message(message.conversation.chat_id, msg_type, content, uuid)
        return DeliveryReceipt(platform_message_id=message_id)

    async def lookup_user(self, tenant_key: str, user_id: str) -> DirectoryProfile | None:
        profile: DirectoryProfile | None = await self.client.get_user(user_id)
        return profile

    async def _upload_images(self, card: Card) -> dict[str, str]:
        keys: dict[str, str] = {}
        for source in image_sources_to_upload(card):
            cache_key = "feishu:image:" + hashlib.sha256(source.encode("utf-8")).hexdigest()
            key = await self._cache.get(cache_key)
            if key is None:
                data = await self._image_bytes(source)
                if data is None:
                    continue
                key = await self.client.upload_image(data, Path(source.split("?")[0]).name or "image.png")
                await self._cache.set(cache_key, key, ttl=IMAGE_KEY_TTL)
            keys[source] = key
        return keys

    async def _image_bytes(self, source: str) -> bytes | None:
        """The image's bytes; None (shown as its alt text) when it will never load."""
        if self._fetch_image is not None:
            data: bytes | None = await self._fetch_image(source)
        elif source.startswith(("http://", "https://")):
            data = await self._download(source)
        else:
            # Never read local paths: a card's content must not be able to reach our disk.
            logger.warning("feishu card image source is neither an image key nor a URL")
            return None
        if data is None:
            return None
        if len(data) > MAX_IMAGE_BYTES:
            logger.warning("feishu card image too large", extra={"bytes": len(data)})
            return None
        return data

    async def _download(self, url: str) -> bytes | None:
        try:
            response = await self._http.request("GET", url)  # redirects are followed
        except TransportError:
            raise DeliveryError("image download failed", retryable=True) from None
        if response.status == 429 or response.status >= 500:
            raise DeliveryError("image download failed", retryable=True)
        if response.status >= 400:
            logger.warning("feishu card image unavailable", extra={"status": response.status})
            return None
        return response.content
