"""A recording fake of the DingTalk OpenAPI and its Stream gateway (a local aiohttp server)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_PATH = "/v1.0/oauth2/accessToken"
OPEN_PATH = "/v1.0/gateway/connections/open"


@dataclass
class Forced:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeDingTalk:
    def __init__(self, client_id: str = "dingtestclientid", client_secret: str = "test-client-secret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = ""
        # Knobs.
        self.token_expire = 7200
        self.forced: deque[Forced] = deque()
        self.open_failures = 0
        # Records.
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.group_messages: list[dict[str, Any]] = []
        self.single_messages: list[dict[str, Any]] = []
        self.cards: list[dict[str, Any]] = []
        self.card_updates: list[dict[str, Any]] = []
        self.open_requests: list[dict[str, Any]] = []
        self.tickets: list[str] = []
        self.client_frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ws_connections = 0
        self._cards_by_track: set[str] = set()
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()

    # -- knobs -------------------------------------------------------------------------------

    def queue_http_429(self, retry_after: str | None = "3") -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.forced.append(Forced(429, {"code": "Throttling", "message": "too many requests"}, headers))

    def queue_throttled(self) -> None:
        """The robot's 20-a-minute limit: errcode 130101, throttled for 10 minutes."""
        self.forced.append(Forced(200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}))

    def queue_error(self, status: int, code: str, message: str = "error") -> None:
        self.forced.append(Forced(status, {"code": code, "message": message, "requestid": "req-1"}))

    def invalidate_tokens(self) -> None:
        self.valid_tokens.clear()

    def sent(self) -> list[dict[str, Any]]:
        return [*self.group_messages, *self.single_messages, *self.cards]

    # -- Stream side -------------------------------------------------------------------------

    async def push(self, frame: dict[str, Any] | str) -> None:
        assert self._ws is not None, "no client connected"
        await self._ws.send_str(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))

    async def next_client_frame(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.client_frames.get(), timeout)

    async def wait_connections(self, n: int, timeout: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.ws_connections >= n), timeout)

    async def drop_connection(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    # -- app ---------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.router.add_post(TOKEN_PATH, self._token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._single_send)
        app.router.add_post("/v1.0/im/interactiveCards/send", self._card_send)
        app.router.add_put("/v1.0/im/interactiveCards", self._card_update)
        app.router.add_post(OPEN_PATH, self._open)
        app.router.add_get("/connect", self._websocket)
        return app

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/v1.0/") or path in (TOKEN_PATH, OPEN_PATH):
            return await handler(request)
        self.requests.append((request.method, path))
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        if token not in self.valid_tokens:
            return web.json_response({"code": "InvalidAuthentication", "message": "不合法的access_token"},
                                     status=401)
        if self.forced:
            forced = self.forced.popleft()
            return web.json_response(forced.body, status=forced.status, headers=forced.headers)
        return await handler(request)

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"},
                                     status=400)
        self.tokens_issued += 1
        token = f"at-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": self.token_expire})

    async def _group_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = f"pqk-g-{len(self.group_messages) + 1}"
        self.group_messages.append({**body, "msgParam": json.loads(body["msgParam"]), "processQueryKey": key})
        return web.json_response({"processQueryKey": key})

    async def _single_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = f"pqk-s-{len(self.single_messages) + 1}"
        self.single_messages.append({**body, "msgParam": json.loads(body["msgParam"]), "processQueryKey": key})
        return web.json_response({"processQueryKey": key, "invalidStaffIdList": [], "flowControlledStaffIdList": []})

    async def _card_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        track = body["outTrackId"]
        if track not in self._cards_by_track:  # outTrackId is the card's idempotency id
            self._cards_by_track.add(track)
            self.cards.append({**body, "card": json.loads(body["cardData"]["cardParamMap"]["sys_full_json_obj"])})
        return web.json_response({"success": True, "result": {"processQueryKey": f"pqk-c-{len(self.cards)}"}})

    async def _card_update(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("outTrackId") not in self._cards_by_track:
            return web.json_response({"code": "param.outTrackIdNotExist", "message": "卡片不存在"}, status=400)
        self.card_updates.append({**body, "card": json.loads(body["cardData"]["cardParamMap"]["sys_full_json_obj"])})
        return web.json_response({"success": True, "result": True})

    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.open_requests.append(body)
        if self.open_failures > 0:
            self.open_failures -= 1
            return web.json_response({"code": "systemError", "message": "busy"}, status=503)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "bad credentials"}, status=401)
        ticket = f"ticket+{len(self.open_requests)}/="
        self.tickets.append(ticket)
        endpoint = self.base_url.replace("http://", "ws://", 1) + "/connect"
        return web.json_response({"endpoint": endpoint, "ticket": ticket})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ticket = request.query.get("ticket")
        if ticket not in self.tickets:
            raise web.HTTPForbidden()
        self.tickets.remove(ticket)  # a ticket opens one connection
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        async with self._changed:
            self.ws_connections += 1
            self._changed.notify_all()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await self.client_frames.put(json.loads(message.data))
        if self._ws is ws:
            self._ws = None
        return ws
