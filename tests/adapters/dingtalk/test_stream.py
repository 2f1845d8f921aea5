"""Our Stream client against a local fake gateway (aiohttp WebSocket server).

Frames are the golden files and frames built with the dingtalk-stream SDK's own classes; every
acknowledgement is compared with what the SDK's handlers would have sent.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from dingtalk_stream.card_callback import CardCallbackMessage
from dingtalk_stream.chatbot import ChatbotMessage
from dingtalk_stream.frames import AckMessage, CallbackMessage, Headers, SystemMessage
from dingtalk_stream.handlers import CallbackHandler, SystemHandler

from adapters.dingtalk.payloads import PayloadError
from adapters.dingtalk.settings import DingTalkSettings
from adapters.dingtalk.stream import RECONNECT_CAP, StreamConnection, backoff

from .fake_server import FakeDingTalk
from .golden import golden


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer: dict[str, Any] | None = None
        self.fail: Exception | None = None

    async def __call__(self, topic: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        self.calls.append((topic, payload))
        if self.fail is not None:
            raise self.fail
        return self.answer


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def stream(
    dingtalk_settings: DingTalkSettings, recorder: Recorder, sleeps: Sleeps
) -> AsyncIterator[StreamConnection]:
    connection = StreamConnection(dingtalk_settings, recorder, sleep=sleeps, rng=random.Random(3))
    await connection.start()
    yield connection
    await connection.stop()


def parsed(frame: dict[str, Any]) -> dict[str, Any]:
    return {**frame, "data": json.loads(frame["data"])}


async def test_it_opens_with_credentials_and_subscriptions(
    stream: StreamConnection, dingtalk_fake: FakeDingTalk
) -> None:
    await dingtalk_fake.wait_connections(1)
    [request] = dingtalk_fake.open_requests
    assert request["clientId"] == dingtalk_fake.client_id and request["clientSecret"] == dingtalk_fake.client_secret
    assert request["subscriptions"] == [
        {"type": "EVENT", "topic": "*"},
        {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"},
        {"type": "CALLBACK", "topic": "/v1.0/card/instances/callback"},
    ]
    assert dingtalk_fake.tickets == []  # the ticket (with + / = in it) was used, URL-encoded, once


async def test_ping_is_answered_with_its_opaque_as_the_sdk_does(
    stream: StreamConnection, dingtalk_fake: FakeDingTalk
) -> None:
    await dingtalk_fake.wait_connections(1)
    frame = golden("frame_system_ping.json")
    await dingtalk_fake.push(frame)
    ack = await dingtalk_fake.next_client_frame()
    assert parsed(ack) == {
        "code": 200, "headers": {"contentType": "application/json", "messageId": "ping-7d2b3c4e"},
        "message": "OK", "data": {"opaque": "5a2c7e1f-8b9d-4e3f-a6c1-2d0f9e8b7a65"},
    }
    expected = await SystemHandler().raw_process(SystemMessage.from_dict(frame))
    assert parsed(ack) == parsed(expected.to_dict())


async def test_a_robot_message_callback_is_handed_on_and_acked(
    stream: StreamConnection, dingtalk_fake: FakeDingTalk, recorder: Recorder
) -> None:
    await dingtalk_fake.wait_connections(1)
    frame = golden("frame_callback_message.json")
    await dingtalk_fake.push(frame)
    ack = await dingtalk_fake.next_client_frame()
    assert recorder.calls == [("/v1.0/im/bot/messages/get", golden("message_group.json"))]
    assert parsed(ack) == {"code": 200, "headers": {"contentType": "application/json", "messageId": "cb-msg-0001"},
                           "message": "OK", "data": {"response": {}}}


async def test_frames_built_by_the_sdk_are_accepted_and_acked_as_the_sdk_would(
    stream: StreamConnection, dingtalk_fake: FakeDingTalk, recorder: Recorder
) -> None:
    await dingtalk_fake.wait_connections(1)
    card = CardCallbackMessage()
    card.corp_id, card.user_id, card.card_instance_id = "dingcorp", "0420516337781", "tj-abc"
    card.content = {"cardPrivateData": {"actionIds": ["tj1|task.done|XZB20261101|"], "params": {}}}
    headers = Headers()
    headers.message_id, headers.topic, headers.content_type = "sdk-card-1", "/v1.0/card/instances/callback", \
        Headers.CONTENT_TYPE_APPLICATION_JSON
    frame = {"specVersion": "1.0", "type": "CALLBACK", "headers": headers.to_dict(), "data": json.dumps(card.to_dict())}
    recorder.answer = {"cardData": {"cardParamMap": {"sys_full_json_obj": "{}"}}}

    await dingtalk_fake.push(frame)
    ack = await dingtalk_fake.next_client_frame()

    [(topic, payload)] = recorder.calls
    assert topic == "/v1.0/card/instances/callback" and payload == card.to_dict()

    class Answering(CallbackHandler):
        async def process(self, message: CallbackMessage) -> tuple[int, Any]:
            return AckMessage.STATUS_OK, recorder.answer

    expected = await Answering().raw_process(CallbackMessage.from_dict(frame))
    ours = parsed(ack)
    theirs = parsed(expected.to_dict())
    assert {k: v for k, v in ours.items() if k != "message"} == {k: v for k, v in theirs.items() if k != "message"}

    message = ChatbotMessage.from_dict(golden("message_p2p.json"))
    headers.message_id, headers.topic = "sdk-msg-1", ChatbotMessage.TOPIC
    await dingtalk_fake.push({"specVersion": "1.0", "type": "CALLBACK", "headers": headers.to_dict(),
                              "data": json.dumps(message.to_dict(), ensure_ascii=False)})
    ack = await dingtalk_fake.next_client_frame()
    assert ack["code"] == 200 and ack["headers"]["messageId"] == "sdk-msg-1"
    assert recorder.calls[-1] == (ChatbotMessage.TOPIC, message.to_dict())


async def test_a_malformed_callback_is_refused_and_a_failing_one_is_a_500(
    stream: StreamConnection, dingtalk_fake: FakeDingTalk, recorder: Recorder
) -> None:
    await dingtalk_fake.wait_connections(1)
    recorder.fail = PayloadError("msgId must be a non-empty string")
    await dingtalk_fake.push(golden("frame_callback_message.json"))
    assert (await dingtalk_fake.next_client_frame())["code"] == 400
    recorder.fail = RuntimeError("database down")
    await dingtalk_fake.push(golden("frame_callback_message.json"))
    assert (await dingtalk_fake.next_client_frame())["code"] == 500
    # Junk frames are dropped without breaking the connection.
    await dingtalk_fake.push("not json")
    await dingtalk_fake.push({"type": "CALLBACK"})
    await dingtalk_fake.push(golden("frame_system_ping.json"))
    assert (await dingtalk_fake.next_client_frame())["headers"]["messageId"] == "ping-7d2b3c4e"
    assert dingtalk_fake.ws_connections == 1


async def test_events_are_acknowledged_as_handled(stream: StreamConnection, dingtalk_fake: FakeDingTalk) -> None:
    await dingtalk_fake.wait_connections(1)
    await dingtalk_fake.push(golden("frame_event.json"))
    ack = await dingtalk_fake.next_client_frame()
    assert ack["code"] == 200 and ack["headers"]["messageId"] == "ev-0001"
    assert json.loads(ack["data"]) == {"status": "SUCCESS", "message": "success"}


async def test_disconnect_is_acked_and_the_connection_reopened_with_a_new_ticket(
    stream: StreamConnection, dingtalk_fake: FakeDingTalk, sleeps: Sleeps
) -> None:
    await dingtalk_fake.wait_connections(1)
    await dingtalk_fake.push(golden("frame_system_disconnect.json"))
    ack = await dingtalk_fake.next_client_frame()
    assert ack["code"] == 200 and ack["headers"]["messageId"] == "disc-1a2b3c4d"
    await dingtalk_fake.wait_connections(2)
    assert len(dingtalk_fake.open_requests) == 2
    assert len(sleeps.calls) == 1 and sleeps.calls[0] <= 1.0


async def test_failures_back_off_jittered_and_capped(
    dingtalk_settings: DingTalkSettings, dingtalk_fake: FakeDingTalk, recorder: Recorder, sleeps: Sleeps
) -> None:
    dingtalk_fake.open_failures = 9
    connection = StreamConnection(dingtalk_settings, recorder, sleep=sleeps, rng=random.Random(5))
    await connection.start()
    await dingtalk_fake.wait_connections(1)
    assert len(sleeps.calls) == 9
    for failures, waited in enumerate(sleeps.calls, start=1):
        ceiling = min(RECONNECT_CAP, 2 ** (failures - 1))
        assert ceiling / 2 <= waited <= ceiling
    assert max(sleeps.calls) <= RECONNECT_CAP
    # A dropped connection is reopened too (and the failure count starts again).
    await dingtalk_fake.drop_connection()
    await dingtalk_fake.wait_connections(2)
    assert sleeps.calls[-1] <= 1.0
    await connection.stop()
    assert not connection.running


def test_backoff_bounds() -> None:
    rng = random.Random(1)
    assert all(0.5 <= backoff(1, rng) <= 1.0 for _ in range(50))
    assert all(RECONNECT_CAP / 2 <= backoff(30, rng) <= RECONNECT_CAP for _ in range(50))
