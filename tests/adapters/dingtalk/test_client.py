"""The OpenAPI client against the recording fake: token cache, one attempt per call, error mapping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.dingtalk.client import THROTTLED_WAIT, DingTalkApiError, DingTalkClient
from adapters.dingtalk.settings import DingTalkSettings
from bot.clock import FrozenClock
from storage.cache import InProcessCache

from .fake_server import FakeDingTalk

CHAT = "cidG5M1Fo7ZRSqYrPqDsh2fqA=="


async def test_the_token_is_fetched_once_shared_and_refreshed_before_expiry(
    dingtalk_client: DingTalkClient, dingtalk_fake: FakeDingTalk, dingtalk_settings: DingTalkSettings,
    dingtalk_cache: InProcessCache, clock: FrozenClock,
) -> None:
    await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "1"})
    await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "2"})
    # Another replica on the same cache uses the same token.
    other = DingTalkClient(dingtalk_settings, dingtalk_cache, clock)
    await other.send_group_message(CHAT, "sampleText", {"content": "3"})
    await other.close()
    assert dingtalk_fake.tokens_issued == 1
    clock.advance(timedelta(seconds=7200 - 9 * 60))  # inside the refresh margin
    await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "4"})
    assert dingtalk_fake.tokens_issued == 2
    assert [m["msgParam"]["content"] for m in dingtalk_fake.group_messages] == ["1", "2", "3", "4"]
    first = dingtalk_fake.group_messages[0]
    assert (first["robotCode"], first["openConversationId"], first["msgKey"]) == (
        dingtalk_fake.client_id, CHAT, "sampleText")


async def test_a_rejected_token_is_replaced_once(dingtalk_client: DingTalkClient, dingtalk_fake: FakeDingTalk) -> None:
    await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "1"})
    dingtalk_fake.invalidate_tokens()
    await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "2"})
    assert dingtalk_fake.tokens_issued == 2 and len(dingtalk_fake.group_messages) == 2


async def test_http_429_is_retryable_with_the_servers_wait(
    dingtalk_client: DingTalkClient, dingtalk_fake: FakeDingTalk
) -> None:
    dingtalk_fake.queue_http_429(retry_after="3")
    with pytest.raises(DingTalkApiError) as failed:
        await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "x"})
    assert (failed.value.retryable, failed.value.retry_after, failed.value.status) == (True, 3.0, 429)
    # One attempt: nothing was retried in-process.
    assert dingtalk_fake.requests.count(("POST", "/v1.0/robot/groupMessages/send")) == 1
    assert dingtalk_fake.group_messages == []


async def test_errcode_130101_is_retryable_after_the_throttle(
    dingtalk_client: DingTalkClient, dingtalk_fake: FakeDingTalk
) -> None:
    dingtalk_fake.queue_throttled()
    with pytest.raises(DingTalkApiError) as failed:
        await dingtalk_client.send_card("tj-1", {"sys_full_json_obj": "{}"}, group=True, chat_id=CHAT)
    assert (failed.value.retryable, failed.value.retry_after, failed.value.code) == (True, THROTTLED_WAIT, "130101")


async def test_a_client_error_is_permanent(dingtalk_client: DingTalkClient, dingtalk_fake: FakeDingTalk) -> None:
    dingtalk_fake.queue_error(400, "param.robotCodeInvalid", "机器人不存在")
    with pytest.raises(DingTalkApiError) as failed:
        await dingtalk_client.send_single_message("manager4220", "sampleText", {"content": "x"})
    assert failed.value.retryable is False and failed.value.code == "param.robotCodeInvalid"
    dingtalk_fake.queue_error(403, "Forbidden.AccessDenied.AccessTokenPermissionDenied")
    with pytest.raises(DingTalkApiError) as denied:
        await dingtalk_client.send_single_message("manager4220", "sampleText", {"content": "x"})
    assert denied.value.retryable is False


async def test_server_errors_and_qps_limits_are_retryable(
    dingtalk_client: DingTalkClient, dingtalk_fake: FakeDingTalk
) -> None:
    dingtalk_fake.queue_error(503, "ServiceUnavailable")
    with pytest.raises(DingTalkApiError) as failed:
        await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "x"})
    assert failed.value.retryable is True
    dingtalk_fake.queue_error(403, "Forbidden.AccessDenied.QpsLimitForApi")
    with pytest.raises(DingTalkApiError) as limited:
        await dingtalk_client.send_group_message(CHAT, "sampleText", {"content": "x"})
    assert limited.value.retryable is True and limited.value.retry_after is not None


async def test_an_unreachable_api_is_retryable(dingtalk_cache: InProcessCache, clock: FrozenClock) -> None:
    client = DingTalkClient(DingTalkSettings(client_id="x", api_base="http://127.0.0.1:9"), dingtalk_cache, clock)
    with pytest.raises(DingTalkApiError) as failed:
        await client.send_group_message(CHAT, "sampleText", {"content": "x"})
    await client.close()
    assert failed.value.retryable is True


async def test_cards_are_sent_to_groups_and_people_and_updated(
    dingtalk_client: DingTalkClient, dingtalk_fake: FakeDingTalk
) -> None:
    params = {"sys_full_json_obj": '{"contents":[]}'}
    await dingtalk_client.send_card("tj-g", params, group=True, chat_id=CHAT)
    await dingtalk_client.send_card("tj-g", params, group=True, chat_id=CHAT)  # a retry: same outTrackId
    await dingtalk_client.send_card("tj-p", params, group=False, chat_id="manager4220")
    group, single = dingtalk_fake.cards
    assert (group["cardTemplateId"], group["conversationType"], group["openConversationId"]) == (
        "StandardCard", 1, CHAT)
    assert (single["conversationType"], single["receiverUserIdList"]) == (0, ["manager4220"])
    assert group["robotCode"] == dingtalk_fake.client_id and group["cardData"] == {"cardParamMap": params}
    await dingtalk_client.update_card("tj-g", {"sys_full_json_obj": '{"contents":[1]}'})
    assert dingtalk_fake.card_updates[0]["outTrackId"] == "tj-g"
    assert dingtalk_fake.card_updates[0]["card"] == {"contents": [1]}
