"""The WeCom API client against the recording fake: token cache and refresh, errcode classes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from adapters.wecom.client import WeComApiError, WeComClient
from adapters.wecom.settings import WeComSettings
from bot.clock import FrozenClock
from storage.cache import InProcessCache

from .fake_server import FakeWeCom


@pytest.fixture
async def client(wecom_fake: FakeWeCom, clock: FrozenClock) -> AsyncIterator[WeComClient]:
    cache = InProcessCache(clock=clock)
    settings = WeComSettings(corp_id=wecom_fake.corp_id, agent_id="1000002", secret=SecretStr(wecom_fake.secret),
                             api_base=wecom_fake.base_url)
    client = WeComClient(settings, cache, clock)
    yield client
    await client.close()
    await cache.close()


async def test_the_token_is_cached_and_replaced_when_rejected(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    await client.send_app_message({"touser": "lisi", "msgtype": "text", "text": {"content": "a"}})
    await client.send_app_message({"touser": "lisi", "msgtype": "text", "text": {"content": "b"}})
    assert wecom_fake.tokens_issued == 1
    wecom_fake.valid_tokens.clear()  # WeCom answers 40014 to the cached one
    await client.send_app_message({"touser": "lisi", "msgtype": "text", "text": {"content": "c"}})
    assert wecom_fake.tokens_issued == 2 and len(wecom_fake.app_messages) == 3
    assert wecom_fake.app_messages[0]["agentid"] == 1000002


@pytest.mark.parametrize(("errcode", "retryable", "wait"), [(45009, True, 60.0), (45033, True, 60.0),
                                                            (-1, True, None), (60020, False, None)])
async def test_errcodes_are_classified(wecom_fake: FakeWeCom, client: WeComClient, errcode: int,
                                       retryable: bool, wait: float | None) -> None:
    await client.access_token()
    wecom_fake.queue_errcode(errcode, "not allow to access from your ip")
    with pytest.raises(WeComApiError) as failed:
        await client.send_app_message({"touser": "lisi", "msgtype": "text", "text": {"content": "x"}})
    assert (failed.value.retryable, failed.value.retry_after, failed.value.errcode) == (retryable, wait, errcode)
    if not retryable:
        assert "60020" in failed.value.reason


async def test_http_429_honours_retry_after(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    wecom_fake.queue_http_429(retry_after="90")
    with pytest.raises(WeComApiError) as limited:
        await client.send_webhook("hook-key-0001", {"msgtype": "text", "text": {"content": "x"}})
    assert limited.value.retryable and limited.value.retry_after == 90.0
    await client.send_webhook("hook-key-0001", {"msgtype": "text", "text": {"content": "x"}})
    assert wecom_fake.webhook_messages[0][0] == "hook-key-0001"
