from __future__ import annotations

import asyncio
import logging
import random
import socket
from datetime import timedelta

import pytest
from pydantic import SecretStr

from adapters.feishu.client import FeishuClient
from adapters.feishu.settings import FeishuSettings
from bot.clock import FrozenClock
from bot.core.platform import DeliveryError, DirectoryProfile
from storage.cache import InProcessCache

from .conftest import RecordingSleep
from .fake_server import FakeFeishu

CARD = {
    "schema": "2.0",
    "config": {"update_multi": True},
    "body": {"elements": [{"tag": "markdown", "content": "进度"}]},
}


async def test_token_is_fetched_once_and_reused(feishu_client: FeishuClient, feishu_fake: FakeFeishu) -> None:
    first = await feishu_client.tenant_access_token()
    await feishu_client.send_message("oc_1", "text", {"text": "你好"}, "u-1")
    assert await feishu_client.tenant_access_token() == first
    assert feishu_fake.tokens_issued == 1


async def test_concurrent_callers_share_one_refresh(feishu_client: FeishuClient, feishu_fake: FakeFeishu) -> None:
    tokens = await asyncio.gather(*(feishu_client.tenant_access_token() for _ in range(5)))
    assert len(set(tokens)) == 1
    assert feishu_fake.tokens_issued == 1


async def test_token_refreshed_when_less_than_30_minutes_remain(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, clock: FrozenClock
) -> None:
    first = await feishu_client.tenant_access_token()
    clock.advance(timedelta(minutes=89))
    assert await feishu_client.tenant_access_token() == first
    clock.advance(timedelta(minutes=2))
    assert await feishu_client.tenant_access_token() != first
    assert feishu_fake.tokens_issued == 2


async def test_token_shared_by_two_clients_through_the_cache(
    feishu_settings: FeishuSettings, feishu_cache: InProcessCache, clock: FrozenClock, feishu_fake: FakeFeishu
) -> None:
    one = FeishuClient(feishu_settings, feishu_cache, clock)
    two = FeishuClient(feishu_settings, feishu_cache, clock)
    try:
        assert await one.tenant_access_token() == await two.tenant_access_token()
        assert feishu_fake.tokens_issued == 1
    finally:
        await one.close()
        await two.close()


async def test_rejected_token_is_dropped_and_the_call_retried_once(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu
) -> None:
    await feishu_client.tenant_access_token()
    feishu_fake.invalidate_tokens()
    assert await feishu_client.send_message("oc_1", "text", {"text": "hi"}, "u-1")
    assert feishu_fake.tokens_issued == 2


async def test_send_text_and_card_with_uuid(feishu_client: FeishuClient, feishu_fake: FakeFeishu) -> None:
    text_id = await feishu_client.send_message("oc_1", "text", {"text": "新建任务"}, "u-text")
    card_id = await feishu_client.send_message("oc_1", "interactive", CARD, "u-card")
    again = await feishu_client.send_message("oc_1", "text", {"text": "新建任务"}, "u-text")
    assert again == text_id != card_id
    assert [(m["receive_id_type"], m["receive_id"], m["msg_type"], m["content"], m["uuid"])
            for m in feishu_fake.messages] == [
        ("chat_id", "oc_1", "text", {"text": "新建任务"}, "u-text"),
        ("chat_id", "oc_1", "interactive", CARD, "u-card"),
    ]
    assert feishu_fake.message_posts == 3


async def test_reply_update_and_upload(feishu_client: FeishuClient, feishu_fake: FakeFeishu) -> None:
    reply_id = await feishu_client.reply_message("om_x", "text", {"text": "收到"}, "u-r", in_thread=True)
    assert feishu_fake.replies == [{"to": "om_x", "msg_type": "text", "content": {"text": "收到"}, "uuid": "u-r",
                                    "in_thread": True, "message_id": reply_id}]
    await feishu_client.update_card("om_card", CARD)
    assert feishu_fake.patches == [{"message_id": "om_card", "card": CARD}]
    key = await feishu_client.upload_image(b"\x89PNG...", "chart.png")
    assert feishu_fake.images == [{"image_type": "message", "filename": "chart.png", "data": b"\x89PNG...",
                                   "image_key": key}]


async def test_429_waits_for_the_reset_header(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, recorded_sleep: RecordingSleep
) -> None:
    feishu_fake.queue_rate_limited(2, reset="3")
    assert await feishu_client.send_message("oc_1", "text", {"text": "hi"}, "u-1")
    assert recorded_sleep.calls == [3.0, 3.0]
    assert len(feishu_fake.messages) == 1


async def test_5xx_retried_with_jittered_backoff(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, recorded_sleep: RecordingSleep
) -> None:
    feishu_fake.queue_server_error(1)
    feishu_fake.queue_rate_limited(1, reset=None)
    await feishu_client.update_card("om_1", CARD)
    ceilings = [0.5, 1.0]
    assert len(recorded_sleep.calls) == 2
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(recorded_sleep.calls, ceilings, strict=True))
    assert len(feishu_fake.patches) == 1


async def test_a_long_reset_is_left_to_the_outbox_with_the_hint(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, recorded_sleep: RecordingSleep
) -> None:
    feishu_fake.queue_rate_limited(5, reset="7")
    with pytest.raises(DeliveryError) as caught:
        await feishu_client.send_message("oc_1", "text", {"text": "hi"}, "u-1")
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    assert recorded_sleep.calls == []  # no sleeping inside a delivery lane beyond a few seconds
    assert feishu_fake.messages == []


async def test_a_lasting_outage_is_given_back_after_a_few_quick_tries(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, recorded_sleep: RecordingSleep
) -> None:
    feishu_fake.queue_server_error(10)
    with pytest.raises(DeliveryError) as caught:
        await feishu_client.send_message("oc_1", "text", {"text": "hi"}, "u-1")
    assert caught.value.retryable is True
    assert len(recorded_sleep.calls) == 2 and sum(recorded_sleep.calls) <= 10


async def test_business_error_is_not_retried_and_hides_the_token(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, recorded_sleep: RecordingSleep
) -> None:
    token = await feishu_client.tenant_access_token()
    feishu_fake.queue_business_error(230002, "Bot/User can NOT be out of the chat.")
    with pytest.raises(DeliveryError) as caught:
        await feishu_client.send_message("oc_gone", "text", {"text": "hi"}, "u-1")
    assert caught.value.retryable is False
    assert "230002" in caught.value.reason and "out of the chat" in caught.value.reason
    assert token not in caught.value.reason
    assert recorded_sleep.calls == []


async def test_no_secret_token_or_content_in_logs(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    feishu_fake.queue_server_error(1)
    feishu_fake.queue_business_error(230002, "nope")
    with pytest.raises(DeliveryError):
        await feishu_client.send_message("oc_1", "text", {"text": "机密内容"}, "u-1")
    token = await feishu_client.tenant_access_token()
    for text in (token, feishu_fake.app_secret, "机密内容"):
        assert text not in caplog.text


async def test_get_user_with_department_names_is_cached(feishu_client: FeishuClient, feishu_fake: FakeFeishu) -> None:
    feishu_fake.users["ou_li"] = {"open_id": "ou_li", "name": "李雷", "department_ids": ["od_mkt"],
                                  "leader_user_id": "ou_boss"}
    feishu_fake.departments["od_mkt"] = "市场部"
    expected = DirectoryProfile(user_id="ou_li", name="李雷", department_ids=("od_mkt",),
                                department_names=("市场部",), leader_user_id="ou_boss")
    assert await feishu_client.get_user("ou_li") == expected
    calls = len(feishu_fake.requests)
    assert await feishu_client.get_user("ou_li") == expected
    assert len(feishu_fake.requests) == calls


async def test_contact_permission_denied_returns_none_and_warns_once(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, caplog: pytest.LogCaptureFixture
) -> None:
    feishu_fake.contact_denied = True
    caplog.set_level(logging.WARNING, logger="adapters.feishu.client")
    assert await feishu_client.get_user("ou_1") is None
    assert await feishu_client.get_user("ou_2") is None
    warnings = [r.getMessage() for r in caplog.records if "denied" in r.getMessage()]
    assert len(warnings) == 1
    assert "contact:user.base:readonly" in warnings[0]


async def test_bot_open_id_is_cached(feishu_client: FeishuClient, feishu_fake: FakeFeishu) -> None:
    assert await feishu_client.bot_open_id() == "ou_bot"
    assert await feishu_client.bot_open_id() == "ou_bot"
    assert feishu_fake.requests.count(("GET", "/open-apis/bot/v3/info")) == 1


async def test_sixth_send_to_one_chat_waits_for_the_next_second(
    feishu_client: FeishuClient, feishu_fake: FakeFeishu, recorded_sleep: RecordingSleep
) -> None:
    for i in range(5):
        await feishu_client.send_message("oc_busy", "text", {"text": str(i)}, f"u-{i}")
    await feishu_client.send_message("oc_other", "text", {"text": "x"}, "u-other")
    assert recorded_sleep.calls == []
    await feishu_client.send_message("oc_busy", "text", {"text": "5"}, "u-5")
    assert recorded_sleep.calls == [pytest.approx(1.0, abs=0.01)]
    assert len(feishu_fake.messages) == 7


async def test_app_wide_limit_delays_the_51st_send_in_a_second(
    feishu_client: FeishuClient, recorded_sleep: RecordingSleep
) -> None:
    for i in range(50):
        await feishu_client.send_message(f"oc_{i}", "text", {"text": "x"}, f"u-{i}")
    assert recorded_sleep.calls == []
    await feishu_client.send_message("oc_51", "text", {"text": "x"}, "u-51")
    assert recorded_sleep.calls == [pytest.approx(1.0, abs=0.01)]


async def test_an_api_base_with_a_trailing_slash(
    feishu_fake: FakeFeishu, feishu_cache: InProcessCache, clock: FrozenClock
) -> None:
    # Lark's base is written "https://open.larksuite.com/" in its docs.
    settings = FeishuSettings(app_id=feishu_fake.app_id, app_secret=SecretStr(feishu_fake.app_secret),
                              api_base=feishu_fake.base_url + "/")
    client = FeishuClient(settings, feishu_cache, clock, rng=random.Random(1))
    try:
        await client.reply_message("om_x", "text", {"text": "收到"}, "u-r")
    finally:
        await client.close()
    assert feishu_fake.tokens_issued == 1
    assert feishu_fake.requests == [("POST", "/open-apis/im/v1/messages/om_x/reply")]


async def test_an_unreachable_api_is_retried_then_given_back_as_retryable(
    feishu_cache: InProcessCache, clock: FrozenClock, recorded_sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = FeishuSettings(app_id="cli_x", app_secret=SecretStr("s3cret-app"), api_base=f"http://127.0.0.1:{port}")
    client = FeishuClient(settings, feishu_cache, clock, sleep=recorded_sleep, rng=random.Random(1))
    try:
        with pytest.raises(DeliveryError) as caught:
            await client.tenant_access_token()
    finally:
        await client.close()
    assert caught.value.retryable is True
    assert len(recorded_sleep.calls) == 2
    assert "network error ClientConnectorError" in caplog.text
    assert "s3cret-app" not in caplog.text
