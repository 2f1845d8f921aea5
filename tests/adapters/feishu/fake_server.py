"""A recording fake of the Feishu open API and its long-connection WebSocket.

The WebSocket side encodes and decodes frames with lark_oapi's generated protobuf classes, so
every long-connection test also proves our hand-written codec interoperates with the SDK's.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from lark_oapi.ws.pb.pbbp2_pb2 import Frame as PbFrame

from .quota import SendQuota

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"


@dataclass
class Forced:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def lark_frame(
    payload: dict[str, Any] | bytes,
    *,
    kind: str = "event",
    message_id: str = "msg-1",
    trace_id: str = "trace-1",
    total: int = 1,
    seq: int = 0,
    service: int = 7,
    seq_id: int = 1,
    log_id: int = 2,
) -> bytes:
    """A DATA frame as Feishu's server sends it, built with the SDK's protobuf classes."""
    frame = PbFrame()
    frame.SeqID = seq_id
    frame.LogID = log_id
    frame.service = service
    frame.method = 1
    for key, value in (("type", kind), ("message_id", message_id), ("sum", str(total)), ("seq", str(seq)),
                       ("trace_id", trace_id)):
        header = frame.headers.add()
        header.key = key
        header.value = value
    frame.payload = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return bytes(frame.SerializeToString())


class FakeFeishu:
    def __init__(self, app_id: str = "cli_test_app", app_secret: str = "test-secret") -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.base_url = ""
        # Knobs.
        self.token_expire = 7200
        self.contact_denied = False
        # Seconds the contact API takes to answer: a slow directory widens the ack-to-effect window.
        self.contact_delay = 0.0
        self.users: dict[str, dict[str, Any]] = {}
        self.departments: dict[str, str] = {}
        self.bot_open_id = "ou_bot"
        self.service_id = 7
        self.client_config: dict[str, Any] = {
            "ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 120,
        }
        self.forced: deque[Forced] = deque()
        # When set, sends and replies beyond Feishu's quota are answered 429 / 99991400.
        self.quota: SendQuota | None = None
        # The chat of each message a reply may answer (the quota counts a reply against its chat).
        self.chat_of_message: dict[str, str] = {}
        # Records.
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.messages: list[dict[str, Any]] = []
        self.message_posts = 0
        self.replies: list[dict[str, Any]] = []
        self.patches: list[dict[str, Any]] = []
        self.card_updates: list[dict[str, Any]] = []
        self.images: list[dict[str, Any]] = []
        self.endpoint_requests: list[dict[str, Any]] = []
        self.pings: list[PbFrame] = []
        self.ping_received = asyncio.Event()
        self.client_frames: asyncio.Queue[PbFrame] = asyncio.Queue()
        self.ws_connections = 0
        self._by_uuid: dict[str, str] = {}
        self._issued = 0
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()

    # -- knobs -------------------------------------------------------------------------------

    def queue_rate_limited(self, n: int = 1, reset: str | None = "2") -> None:
        headers = {"x-ogw-ratelimit-limit": "5"}
        if reset is not None:
            headers["x-ogw-ratelimit-reset"] = reset
        for _ in range(n):
            self.forced.append(Forced(429, {"code": 99991400, "msg": "request trigger frequency limit"}, headers))

    def queue_server_error(self, n: int = 1, status: int = 503) -> None:
        for _ in range(n):
            self.forced.append(Forced(status, {"code": 1, "msg": "internal error"}))

    def queue_business_error(self, code: int, msg: str, status: int = 400) -> None:
        self.forced.append(Forced(status, {"code": code, "msg": msg}))

    def invalidate_tokens(self) -> None:
        self.valid_tokens.clear()

    # -- WebSocket side ----------------------------------------------------------------------

    async def push(self, data: bytes) -> None:
        assert self._ws is not None, "no client connected"
        await self._ws.send_bytes(data)

    async def next_client_frame(self, timeout: float = 5.0) -> PbFrame:
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
        app.router.add_post("/open-apis/im/v1/messages", self._send)
        app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", self._reply)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self._patch)
        app.router.add_post("/open-apis/interactive/v1/card/update", self._card_update)
        app.router.add_post("/open-apis/im/v1/images", self._image)
        app.router.add_get("/open-apis/contact/v3/users/{user_id}", self._user)
        app.router.add_get("/open-apis/contact/v3/departments/{department_id}", self._department)
        app.router.add_get("/open-apis/bot/v3/info", self._bot_info)
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._websocket)
        return app

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/open-apis/") or path == TOKEN_PATH:
            return await handler(request)
        self.requests.append((request.method, path))
        if self.forced:
            forced = self.forced.popleft()
            return web.json_response(forced.body, status=forced.status, headers=forced.headers)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.valid_tokens:
            return web.json_response({"code": 99991663, "msg": "Invalid access token for authorization."},
                                     status=400)
        return await handler(request)

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
            return web.json_response({"code": 10014, "msg": "app secret invalid"}, status=400)
        self.tokens_issued += 1
        token = f"t-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": self.token_expire})

    def _message_id_for(self, uuid: str | None) -> tuple[str, bool]:
        if uuid and uuid in self._by_uuid:
            return self._by_uuid[uuid], True
        self._issued += 1
        message_id = f"om_{self._issued}"
        if uuid:
            self._by_uuid[uuid] = message_id
        return message_id, False

    def _over_quota(self, chat: str) -> web.Response | None:
        if self.quota is None or self.quota.admit(chat):
            return None
        return web.json_response({"code": 99991400, "msg": "request trigger frequency limit"}, status=429,
                                 headers={"x-ogw-ratelimit-limit": "5", "x-ogw-ratelimit-reset": "1"})

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        refused = self._over_quota(body["receive_id"])
        if refused is not None:
            return refused
        self.message_posts += 1
        message_id, seen = self._message_id_for(body.get("uuid"))
        if not seen:
            self.messages.append({
                "receive_id_type": request.query.get("receive_id_type"), "receive_id": body["receive_id"],
                "msg_type": body["msg_type"], "content": json.loads(body["content"]), "uuid": body.get("uuid"),
                "message_id": message_id,
            })
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": message_id}})

    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        to = request.match_info["message_id"]
        refused = self._over_quota(self.chat_of_message.get(to, to))
        if refused is not None:
            return refused
        message_id, seen = self._message_id_for(body.get("uuid"))
        if not seen:
            self.replies.append({
                "to": request.match_info["message_id"], "msg_type": body["msg_type"],
                "content": json.loads(body["content"]), "uuid": body.get("uuid"),
                "in_thread": body.get("reply_in_thread", False), "message_id": message_id,
            })
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": message_id}})

    async def _patch(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.patches.append({"message_id": request.match_info["message_id"], "card": json.loads(body["content"])})
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    async def _card_update(self, request: web.Request) -> web.Response:
        self.card_updates.append(await request.json())
        return web.json_response({"code": 0, "msg": "success"})

    async def _image(self, request: web.Request) -> web.Response:
        form = await request.post()
        image = form["image"]
        assert isinstance(image, web.FileField)
        image_key = f"img_v2_{len(self.images) + 1}"
        self.images.append({"image_type": form.get("image_type"), "filename": image.filename,
                            "data": image.file.read(), "image_key": image_key})
        return web.json_response({"code": 0, "msg": "success", "data": {"image_key": image_key}})

    async def _user(self, request: web.Request) -> web.Response:
        if self.contact_delay:
            await asyncio.sleep(self.contact_delay)
        if self.contact_denied:
            return web.json_response({
                "code": 99991672,
                "msg": "Access denied. One of the following scopes is required: "
                       "[contact:user.base:readonly, contact:contact.base:readonly].",
            }, status=403)
        user = self.users.get(request.match_info["user_id"])
        if user is None:
            return web.json_response({"code": 41012, "msg": "user id invalid"}, status=400)
        return web.json_response({"code": 0, "msg": "success", "data": {"user": user}})

    async def _department(self, request: web.Request) -> web.Response:
        department_id = request.match_info["department_id"]
        if self.contact_denied or department_id not in self.departments:
            return web.json_response({"code": 40004, "msg": "no dept authority error"}, status=400)
        department = {"open_department_id": department_id, "name": self.departments[department_id]}
        return web.json_response({"code": 0, "msg": "success", "data": {"department": department}})

    async def _bot_info(self, request: web.Request) -> web.Response:
        return web.json_response({"code": 0, "msg": "ok", "bot": {"open_id": self.bot_open_id, "app_name": "推进"}})

    async def _endpoint(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.endpoint_requests.append(body)
        if body.get("AppID") != self.app_id or body.get("AppSecret") != self.app_secret:
            return web.json_response({"code": 1000040343, "msg": "invalid app"})
        ws_base = self.base_url.replace("http://", "ws://", 1)
        url = f"{ws_base}/ws?device_id=dev-1&service_id={self.service_id}&access_key=ak&ticket=tk"
        return web.json_response({"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": self.client_config}})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        async with self._changed:
            self.ws_connections += 1
            self._changed.notify_all()
        async for message in ws:
            if message.type != WSMsgType.BINARY:
                continue
            frame = PbFrame()
            frame.ParseFromString(message.data)
            headers = {h.key: h.value for h in frame.headers}
            if frame.method == 0 and headers.get("type") == "ping":
                self.pings.append(frame)
                self.ping_received.set()
                pong = PbFrame()
                pong.SeqID, pong.LogID, pong.service, pong.method = 0, 0, frame.service, 0
                header = pong.headers.add()
                header.key, header.value = "type", "pong"
                pong.payload = json.dumps(self.client_config).encode()
                await ws.send_bytes(pong.SerializeToString())
            else:
                await self.client_frames.put(frame)
        if self._ws is ws:
            self._ws = None
        return ws
