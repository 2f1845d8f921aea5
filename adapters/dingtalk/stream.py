"""DingTalk Stream mode: robot messages and card callbacks over a WebSocket, no public URL needed.

Speaks the protocol of the official `dingtalk-stream` SDK in plain asyncio:
POST {api_base}/v1.0/gateway/connections/open with the app's credentials and subscriptions
returns `{endpoint, ticket}`; the socket at `endpoint?ticket=...` carries JSON frames
`{specVersion, type: SYSTEM|EVENT|CALLBACK, headers: {topic, messageId, ...}, data: "<json>"}`.
Every frame is answered on the socket with `{code, headers: {contentType, messageId}, message,
data: "<json>"}`: a SYSTEM ping echoes its data (the `opaque`), a `disconnect` is acknowledged
and the socket reopened, a CALLBACK answers `{"response": ...}` as the SDK's handlers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote_plus

import aiohttp

from adapters.dingtalk.payloads import CARD_CALLBACK_TOPIC, ROBOT_MESSAGE_TOPIC, PayloadError
from adapters.dingtalk.settings import DingTalkSettings
from bot.core.platform import InvalidEvent
from bot.delivery.backoff import jittered_backoff
from bot.delivery.http import ApiSession, TransportError

log = logging.getLogger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
SUBSCRIPTIONS = (
    {"type": "EVENT", "topic": "*"},
    {"type": "CALLBACK", "topic": ROBOT_MESSAGE_TOPIC},
    {"type": "CALLBACK", "topic": CARD_CALLBACK_TOPIC},
)
SYSTEM, EVENT, CALLBACK = "SYSTEM", "EVENT", "CALLBACK"
PING, DISCONNECT = "ping", "disconnect"
CONTENT_TYPE = "application/json"
RECONNECT_BASE = 1.0
RECONNECT_CAP = 60.0
HEARTBEAT_SECONDS = 30.0
# Seconds stop() gives in-flight handlers to finish storing what they received.
DRAIN_GRACE = 2.5

# (topic, callback data) in; the callback's answer (or None) out. May raise PayloadError.
OnCallback = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]


class StreamError(Exception):
    pass


def ack(message_id: str, data: Any, *, code: int = 200, message: str = "OK") -> dict[str, Any]:
    """A frame's acknowledgement in the documented shape; `data` is sent as a JSON string."""
    return {
        "code": code,
        "headers": {"contentType": CONTENT_TYPE, "messageId": message_id},
        "message": message,
        "data": data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
    }


def backoff(failures: int, rng: random.Random, *, base: float = RECONNECT_BASE, cap: float = RECONNECT_CAP) -> float:
    """The wait before reconnect `failures` (1, 2, ...): the shared rule, at least half the ceiling."""
    return jittered_backoff(failures, base=base, cap=cap, floor=0.5, rng=rng)


class StreamConnection:
    def __init__(
        self,
        settings: DingTalkSettings,
        on_callback: OnCallback,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._settings = settings
        self._on_callback = on_callback
        self._http = ApiSession(settings.api_base, timeout=10.0)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._heartbeat = heartbeat
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()
        self.connections = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="dingtalk-stream")

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
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                asked_to_leave = False
                try:
                    url = await self._open()
                    async with session.ws_connect(url, heartbeat=self._heartbeat, autoping=True) as ws:
                        failures = 0
                        self.connections += 1
                        log.info("dingtalk stream open")
                        asked_to_leave = await self._serve(ws)
                    log.info("dingtalk stream closed (%s)", "server asked" if asked_to_leave else "by the server")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Exception text may carry the endpoint and its ticket: log the kind only.
                    log.warning("dingtalk stream failed: %s", _describe(exc))
                if asked_to_leave:
                    # A planned disconnect (the gateway is moving us): reopen at once, spread a little.
                    delay = self._rng.uniform(0, RECONNECT_BASE)
                else:
                    failures += 1
                    delay = backoff(failures, self._rng)
                log.info("dingtalk stream reconnecting in %.1f s (try %d)", delay, failures)
                await self._sleep(delay)

    async def _open(self) -> str:
        response = await self._http.request(
            "POST", OPEN_PATH,
            json={
                "clientId": self._settings.client_id,
                "clientSecret": self._settings.client_secret.get_secret_value(),
                "subscriptions": list(SUBSCRIPTIONS),
                "ua": "tuijin",
                "localIp": "",
            },
            headers={"Accept": "application/json"},
        )
        body = response.json()
        if response.status != 200 or body is None:
            code = (body or {}).get("code")
            raise StreamError(f"connections/open answered status {response.status} code {code}")
        endpoint, ticket = body.get("endpoint"), body.get("ticket")
        if not isinstance(endpoint, str) or not endpoint or not isinstance(ticket, str) or not ticket:
            raise StreamError("connections/open answer lacks endpoint or ticket")
        return f"{endpoint}?ticket={quote_plus(ticket)}"

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Read frames until the socket closes; True when the server asked us to reconnect."""
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                if await self._dispatch(ws, message.data):
                    await ws.close()
                    return True
            elif message.type == aiohttp.WSMsgType.ERROR:
                raise StreamError("websocket error")
        return False

    async def _dispatch(self, ws: aiohttp.ClientWebSocketResponse, raw: str) -> bool:
        try:
            frame = json.loads(raw)
            headers = frame["headers"]
            kind, topic, message_id = frame["type"], headers.get("topic"), str(headers["messageId"])
        except (ValueError, KeyError, TypeError):
            log.warning("dingtalk stream dropped a malformed frame")
            return False
        if kind == SYSTEM:
            # ping: echo the data (it holds `opaque`); disconnect: acknowledge, then reopen.
            await self._write(ws, ack(message_id, frame.get("data") or "{}"))
            if topic == DISCONNECT:
                return True
            if topic != PING:
                log.info("dingtalk stream system frame %s", topic)
            return False
        if kind == EVENT:
            # Subscribed to all events so the gateway keeps the app's subscription; none is used yet.
            log.info("dingtalk stream event %s ignored", headers.get("eventType"))
            await self._write(ws, ack(message_id, {"status": "SUCCESS", "message": "success"}))
            return False
        if kind == CALLBACK:
            task = asyncio.create_task(self._handle(ws, str(topic), message_id, frame.get("data")),
                                       name="dingtalk-stream-callback")
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
            return False
        log.warning("dingtalk stream frame of unknown type %s", str(kind)[:20])
        return False

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, topic: str, message_id: str, data: Any) -> None:
        try:
            try:
                payload = json.loads(data) if isinstance(data, str) else data
                if not isinstance(payload, dict):
                    raise PayloadError("callback data must be a JSON object")
                answer = await self._on_callback(topic, payload)
                reply = ack(message_id, {"response": answer if answer is not None else {}})
            except (PayloadError, InvalidEvent, ValueError) as exc:
                # A malformed callback will not improve on re-delivery.
                log.warning("dingtalk stream callback rejected (topic %s): %s", topic, exc)
                reply = ack(message_id, {"response": {}}, code=400, message="bad request")
            except Exception as exc:
                log.error("dingtalk stream callback failed (topic %s): %s", topic, _describe(exc))
                reply = ack(message_id, {"response": {}}, code=500, message="internal error")
            await self._write(ws, reply)
        except Exception as exc:
            log.error("dingtalk stream could not answer a frame: %s", _describe(exc))

    async def _write(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await ws.send_str(json.dumps(frame, ensure_ascii=False))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StreamError | PayloadError | TransportError):
        return f"{type(exc).__name__}: {exc}"
    status = getattr(exc, "status", None)
    return type(exc).__name__ + (f" (status {status})" if status is not None else "")
