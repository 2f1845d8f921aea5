"""The processors' listener notices a connection that went silent, and listens again.

A TCP proxy between the listener and PostgreSQL stops passing the old connection's bytes without
closing it, as a NAT that forgot the connection would: nothing tells the listener. Its ping must
time out, and it must reconnect (through the proxy, which passes new connections) and hear the
next announcement.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg
import pytest

from storage import inbox_signal
from storage.ack_pool import connect_options
from storage.inbox_signal import InboxSignal
from tests.conftest import PG_URL, needs_postgres

pytestmark = [needs_postgres, pytest.mark.postgres]


class FreezingProxy:
    """Passes bytes to PostgreSQL; `freeze()` drops those of the connections open now, closing nothing."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen: set[asyncio.StreamWriter] = set()
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._open |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    if sink not in self.frozen:
                        sink.write(data)
                        await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def freeze(self) -> None:
        self.frozen |= self._open

    async def stop(self) -> None:
        for writer in self._open:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _until(check: Callable[[], bool] | Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.02)  # polling an outcome with a deadline
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_listener_whose_connection_went_silent_pings_reconnects_and_hears_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox_signal, "PING_EVERY_SECONDS", 0.3)
    monkeypatch.setattr(inbox_signal, "PING_TIMEOUT_SECONDS", 0.3)
    url = urlsplit(PG_URL.replace("+asyncpg", ""))
    proxy = FreezingProxy((url.hostname or "127.0.0.1", url.port or 5432))
    await proxy.start()
    channel = f"tuijin_inbox_signal_test_{time.monotonic_ns()}"
    heard: list[float] = []
    signal = InboxSignal({**connect_options(PG_URL), "host": "127.0.0.1", "port": proxy.port}, channel,
                         lambda what: heard.append(time.monotonic()))
    signal.start()
    try:
        await _until(lambda: signal.connected, "the listener to connect")
        proxy.freeze()
        await _until(lambda: not signal.connected, "the ping to find the connection silent")
        await _until(lambda: signal.connected, "the listener to connect again")

        before = len(heard)
        notifier = await asyncpg.connect(**connect_options(PG_URL))
        try:
            async def told() -> bool:
                await notifier.execute("SELECT pg_notify($1, '')", channel)
                return len(heard) > before

            await _until(told, "an announcement to be heard on the new connection")
        finally:
            await notifier.close()
    finally:
        await signal.stop()
        await proxy.stop()
