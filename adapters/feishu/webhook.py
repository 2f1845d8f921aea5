"""POST /webhooks/feishu: read with a limit, authenticate (fail closed), decrypt, dispatch.

What a request must prove:
- encrypt key configured: an `encrypt` envelope whose raw body carries a fresh X-Lark-Signature.
  The one exception is url_verification, which Feishu sends unsigned: it must decrypt under our
  key (or, sent in plaintext, carry our verification token).
- verification token configured: schema 2.0 payloads carry it in header.token.
- old-style card callbacks are signed with SHA-1 over the verification token instead; their
  top-level `token` is the card-update token, not the verification token.
- neither secret configured: every request is refused.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from aiohttp import web

from adapters.feishu.crypto import FeishuCryptoError, decrypt
from adapters.feishu.payloads import (
    PayloadError,
    event_type,
    is_legacy_card_callback,
    is_url_verification,
    verification_token,
)
from adapters.feishu.settings import FeishuSettings
from adapters.feishu.signature import SignatureError, verify_legacy_card_request, verify_request
from bot.clock import Clock
from bot.core.platform import InvalidEvent, SinkUnavailable
from bot.limits import parse_json_object
from storage.json import dumps

logger = logging.getLogger(__name__)

PATH = "/webhooks/feishu"
MAX_BODY_BYTES = 1_048_576

# The verified, decrypted payload in; the response body (card callbacks) or None out.
PayloadHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]

_json = partial(web.json_response, dumps=dumps)


class _Unauthorized(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FeishuWebhook:
    def __init__(
        self,
        settings: FeishuSettings,
        on_payload: PayloadHandler,
        clock: Clock,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._settings = settings
        self._on_payload = on_payload
        self._clock = clock
        self._max_body_bytes = max_body_bytes

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(request)
        except _Unauthorized as exc:
            logger.warning("feishu webhook refused", extra={"reason": exc.reason})
            return _json({"error": "unauthorized"}, status=401)
        except SinkUnavailable:
            # Feishu re-sends on a non-2xx answer, to us after the restart or to another replica.
            return _json({"error": "shutting down"}, status=503)
        except InvalidEvent as invalid:
            return _json({"error": str(invalid)}, status=400)
        except Exception:
            logger.error("feishu webhook failed", exc_info=True)
            return _json({"error": "internal error"}, status=500)

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

    async def _handle(self, request: web.Request) -> web.Response:
        body = await self._read(request)
        if body is None:
            return _json({"error": "request body too large"}, status=413)
        outer = parse_json_object(body)
        if outer is None:
            return _json({"error": "body is not a JSON object"}, status=400)

        encrypt_key = self._settings.encrypt_key.get_secret_value()
        token = self._settings.verification_token.get_secret_value()
        if not encrypt_key and not token:
            logger.warning(
                "feishu webhook refused: configure TUIJIN_FEISHU__ENCRYPT_KEY and/or "
                "TUIJIN_FEISHU__VERIFICATION_TOKEN (neither is set)"
            )
            return _json({"error": "unauthorized"}, status=401)

        if "encrypt" in outer:
            payload = self._open_envelope(outer, encrypt_key, request.headers, body)
            if payload is None:
                return _json({"error": "decrypted body is not a JSON object"}, status=400)
            encrypted = True
        else:
            payload, encrypted = outer, False

        if is_url_verification(payload):
            return self._answer_challenge(payload, token, encrypted)
        if is_legacy_card_callback(payload):
            self._verify(verify_legacy_card_request, request.headers, body, token)
        else:
            if encrypt_key and not encrypted:
                raise _Unauthorized("plaintext body while an encrypt key is configured")
            if encrypt_key:
                self._verify(verify_request, request.headers, body, encrypt_key)
            if token:
                self._check_token(verification_token(payload), token)

        # Every event is kept in the inbox table and every command logged at INFO when handled; a
        # line per delivery as well would be the busiest line of the log, so it is for debugging.
        if logger.isEnabledFor(logging.DEBUG):
            header = payload.get("header")
            event_id = header.get("event_id") if isinstance(header, Mapping) else None
            logger.debug("feishu event", extra={"event_type": event_type(payload), "event_id": event_id})
        try:
            result = await self._on_payload(payload)
        except PayloadError as exc:
            logger.warning("feishu payload rejected", extra={"event_type": event_type(payload),
                                                             "reason": str(exc)})
            return _json({"error": str(exc)}, status=400)
        return _json(result or {})

    def _open_envelope(
        self, outer: Mapping[str, Any], encrypt_key: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any] | None:
        if not encrypt_key:
            raise _Unauthorized("encrypted body but no encrypt key configured")
        try:
            plaintext = decrypt(outer["encrypt"], encrypt_key)
        except FeishuCryptoError as exc:
            raise _Unauthorized(f"cannot decrypt: {exc}") from None
        payload = parse_json_object(plaintext)
        if payload is None:
            # Only a signed request earns a 400; anything else stays a plain refusal.
            self._verify(verify_request, headers, body, encrypt_key)
            return None
        return payload

    def _verify(
        self,
        check: Callable[[Mapping[str, str], bytes, str, Any, int], None],
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
    ) -> None:
        if not secret:
            raise _Unauthorized("the secret this request is signed with is not configured")
        try:
            check(headers, body, secret, self._clock.now(), self._settings.timestamp_window)
        except SignatureError as exc:
            raise _Unauthorized(exc.reason) from None

    @staticmethod
    def _check_token(sent: str | None, token: str) -> None:
        if sent is None or not hmac.compare_digest(sent.encode("utf-8"), token.encode("utf-8")):
            raise _Unauthorized("verification token mismatch")

    def _answer_challenge(self, payload: Mapping[str, Any], token: str, encrypted: bool) -> web.Response:
        if token:
            self._check_token(verification_token(payload), token)
        elif not encrypted:
            raise _Unauthorized("plaintext url_verification and no verification token configured")
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            return _json({"error": "challenge must be a string"}, status=400)
        return _json({"challenge": challenge})
