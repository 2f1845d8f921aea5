"""The HTTP client the platform adapters share, against a local HTTP server standing in for an Open API."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from bot.delivery.http import ApiSession, TransportError


class Seen:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
async def api(aiohttp_server: AiohttpServer) -> AsyncIterator[tuple[str, Seen]]:
    seen = Seen()

    async def echo(request: web.Request) -> web.Response:
        raw = await request.read()
        seen.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                              "headers": request.headers, "raw": raw})
        return web.json_response({"code": 0, "got": request.path}, headers={"X-Ogw-Ratelimit-Reset": "3"})

    async def form(request: web.Request) -> web.Response:
        data = await request.post()
        upload = data["image"]
        assert isinstance(upload, web.FileField)
        seen.requests.append({"image_type": data["image_type"], "filename": upload.filename,
                              "content_type": upload.content_type, "data": upload.file.read()})
        return web.json_response({"code": 0})

    async def html(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    async def array(request: web.Request) -> web.Response:
        return web.json_response([1, 2])

    app = web.Application()
    app.router.add_route("*", "/api/echo", echo)
    app.router.add_post("/api/form", form)
    app.router.add_get("/api/html", html)
    app.router.add_get("/api/array", array)
    server = await aiohttp_server(app)
    yield f"http://127.0.0.1:{server.port}", seen


async def test_a_json_call_under_the_base_url(api: tuple[str, Seen]) -> None:
    base, seen = api
    session = ApiSession(base + "/")
    try:
        response = await session.request("POST", "/api/echo", params={"receive_id_type": "chat_id"},
                                         json={"content": "进度 70%"}, headers={"Authorization": "Bearer t-1"})
    finally:
        await session.close()
    assert response.status == 200
    assert response.json() == {"code": 0, "got": "/api/echo"}
    assert response.headers.get("x-ogw-ratelimit-reset") == "3"
    [request] = seen.requests
    assert request["query"] == {"receive_id_type": "chat_id"}
    assert request["headers"]["Authorization"] == "Bearer t-1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["raw"] == '{"content":"进度 70%"}'.encode()


async def test_a_whole_url_is_not_put_under_the_base_url(api: tuple[str, Seen]) -> None:
    base, seen = api
    session = ApiSession("http://127.0.0.1:9/elsewhere")
    try:
        response = await session.request("GET", base + "/api/echo")
    finally:
        await session.close()
    assert response.status == 200
    assert seen.requests[0]["path"] == "/api/echo"


async def test_an_answer_that_is_not_a_json_object_has_no_json(api: tuple[str, Seen]) -> None:
    base, _ = api
    session = ApiSession(base)
    try:
        page = await session.request("GET", "/api/html")
        array = await session.request("GET", "/api/array")
    finally:
        await session.close()
    assert (page.status, page.json(), page.content) == (502, None, b"<html>Bad Gateway</html>")
    assert (array.status, array.json()) == (200, None)


async def test_a_multipart_upload_can_be_sent_again(api: tuple[str, Seen]) -> None:
    base, seen = api
    session = ApiSession(base)
    try:
        for _ in range(2):  # a retry sends the same fields and files once more
            response = await session.request("POST", "/api/form", fields={"image_type": "message"},
                                             files={"image": ("chart.png", b"\x89PNG...")})
            assert response.status == 200
    finally:
        await session.close()
    expected = {"image_type": "message", "filename": "chart.png", "content_type": "image/png", "data": b"\x89PNG..."}
    assert seen.requests == [expected, expected]


async def test_a_closed_session_opens_again_on_the_next_call(api: tuple[str, Seen]) -> None:
    base, seen = api
    session = ApiSession(base)
    try:
        await session.request("GET", "/api/echo")
        await session.close()
        assert (await session.request("GET", "/api/echo")).status == 200
    finally:
        await session.close()
    assert len(seen.requests) == 2


async def test_a_refused_connection_is_a_transport_error_without_the_url() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    session = ApiSession(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TransportError) as caught:
            await session.request("GET", "/cgi-bin/user/get", params={"access_token": "secret-token"})
    finally:
        await session.close()
    assert caught.value.kind == "ClientConnectorError"
    assert "secret-token" not in str(caught.value) and caught.value.__cause__ is None


class Silent:
    """A TCP server that reads the request, then either hangs up or never answers."""

    def __init__(self, hang_up: bool) -> None:
        self.hang_up = hang_up
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        if self.hang_up:
            writer.close()


@pytest.mark.parametrize("hang_up", [True, False], ids=["hangs-up", "never-answers"])
async def test_no_answer_is_a_transport_error(hang_up: bool) -> None:
    silent = Silent(hang_up)
    server = await asyncio.start_server(silent.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    session = ApiSession(f"http://127.0.0.1:{port}", timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(TransportError) as caught:
            await session.request("POST", "/open-apis/im/v1/messages", json={"uuid": "u-1"})
    finally:
        await session.close()
        for writer in silent.writers:
            writer.close()
        server.close()
        await server.wait_closed()
    assert caught.value.kind == ("ServerDisconnectedError" if hang_up else "TimeoutError")
    assert time.monotonic() - started < 5


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


class RecordingProxy:
    """An HTTP proxy that answers a plain request itself and refuses to open a tunnel."""

    def __init__(self) -> None:
        self.heads: list[str] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        self.heads.append(head)
        if head.startswith("CONNECT "):
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        else:
            length = re.search(r"(?im)^content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n"
                         b'{"code":0}')
        await writer.drain()
        writer.close()


async def test_calls_go_through_the_environments_http_proxy(no_proxy_env: pytest.MonkeyPatch) -> None:
    proxy = RecordingProxy()
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    no_proxy_env.setenv("HTTP_PROXY", f"http://bot:p%40ss@127.0.0.1:{port}")
    no_proxy_env.setenv("HTTPS_PROXY", f"http://bot:p%40ss@127.0.0.1:{port}")
    plain, tls = ApiSession("http://open.feishu.example"), ApiSession("https://open.feishu.example")
    try:
        response = await plain.request("POST", "/open-apis/im/v1/messages", json={"uuid": "u-1"})
        with pytest.raises(TransportError):
            await tls.request("POST", "/open-apis/im/v1/messages", json={"uuid": "u-1"})
    finally:
        await plain.close()
        await tls.close()
        server.close()
        await server.wait_closed()
    assert response.json() == {"code": 0}
    through, tunnel = proxy.heads
    assert through.startswith("POST http://open.feishu.example/open-apis/im/v1/messages HTTP/1.1\r\n")
    assert tunnel.startswith("CONNECT open.feishu.example:443 HTTP/1.1\r\n")
    for head in (through, tunnel):
        assert "proxy-authorization: basic ym90onbac3m=\r\n" in head.lower()  # bot:p@ss


async def test_no_proxy_and_unsupported_proxies_are_bypassed(
    api: tuple[str, Seen], no_proxy_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    base, seen = api
    no_proxy_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    bypassed = ApiSession(base)
    no_proxy_env.delenv("NO_PROXY")
    no_proxy_env.setenv("HTTP_PROXY", "socks5://user:secret@127.0.0.1:9")
    unsupported = ApiSession(base)
    try:
        assert (await bypassed.request("GET", "/api/echo")).status == 200
        assert (await unsupported.request("GET", "/api/echo")).status == 200
    finally:
        await bypassed.close()
        await unsupported.close()
    assert len(seen.requests) == 2
    assert "only http:// proxies are supported" in caplog.text and "secret" not in caplog.text
