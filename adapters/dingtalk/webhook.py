"""HTTP mode: POST /webhooks/dingtalk (robot messages) and POST /webhooks/dingtalk/card (card callbacks).

Both must carry DingTalk's `timestamp` and `sign` headers, signed with the app secret, within an
hour of our clock. No secret configured refuses everything (401); a signed body that is not a
JSON object, or not a robot message, is 400. The signature covers the headers only, so it is
checked before the body is read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web

from adapters.dingtalk.payloads import PayloadError
from adapters.dingtalk.settings import DingTalkSettings
from adapters.dingtalk.signature import SignatureError, verify_request
from bot.clock import Clock
from bot.core.platform import InvalidEvent, SinkUnavailable
from bot.limits import parse_json_object

logger = logging.getLogger(__name__)

MESSAGE_PATH = "/webhooks/dingtalk"
CARD_PATH = "/webhooks/dingtalk/card"
MAX_BODY_BYTES = 1_048_576

# The verified payload in; the response body (card callbacks) or None out.
PayloadHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]

_json = partial(web.json_response, dumps=partial(json.dumps, ensure_ascii=False))


class DingTalkWebhook:
    def __init__(
        self,
        settings: DingTalkSettings,
        on_message: PayloadHandler,
        on_card: PayloadHandler,
        clock: Clock,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._settings = settings
        self._on_message = on_message
        self._on_card = on_card
        self._clock = clock
        self._max_body_bytes = max_body_bytes

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post(MESSAGE_PATH, partial(self.handle, kind="message"))
        app.router.add_post(CARD_PATH, partial(self.handle, kind="card"))

    async def handle(self, request: web.Request, *, kind: str) -> web.Response:
        try:
            return await self._handle(request, kind)
        except SinkUnavailable:
            return _json({"error": "shutting down"}, status=503)
        except InvalidEvent as invalid:
            return _json({"error": str(invalid)}, status=400)
        except Exception:
            logger.error("dingtalk webhook failed", exc_info=True)
            return _json({"error": "internal error"}, status=500)

    async def _handle(self, request: web.Request, kind: str) -> web.Response:
        secret = self._settings.client_secret.get_secret_value()
        if not secret:
            logger.warning("dingtalk webhook refused: TUIJIN_DINGTALK__CLIENT_SECRET is not set")
            return _json({"error": "unauthorized"}, status=401)
        try:
            verify_request(request.headers, secret, self._clock.now(), self._settings.timestamp_window)
        except SignatureError as exc:
            logger.warning("dingtalk webhook refused", extra={"reason": exc.reason})
            return _json({"error": "unauthorized"}, status=401)
        body = await self._read(request)
        if body is None:
            return _json({"error": "request body too large"}, status=413)
        payload = parse_json_object(body)
        if payload is None:
            return _json({"error": "body is not a JSON object"}, status=400)
        handler = self._on_message if kind == "message" else self._on_card
        try:
            result = await handler(payload)
        except PayloadError as exc:
            logger.warning("dingtalk payload rejected", extra={"kind": kind, "reason": str(exc)})
            return _json({"error": str(exc)}, status=400)
        return _json(result or {})

    async def _read(self, request: web.Request) -> bytes | None:
        if request.content_length is not None and request.content_length > self._max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(65536):
            size += len(chunk)
            if size > self._max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)
