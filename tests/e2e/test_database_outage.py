"""PostgreSQL becomes unreachable between the ack and the effect: nothing acknowledged is lost.

The app talks to the real PostgreSQL through a TCP proxy the test controls; cutting the proxy is a
database outage (the shared server itself is never stopped). The fake Feishu's contact API is slow,
so the events are acknowledged and then wait, mid-processing, while the database goes away.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from adapters.feishu.adapter import FeishuAdapter
from adapters.feishu.client import FeishuClient
from bot.app import build_services, create_app
from bot.clock import FrozenClock
from storage.cache import InProcessCache
from storage.db import Database
from tests.adapters.feishu.conftest import RecordingSleep
from tests.adapters.feishu.fake_server import FakeFeishu
from tests.adapters.feishu.signed import ENCRYPT_KEY, VERIFICATION_TOKEN
from tests.conftest import PG_URL, needs_postgres, postgres_database
from tests.e2e.conftest import FeishuE2E, seed_directory
from tests.support import make_settings

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.slow]


class CuttableProxy:
    """A TCP proxy to PostgreSQL; `cut()` drops every connection and refuses new ones until `restore()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def cut(self) -> None:
        self.up = False
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    def restore(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_events_acknowledged_before_a_database_outage_are_applied_once_after_it(
    aiohttp_client: Any, pg_schema: str, clock: FrozenClock, feishu_fake: FakeFeishu, recorded_sleep: RecordingSleep,
) -> None:
    port = int(PG_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = CuttableProxy(port)
    await proxy.start()
    db = Database(PG_URL.replace(f":{port}/", f":{proxy.port}/"), schema=pg_schema)
    await (await postgres_database(pg_schema)).dispose()  # a clean schema
    seed_directory(feishu_fake)
    feishu_fake.contact_delay = 0.5
    settings = make_settings(feishu={
        "app_id": feishu_fake.app_id, "app_secret": feishu_fake.app_secret, "encrypt_key": ENCRYPT_KEY,
        "verification_token": VERIFICATION_TOKEN, "api_base": feishu_fake.base_url,
    })
    cache = InProcessCache(clock=clock)
    services = build_services(settings, clock=clock, db=db, cache=cache)
    client = FeishuClient(settings.feishu, cache, clock, sleep=recorded_sleep)
    services.adapters["feishu"] = FeishuAdapter(settings.feishu, services.pipeline, cache, clock, client=client)
    app = FeishuE2E(await aiohttp_client(create_app(services, migrate=False, start_worker=False)), services,
                    feishu_fake, clock, recorded_sleep)
    try:
        for _ in range(5):
            assert (await app.post(app.message())).status == 200
        proxy.cut()  # the commands are waiting on the slow contact API; the database goes away
        await services.supervisor.idle()
        proxy.restore()
        assert await app.tasks() == []

        clock.advance(timedelta(minutes=5))  # past the processing lease
        while await services.recovery.run_once():
            clock.advance(timedelta(minutes=5))
        await services.supervisor.idle()
        while await services.worker.run_once():
            pass
        assert len(await app.tasks()) == 5
        assert len(app.sent()) == 5 and len({m["message_id"] for m in app.sent()}) == 5
        states = await app.rows("SELECT status, count(*) FROM inbox_event GROUP BY status")
        assert dict(states) == {"done": 5}
    finally:
        await db.dispose()
        await proxy.stop()
