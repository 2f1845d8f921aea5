"""Running the real app in tests: real SQLite/PostgreSQL, real HTTP, a frozen clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, Services, build_services, create_app
from bot.clock import FrozenClock
from bot.config import Settings
from storage.cache import Cache
from storage.db import Database


def make_settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, redis_url="", **overrides)  # type: ignore[call-arg]


async def start_app(aiohttp_client: Any, db: Database, clock: FrozenClock, *, cache: Cache | None = None,
                    **settings: Any) -> tuple[TestClient, Services]:
    services = build_services(make_settings(**settings), clock=clock, db=db, cache=cache)
    client = await aiohttp_client(create_app(services, migrate=False, start_worker=False))
    return client, client.app[SERVICES]


async def settle(services: Services) -> None:
    """Wait for background work, then deliver what it queued (no sleeps: wait on the work itself)."""
    for _ in range(5):
        await services.supervisor.idle()
        if await services.worker.run_once() == 0 and services.supervisor.pending == 0:
            return


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """A fake platform's app on a free local port, for as long as the block runs; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
