"""Fixtures for the DingTalk adapter tests: a running fake OpenAPI and Stream gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from pydantic import SecretStr

from adapters.dingtalk.client import DingTalkClient
from adapters.dingtalk.settings import DingTalkSettings
from bot.clock import FrozenClock
from storage.cache import InProcessCache

from .fake_server import FakeDingTalk


@pytest.fixture
async def dingtalk_fake() -> AsyncIterator[FakeDingTalk]:
    fake = FakeDingTalk()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await fake.drop_connection()
    await runner.cleanup()


@pytest.fixture
def dingtalk_settings(dingtalk_fake: FakeDingTalk) -> DingTalkSettings:
    return DingTalkSettings(client_id=dingtalk_fake.client_id, client_secret=SecretStr(dingtalk_fake.client_secret),
                            api_base=dingtalk_fake.base_url)


@pytest.fixture
async def dingtalk_cache(clock: FrozenClock) -> AsyncIterator[InProcessCache]:
    cache = InProcessCache(clock=clock)
    yield cache
    await cache.close()


@pytest.fixture
async def dingtalk_client(
    dingtalk_settings: DingTalkSettings, dingtalk_cache: InProcessCache, clock: FrozenClock
) -> AsyncIterator[DingTalkClient]:
    client = DingTalkClient(dingtalk_settings, dingtalk_cache, clock)
    yield client
    await client.close()
