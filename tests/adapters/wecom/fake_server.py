"""A recording fake of the WeCom server API, the group robot webhook, the AI bot's response_url and
its long-connection gateway (a local aiohttp server)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web


class FakeWeCom:
    def __init__(self, corp_id: str = "ww5823bf96d3bd56c7", secret: str = "test-app-secret",
                 bot_id: str = "aibAbCdEf123", bot_secret: str = "test-bot-secret") -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.bot_id = bot_id
        self.bot_secret = bot_secret
        self.base_url = ""
        # Knobs.
        self.forced: deque[tuple[int, dict[str, Any], dict[str, str]]] = deque()
        self.frame_errcodes: deque[int] = deque()
        self.users: dict[str, dict[str, Any]] = {}
        # Records.
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.app_messages: list[dict[str, Any]] = []
        self.appchat_messages: list[dict[str, Any]] = []
        self.card_updates: list[dict[str, Any]] = []
        self.webhook_messages: list[tuple[str, dict[str, Any]]] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.client_frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frames: list[dict[str, Any]] = []
        self.ws_connections = 0
        self._ws: web.WebSocketResponse | None = None
        self._codes = 0
        self._changed = asyncio.Condition()

    # -- knobs ---------------------------------------------------------------------------------

    def queue_errcode(self, errcode: int, errmsg: str = "error") -> None:
        self.forced.append((200, {"errcode": errcode, "errmsg": errmsg}, {}))

    def queue_http_429(self, retry_after: str = "120") -> None:
        self.forced.append((429, {"errcode": 45009, "errmsg": "api freq out of limit"}, {"Retry-After": retry_after}))

    def response_url(self, code: str) -> str:
        return f"{self.base_url}/cgi-bin/aibot/response?response_code={code}"

    def sent(self) -> list[dict[str, Any]]:
        """Every message that reached a chat, whichever way."""
        return [*(b for _u, b in self.responses), *self.app_messages, *self.appchat_messages,
                *(b for _k, b in self.webhook_messages),
                *(f["body"] for f in self.frames if f.get("cmd") in ("aibot_respond_msg", "aibot_send_msg"))]

    # -- long connection -------------------------------------------------------------------------

    async def push(self, frame: dict[str, Any]) -> None:
        assert self._ws is not None, "no client connected"
        await self._ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def next_client_frame(self, timeout: float = 5.0, *, skip_ping: bool = True) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.client_frames.get(), timeout)
            if not (skip_ping and frame.get("cmd") == "ping"):
                return frame

    async def wait_connections(self, n: int, timeout: float = 5.0) -> None:
        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self.ws_connections >= n and self._ws is not None)
        await asyncio.wait_for(until(), timeout)

    async def drop_connection(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    # -- server ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._token)
        app.router.add_post("/cgi-bin/message/send", self._authed(self._send))
        app.router.add_post("/cgi-bin/appchat/send", self._authed(self._appchat))
        app.router.add_post("/cgi-bin/message/update_template_card", self._authed(self._update))
        app.router.add_get("/cgi-bin/user/get", self._authed(self._user))
        app.router.add_post("/cgi-bin/webhook/send", self._webhook)
        app.router.add_post("/cgi-bin/aibot/response", self._response)
        app.router.add_get("/ws", self._socket)
        return app

    def _forced(self) -> web.Response | None:
        if self.forced:
            status, body, headers = self.forced.popleft()
            return web.json_response(body, status=status, headers=headers)
        return None

    async def _token(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def _authed(self, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.Response:
            self.requests.append((request.method, request.path))
            if request.query.get("access_token") not in self.valid_tokens:
                return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
            forced = self._forced()
            if forced is not None:
                return forced
            response: web.Response = await handler(request)
            return response
        return wrapped

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.app_messages.append(body)
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{len(self.app_messages)}"}
        if body.get("msgtype") == "template_card" and body["template_card"].get("card_type") == "button_interaction":
            self._codes += 1
            answer["response_code"] = f"rc-send-{self._codes}"
        return web.json_response(answer)

    async def _appchat(self, request: web.Request) -> web.Response:
        self.appchat_messages.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _update(self, request: web.Request) -> web.Response:
        self.card_updates.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def _user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.query.get("userid", ""))
        if user is None:
            return web.json_response({"errcode": 60111, "errmsg": "userid not found"})
        return web.json_response({"errcode": 0, "errmsg": "ok", **user})

    async def _webhook(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        forced = self._forced()
        if forced is not None:
            return forced
        self.webhook_messages.append((request.query.get("key", ""), await request.json()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _response(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        forced = self._forced()
        if forced is not None:
            return forced
        self.responses.append((request.query.get("response_code", ""), await request.json()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.ws_connections += 1
        async with self._changed:
            self._changed.notify_all()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            await self.client_frames.put(frame)
            cmd, rid = frame.get("cmd"), frame.get("headers", {}).get("req_id")
            if cmd == "aibot_subscribe":
                ok = frame["body"] == {"bot_id": self.bot_id, "secret": self.bot_secret}
                await ws.send_json({"headers": {"req_id": rid}, "errcode": 0 if ok else 40058,
                                    "errmsg": "ok" if ok else "invalid bot"})
                if ok:
                    self._ws = ws
                    async with self._changed:
                        self._changed.notify_all()
                continue
            if cmd == "ping":
                await ws.send_json({"headers": {"req_id": rid}, "errcode": 0, "errmsg": "ok"})
                continue
            errcode = self.frame_errcodes.popleft() if self.frame_errcodes else 0
            if errcode == 0:
                self.frames.append(frame)
            await ws.send_json({"headers": {"req_id": rid}, "errcode": errcode, "errmsg": "ok" if not errcode else "x"})
        if self._ws is ws:
            self._ws = None
        return ws
