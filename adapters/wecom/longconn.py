"""The AI bot's long connection: messages and card clicks over a WebSocket, no public URL needed.

Speaks the protocol of the official `wecom-aibot-python-sdk` in plain asyncio. Frames are JSON
`{cmd, headers: {req_id}, body}`. We send `aibot_subscribe {bot_id, secret}` first and `ping`
every 30 s; WeCom answers each of our frames with `{headers: {req_id}, errcode, errmsg}` (no cmd).
WeCom pushes `aibot_msg_callback` (messages) and `aibot_event_callback` (events such as card
clicks); the answer to one reuses its req_id: `aibot_respond_msg` (a reply) or
`aibot_respond_update_msg` (`{"response_type": "update_template_card", ...}`, within 5 s).
`aibot_send_msg {chatid, ...}` pushes to a chat on our own initiative. Two pings unanswered, an
auth failure or a closed socket reconnect after a capped, jittered backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from adapters.wecom.payloads import PayloadError
from bot.core.platform import InvalidEvent
from bot.delivery.backoff import jittered_backoff

log = logging.getLogger(__name__)

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND = "aibot_send_msg"
HEARTBEAT_SECONDS = 30.0
MAX_MISSED_PONGS = 2
RECONNECT_BASE = 1.0
RECONNECT_CAP = 30.0
ACK_TIMEOUT = 5.0
DRAIN_GRACE = 2.5

# (cmd, req_id, body) in; a body to answer with (cmd, body) or None out. May raise PayloadError.
OnCallback = Callable[[str, str, dict[str, Any]], Awaitable[tuple[str, dict[str, Any]] | None]]


class LongConnError(Exception):
    pass


class FrameError(LongConnError):
    """WeCom answered one of our frames with a non-zero errcode."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"errcode {errcode} {errmsg}".strip())
        self.errcode = errcode
        self.errmsg = errmsg


def req_id(prefix: str) -> str:
    return f"{prefix}_{int(time.time() * 1000)}_{os.urandom(4).hex()}"


def backoff(failures: int, rng: random.Random, *, base: float = RECONNECT_BASE, cap: float = RECONNECT_CAP) -> float:
    """The wait before reconnect `failures` (1, 2, ...): the shared rule, at least half the ceiling."""
    return jittered_backoff(failures, base=base, cap=cap, floor=0.5, rng=rng)


class LongConnection:
    def __init__(
        self, url: str, bot_id: str, secret: str, on_callback: OnCallback, *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, rng: random.Random | None = None,
        heartbeat: float = HEARTBEAT_SECONDS, ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self._url = url
        self._bot_id = bot_id
        self._secret = secret
        self._on_callback = on_callback
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._heartbeat = heartbeat
        self._ack_timeout = ack_timeout
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ready = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._missed = 0
        self.connections = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def ready(self) -> bool:
        """Subscribed and open: frames we send now can be answered."""
        return self._ready.is_set() and self._ws is not None and not self._ws.closed

    async def wait_ready(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self.ready

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="wecom-longconn")

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

    async def request(self, cmd: str, body: dict[str, Any], *, rid: str | None = None) -> dict[str, Any]:
        """Send one frame and wait for WeCom's answer to it; FrameError on a non-zero errcode."""
        ws = self._ws
        if ws is None or ws.closed or not self._ready.is_set():
            raise LongConnError("long connection is not open")
        rid = rid or req_id(cmd)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            await self._write(ws, {"cmd": cmd, "headers": {"req_id": rid}, "body": body})
            answer = await asyncio.wait_for(future, self._ack_timeout)
        except TimeoutError:
            raise LongConnError(f"no answer to {cmd} within {self._ack_timeout:g}s") from None
        finally:
            self._pending.pop(rid, None)
        errcode = answer.get("errcode")
        if errcode not in (0, None):
            raise FrameError(errcode if isinstance(errcode, int) else None, str(answer.get("errmsg") or "")[:160])
        return answer

    async def _run(self) -> None:
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self._url, autoping=True) as ws:
                        self.connections += 1
                        if await self._subscribe(ws):
                            failures = 0
                            log.info("wecom long connection open")
                            await self._serve(ws)
                        log.info("wecom long connection closed")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("wecom long connection failed: %s", _describe(exc))
                finally:
                    self._ready.clear()
                    self._ws = None
                    for future in self._pending.values():
                        if not future.done():
                            future.set_exception(LongConnError("long connection closed"))
                failures += 1
                delay = backoff(failures, self._rng)
                log.info("wecom long connection reconnecting in %.1f s (try %d)", delay, failures)
                await self._sleep(delay)

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        rid = req_id(SUBSCRIBE)
        await self._write(ws, {"cmd": SUBSCRIBE, "headers": {"req_id": rid},
                               "body": {"bot_id": self._bot_id, "secret": self._secret}})
        try:
            message = await ws.receive(timeout=self._ack_timeout)
        except TimeoutError:
            log.warning("wecom long connection: no answer to subscribe")
            return False
        if message.type != aiohttp.WSMsgType.TEXT:
            return False
        try:
            answer = json.loads(message.data)
        except ValueError:
            return False
        if answer.get("errcode") != 0 or answer.get("headers", {}).get("req_id") != rid:
            log.error("wecom long connection: subscribe refused (errcode %s)", answer.get("errcode"))
            return False
        self._ws = ws
        self._missed = 0
        self._ready.set()
        return True

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        pinger = asyncio.create_task(self._ping(ws), name="wecom-longconn-ping")
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._dispatch(ws, message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    raise LongConnError("websocket error")
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            if self._missed >= MAX_MISSED_PONGS:
                log.warning("wecom long connection: %d pings unanswered; reconnecting", self._missed)
                await ws.close()
                return
            self._missed += 1
            await self._write(ws, {"cmd": PING, "headers": {"req_id": req_id(PING)}})

    def _dispatch(self, ws: aiohttp.ClientWebSocketResponse, raw: str) -> None:
        try:
            frame = json.loads(raw)
            cmd = frame.get("cmd")
            rid = str(frame["headers"]["req_id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("wecom long connection dropped a malformed frame")
            return
        if cmd in (MSG_CALLBACK, EVENT_CALLBACK):
            task = asyncio.create_task(self._handle(ws, cmd, rid, frame.get("body")), name="wecom-longconn-callback")
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
            return
        if rid.startswith(PING):
            self._missed = 0
            return
        future = self._pending.get(rid)
        if future is not None and not future.done():
            future.set_result(frame)
            return
        log.info("wecom long connection frame ignored (cmd %s)", str(cmd)[:40])

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, cmd: str, rid: str, body: Any) -> None:
        try:
            if not isinstance(body, dict):
                raise PayloadError("frame body must be an object")
            answer = await self._on_callback(cmd, rid, body)
            if answer is not None:
                answer_cmd, answer_body = answer
                await self.request(answer_cmd, answer_body, rid=rid)
        except (PayloadError, InvalidEvent) as exc:
            log.warning("wecom long connection callback rejected: %s", exc)
        except Exception as exc:
            log.error("wecom long connection callback failed: %s", _describe(exc))

    async def _write(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await ws.send_str(json.dumps(frame, ensure_ascii=False))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, LongConnError | PayloadError):
        return f"{type(exc).__name__}: {exc}"
    status = getattr(exc, "status", None)
    return type(exc).__name__ + (f" (status {status})" if status is not None else "")
