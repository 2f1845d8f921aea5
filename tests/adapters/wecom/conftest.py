"""Fixtures for the WeCom adapter tests: a running fake WeCom (API, webhook, long connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from .fake_server import FakeWeCom


@pytest.fixture
async def wecom_fake() -> AsyncIterator[FakeWeCom]:
    fake = FakeWeCom()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await fake.drop_connection()
    await runner.cleanup()
