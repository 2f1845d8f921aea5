"""Fixtures for the Feishu client and long connection: a running fake API and a recording sleep."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from pydantic import SecretStr

from adapters.feishu.client import FeishuClient
from adapters.feishu.settings import FeishuSettings
from bot.clock import FrozenClock
from storage.cache import InProcessCache

from .fake_server import FakeFeishu


class RecordingSleep:
    """Stands in for asyncio.sleep: records each wait and moves the frozen clock instead."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)


@pytest.fixture
async def feishu_fake() -> AsyncIterator[FakeFeishu]:
    fake = FakeFeishu()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.base_url = f"http://127.0.0.1:{port}"
    yield fake
    await fake.drop_connection()
    await runner.cleanup()


@pytest.fixture
def feishu_settings(feishu_fake: FakeFeishu) -> FeishuSettings:
    return FeishuSettings(
        enabled=True, app_id=feishu_fake.app_id, app_secret=SecretStr(feishu_fake.app_secret),
        api_base=feishu_fake.base_url,
    )


@pytest.fixture
def recorded_sleep(clock: FrozenClock) -> RecordingSleep:
    return RecordingSleep(clock)


@pytest.fixture
async def feishu_cache(clock: FrozenClock) -> AsyncIterator[InProcessCache]:
    cache = InProcessCache(clock=clock)
    yield cache
    await cache.close()


@pytest.fixture
async def feishu_client(
    feishu_settings: FeishuSettings, feishu_cache: InProcessCache, clock: FrozenClock, recorded_sleep: RecordingSleep
) -> AsyncIterator[FeishuClient]:
    client = FeishuClient(feishu_settings, feishu_cache, clock, sleep=recorded_sleep, rng=random.Random(7))
    yield client
    await client.close()
