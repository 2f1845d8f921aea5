"""URL callbacks: GET|POST /webhooks/wecom (the AI bot, JSON) and GET|POST /webhooks/wecom/app (the
self-built app, XML).

GET is WeCom's URL verification: msg_signature over the echostr, which decrypts to the plaintext we
answer. POST carries an encrypted envelope (`{"encrypt": ...}` for the bot, `<xml><Encrypt>` for the
app) signed the same way. Nothing configured, a missing, wrong or stale signature: 401 before the
body is decrypted. A signed body that does not decrypt or parse: 400. The answer is quick and
usually empty; a card click on the AI bot is answered with the updated card, encrypted.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.wecom import crypto
from adapters.wecom.payloads import PayloadError, xml_fields
from adapters.wecom.settings import WeComSettings
from bot.clock import Clock
from bot.core.platform import InvalidEvent, SinkUnavailable
from bot.limits import parse_json_object

logger = logging.getLogger(__name__)

BOT_PATH = "/webhooks/wecom"
APP_PATH = "/webhooks/wecom/app"
MAX_BODY_BYTES = 1_048_576

OnBot = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
OnApp = Callable[[str], Awaitable[None]]


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WeComWebhook:
    def __init__(self, settings: WeComSettings, on_bot: OnBot, on_app: OnApp, clock: Clock, *,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._settings = settings
        self._on_bot = on_bot
        self._on_app = on_app
        self._clock = clock
        self._max_body_bytes = max_body_bytes

    def setup_routes(self, app: web.Application, *, bot: bool = True) -> None:
        if bot:
            app.router.add_get(BOT_PATH, self.bot_get)
            app.router.add_post(BOT_PATH, self.bot_post)
        app.router.add_get(APP_PATH, self.app_get)
        app.router.add_post(APP_PATH, self.app_post)

    # -- keys ----------------------------------------------------------------------------------

    def _bot_keys(self) -> tuple[str, str, str]:
        return (self._settings.bot_token.get_secret_value(), self._settings.bot_encoding_aes_key.get_secret_value(),
                "")

    def _app_keys(self) -> tuple[str, str, str]:
        return (self._settings.token.get_secret_value(), self._settings.encoding_aes_key.get_secret_value(),
                self._settings.corp_id)

    # -- handlers ------------------------------------------------------------------------------

    async def bot_get(self, request: web.Request) -> web.Response:
        return await self._guard(self._verify_url(request, *self._bot_keys()), "bot")

    async def app_get(self, request: web.Request) -> web.Response:
        return await self._guard(self._verify_url(request, *self._app_keys()), "app")

    async def bot_post(self, request: web.Request) -> web.Response:
        return await self._guard(self._bot_post(request), "bot")

    async def app_post(self, request: web.Request) -> web.Response:
        return await self._guard(self._app_post(request), "app")

    async def _guard(self, work: Awaitable[web.Response], surface: str) -> web.Response:
        try:
            return await work
        except Refused as refused:
            logger.warning("wecom %s callback refused", surface, extra={"reason": refused.reason})
            return web.Response(status=refused.status, text=refused.reason if refused.status != 401 else "unauthorized")
        except PayloadError as exc:
            logger.warning("wecom %s payload rejected", surface, extra={"reason": str(exc)})
            return web.Response(status=400, text=str(exc))
        except SinkUnavailable:
            return web.Response(status=503, text="shutting down")
        except InvalidEvent as invalid:
            return web.Response(status=400, text=str(invalid))
        except Exception:
            logger.error("wecom %s callback failed", surface, exc_info=True)
            return web.Response(status=500, text="internal error")

    def _verified(self, request: web.Request, token: str, aes_key: str, receive_id: str, encrypted: str) -> str:
        if not token or not aes_key:
            raise Refused(401, "callback token or EncodingAESKey not configured")
        query = request.query
        try:
            crypto.verify(token, query.get("timestamp"), query.get("nonce"), encrypted, query.get("msg_signature"),
                          now=self._clock.now(), window=self._settings.timestamp_window)
        except crypto.CryptoError as exc:
            raise Refused(401, exc.reason) from None
        try:
            return crypto.decrypt(encrypted, aes_key, receive_id)
        except crypto.CryptoError as exc:
            raise Refused(400, exc.reason) from None

    async def _verify_url(self, request: web.Request, token: str, aes_key: str, receive_id: str) -> web.Response:
        echostr = request.query.get("echostr", "")
        if not echostr:
            raise Refused(401 if not token else 400, "echostr missing")
        return web.Response(text=self._verified(request, token, aes_key, receive_id, echostr))

    async def _bot_post(self, request: web.Request) -> web.Response:
        token, aes_key, receive_id = self._bot_keys()
        if not token or not aes_key:
            raise Refused(401, "bot callback not configured")
        body = await self._read(request)
        envelope = parse_json_object(body)
        encrypted = envelope.get("encrypt") if envelope is not None else None
        if not isinstance(encrypted, str) or not encrypted:
            # Unsigned junk is refused as unauthorized: nothing was verified.
            raise Refused(401, "no encrypt field")
        plain = self._verified(request, token, aes_key, receive_id, encrypted)
        payload = parse_json_object(plain.encode("utf-8"))
        if payload is None:
            raise PayloadError("decrypted body is not a JSON object")
        answer = await self._on_bot(payload)
        if answer is None:
            return web.Response(text="")
        return web.json_response(self.encrypt_answer(answer, token, aes_key))

    def encrypt_answer(self, answer: dict[str, Any], token: str, aes_key: str) -> dict[str, Any]:
        timestamp = str(int(self._clock.now().timestamp()))
        nonce = os.urandom(8).hex()
        encrypted = crypto.encrypt(json.dumps(answer, ensure_ascii=False), aes_key, "")
        return {"encrypt": encrypted, "msgsignature": crypto.signature(token, timestamp, nonce, encrypted),
                "timestamp": int(timestamp), "nonce": nonce}

    async def _app_post(self, request: web.Request) -> web.Response:
        token, aes_key, receive_id = self._app_keys()
        if not token or not aes_key or not receive_id:
            raise Refused(401, "app callback not configured")
        body = await self._read(request)
        try:
            encrypted = xml_fields(body).get("Encrypt") or ""
        except PayloadError:
            raise Refused(401, "no Encrypt field") from None
        if not encrypted:
            raise Refused(401, "no Encrypt field")
        plain = self._verified(request, token, aes_key, receive_id, encrypted)
        await self._on_app(plain)
        return web.Response(text="")

    async def _read(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self._max_body_bytes:
            raise Refused(413, "request body too large")
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(65536):
            size += len(chunk)
            if size > self._max_body_bytes:
                raise Refused(413, "request body too large")
            chunks.append(chunk)
        return b"".join(chunks)
