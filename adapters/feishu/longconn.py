"""Feishu's long connection: events and card callbacks over a WebSocket, no public URL needed.

Speaks the protocol of lark_oapi/ws/client.py in plain asyncio (the SDK's client blocks and binds
an event loop at import time). Events arrive in plaintext; each DATA frame is answered on the
same socket with the frame echoed back and a JSON payload `{"code": 200, "data": base64(body)}`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp

from adapters.feishu.frames import (
    CONTROL,
    DATA,
    HEADER_BIZ_RT,
    TYPE_CARD,
    TYPE_EVENT,
    TYPE_PONG,
    Frame,
    FrameError,
    ping_frame,
)
from adapters.feishu.payloads import PayloadError
from adapters.feishu.settings import FeishuSettings
from bot.clock import Clock
from bot.core.platform import InvalidEvent
from bot.delivery.http import ApiSession, TransportError

log = logging.getLogger(__name__)

OnPayload = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
ENDPOINT_PATH = "/callback/ws/endpoint"
RECONNECT_BASE = 1.0
# Parts of a split payload that never complete are dropped after this many seconds (as the SDK does).
PARTS_TTL = 5.0
# Seconds stop() gives in-flight handlers to finish storing what they received.
DRAIN_GRACE = 2.5


class LongConnectionError(Exception):
    pass


class LongConnection:
    def __init__(
        self,
        settings: FeishuSettings,
        on_payload: OnPayload,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._on_payload = on_payload
        self._clock = clock
        self._http = ApiSession(settings.api_base, timeout=10.0)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()
        self._parts: dict[str, tuple[float, list[bytes | None]]] = {}
        # The SDK's defaults; the endpoint answer (and pong frames) replace them.
        self._ping_interval = 120.0
        self._reconnect_interval = 120.0
        self._reconnect_nonce = 30.0
        self.connections = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="feishu-longconn")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._handlers:
            _done, pending = await asyncio.wait(set(self._handlers), timeout=DRAIN_GRACE)
            for handler in pending:
                handler.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._http.close()

    async def _run(self) -> None:
        # Unlike the SDK we ignore ReconnectCount: a bot that stops listening is worse than one retrying.
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    url, service_id = await self._endpoint()
                    async with session.ws_connect(url, autoping=True, heartbeat=None) as ws:
                        failures = 0
                        self.connections += 1
                        log.info("feishu long connection open (service %d)", service_id)
                        await self._serve(ws, service_id)
                    log.info("feishu long connection closed by the server")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Exception text may carry the connection URL and its ticket: log the kind only.
                    log.warning("feishu long connection failed: %s", _describe(exc))
                failures += 1
                delay = self._backoff(failures)
                log.info("feishu long connection reconnecting in %.1f s (try %d)", delay, failures)
                await self._sleep(delay)

    def _backoff(self, failures: int) -> float:
        if failures == 1:
            # The server's nonce spreads a fleet's reconnects after a server restart.
            return self._rng.uniform(0, self._reconnect_nonce) if self._reconnect_nonce > 0 else 0.0
        ceiling = min(max(self._reconnect_interval, RECONNECT_BASE), RECONNECT_BASE * 2 ** (failures - 2))
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _endpoint(self) -> tuple[str, int]:
        response = await self._http.request(
            "POST", ENDPOINT_PATH,
            json={"AppID": self._settings.app_id, "AppSecret": self._settings.app_secret.get_secret_value()},
            headers={"locale": "zh"},
        )
        body = response.json() or {}
        code = body.get("code")
        if response.status != 200 or code != 0:
            msg = str(body.get("msg") or "")[:200]
            raise LongConnectionError(f"endpoint answered status {response.status} code {code} {msg}")
        data = body.get("data") or {}
        self._configure(data.get("ClientConfig") or {})
        url = str(data.get("URL") or "")
        query = parse_qs(urlparse(url).query)
        try:
            service_id = int(query["service_id"][0])
        except (KeyError, IndexError, ValueError) as exc:
            raise LongConnectionError("endpoint URL lacks service_id") from exc
        return url, service_id

    def _configure(self, config: dict[str, Any]) -> None:
        for key, attr in (("PingInterval", "_ping_interval"), ("ReconnectInterval", "_reconnect_interval"),
                          ("ReconnectNonce", "_reconnect_nonce")):
            value = config.get(key)
            if isinstance(value, int | float) and value >= 0:
                setattr(self, attr, float(value))

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, service_id: int) -> None:
        pinger = asyncio.create_task(self._ping_loop(ws, service_id), name="feishu-longconn-ping")
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    self._dispatch(ws, message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    raise LongConnectionError("websocket error")
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger

    async def _ping_loop(self, ws: aiohttp.ClientWebSocketResponse, service_id: int) -> None:
        # Keepalive is socket I/O timing, not domain time, so it runs on the event loop's clock.
        while True:
            try:
                await self._write(ws, ping_frame(service_id).encode())
            except Exception as exc:
                log.warning("feishu long connection ping failed: %s", _describe(exc))
            await asyncio.sleep(max(self._ping_interval, 1.0))

    def _dispatch(self, ws: aiohttp.ClientWebSocketResponse, data: bytes) -> None:
        try:
            frame = Frame.decode(data)
        except FrameError as exc:
            log.warning("feishu long connection dropped a malformed frame: %s", exc)
            return
        if frame.method == CONTROL:
            if frame.type == TYPE_PONG and frame.payload:
                with contextlib.suppress(ValueError, AttributeError):
                    self._configure(json.loads(frame.payload))
            return
        if frame.method != DATA or frame.type not in (TYPE_EVENT, TYPE_CARD):
            return
        task = asyncio.create_task(self._handle(ws, frame), name="feishu-longconn-frame")
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> None:
        try:
            payload = self._reassemble(frame)
            if payload is None:
                return
            started = self._clock.now()
            response: dict[str, Any] = {"code": 200}
            try:
                result = await self._on_payload(json.loads(payload))
                if result is not None:
                    body = json.dumps(result, ensure_ascii=False).encode("utf-8")
                    response["data"] = base64.b64encode(body).decode("ascii")
            except (PayloadError, InvalidEvent) as exc:
                # A malformed payload will not improve on re-delivery: acknowledge and drop it.
                log.warning("feishu long connection payload rejected (type %s, trace %s): %s",
                            frame.type, frame.trace_id, exc)
            except Exception as exc:
                log.error("feishu long connection handler failed (type %s, trace %s): %s",
                          frame.type, frame.trace_id, _describe(exc))
                response = {"code": 500}
            elapsed_ms = int((self._clock.now() - started).total_seconds() * 1000)
            frame.set_header(HEADER_BIZ_RT, str(elapsed_ms))
            frame.payload = json.dumps(response, ensure_ascii=False).encode("utf-8")
            await self._write(ws, frame.encode())
        except Exception as exc:
            log.error("feishu long connection could not answer a frame: %s", _describe(exc))

    def _reassemble(self, frame: Frame) -> bytes | None:
        total, seq, message_id = frame.sum, frame.seq, frame.message_id or ""
        if total <= 1:
            return frame.payload or b""
        now = self._clock.now().timestamp()
        for key in [k for k, (born, _) in self._parts.items() if now - born > PARTS_TTL]:
            del self._parts[key]
        _born, parts = self._parts.setdefault(message_id, (now, [None] * total))
        if len(parts) != total or not 0 <= seq < total:
            raise FrameError(f"inconsistent split frame (seq {seq} of {total})")
        parts[seq] = frame.payload or b""
        if any(part is None for part in parts):
            return None
        del self._parts[message_id]
        return b"".join(part or b"" for part in parts)

    async def _write(self, ws: aiohttp.ClientWebSocketResponse, data: bytes) -> None:
        async with self._send_lock:
            await ws.send_bytes(data)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, LongConnectionError | FrameError | TransportError | json.JSONDecodeError):
        return f"{type(exc).__name__}: {exc}"
    status = getattr(exc, "status", None)
    return type(exc).__name__ + (f" (status {status})" if status is not None else "")
