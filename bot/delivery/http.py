"""The HTTP client the platform adapters call their Open APIs with: a pooled aiohttp session.

aiohttp's client, not httpx: a Feishu reply cost about 2.3 ms of our CPU through httpx and 0.2 ms
through this (16 concurrent senders, bench/api_send.py), and aiohttp is the server's own library.
The session is opened on first use, inside the running loop, and again after close(). The timeout
covers the whole call. A call that gets no HTTP answer (refused, reset, timed out, TLS) raises
TransportError, always worth retrying; any answer, whatever its status, is an ApiResponse for the
caller to judge.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.delivery.proxies import EnvProxies
from storage.json import dumps as json_dumps
from storage.json import loads as json_loads

# httpx's pool: at most 100 connections, idle ones kept 5 s.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 5.0


class TransportError(Exception):
    """No HTTP answer. Only the failure's kind is kept: aiohttp's messages can quote the URL,
    whose query may carry an access token or a webhook key."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class ApiResponse:
    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content = content

    def json(self) -> dict[str, Any] | None:
        """The answer as a JSON object; None when it is anything else (HTML error page, empty, array)."""
        try:
            body = json_loads(self.content)
        except (ValueError, RecursionError):
            return None
        return body if isinstance(body, dict) else None


class ApiSession:
    def __init__(self, base_url: str = "", *, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._proxies = EnvProxies()  # read here, not per request

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        fields: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """`url` is a path under the base URL, or a whole URL. `json`, or `fields` and `files`
        (multipart/form-data, each file a (filename, bytes) pair), is the body."""
        sent = dict(headers or {})
        data: bytes | aiohttp.FormData | None = None
        if json is not None:
            data = json_dumps(json).encode()
            sent["Content-Type"] = "application/json"
        elif fields or files:
            data = _form(fields or {}, files or {})
        target = url if "://" in url else self._base_url + url
        session = self._open()
        proxy, proxy_headers = self._proxies.for_url(target)
        if proxy_headers and target.startswith("http:"):
            # Plain HTTP goes to the proxy as is (no CONNECT), so its credentials ride on the request.
            sent.update(proxy_headers)
            proxy_headers = None
        try:
            async with session.request(method, target, params=params, data=data, headers=sent,
                                       proxy=proxy, proxy_headers=proxy_headers) as response:
                content = await response.read()
        except (aiohttp.ClientError, OSError) as exc:  # OSError includes TimeoutError
            raise TransportError(type(exc).__name__) from None
        return ApiResponse(response.status, response.headers, content)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS),
                timeout=self._timeout,
            )
        return self._session


def _form(fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes]]) -> aiohttp.FormData:
    # Built for each attempt: aiohttp refuses to send one FormData twice.
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content) in files.items():
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form
