from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.feishu.longconn import LongConnection
from adapters.feishu.payloads import PayloadError
from adapters.feishu.settings import FeishuSettings
from bot.clock import FrozenClock

from .conftest import RecordingSleep
from .fake_server import FakeFeishu, lark_frame

EVENT = {
    "schema": "2.0",
    "header": {"event_id": "ev-1", "event_type": "im.message.receive_v1", "app_id": "cli_test_app",
               "tenant_key": "tk", "create_time": "1700000000000", "token": ""},
    "event": {"message": {"message_id": "om_1", "chat_id": "oc_1", "chat_type": "group", "message_type": "text",
                          "content": json.dumps({"text": "@_user_1 进度 XZB20231001-01 70%"})}},
}
CARD_ACTION = {
    "schema": "2.0",
    "header": {"event_id": "ev-2", "event_type": "card.action.trigger"},
    "event": {"action": {"value": {"a": "accept"}}, "context": {"open_message_id": "om_card"}},
}
CARD_ANSWER = {"toast": {"type": "success", "content": "已接受"}}


class Recorder:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.answers: dict[str, dict[str, Any] | None] = {}
        self.got = asyncio.Event()

    async def __call__(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        self.payloads.append(payload)
        self.got.set()
        event_type = payload["header"]["event_type"]
        if event_type == "boom":
            raise RuntimeError("handler bug")
        if event_type == "malformed":
            raise PayloadError("event.message is missing")
        return self.answers.get(event_type)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def longconn(
    feishu_settings: FeishuSettings, recorder: Recorder, clock: FrozenClock, recorded_sleep: RecordingSleep,
    feishu_fake: FakeFeishu,
) -> AsyncIterator[LongConnection]:
    conn = LongConnection(feishu_settings, recorder, clock, sleep=recorded_sleep)
    await conn.start()
    await feishu_fake.wait_connections(1)
    yield conn
    await conn.stop()


def _response(frame: Any) -> dict[str, Any]:
    return dict(json.loads(frame.payload))


async def test_event_frame_reaches_on_payload_and_is_acknowledged(
    longconn: LongConnection, feishu_fake: FakeFeishu, recorder: Recorder
) -> None:
    assert feishu_fake.endpoint_requests == [{"AppID": feishu_fake.app_id, "AppSecret": feishu_fake.app_secret}]
    await feishu_fake.push(lark_frame(EVENT, message_id="m-ev", trace_id="tr-1", seq_id=11, log_id=12))
    answer = await feishu_fake.next_client_frame()
    assert recorder.payloads == [EVENT]
    assert (answer.SeqID, answer.LogID, answer.service, answer.method) == (11, 12, 7, 1)
    headers = {h.key: h.value for h in answer.headers}
    assert headers["type"] == "event" and headers["message_id"] == "m-ev" and headers["trace_id"] == "tr-1"
    assert int(headers["biz_rt"]) >= 0
    assert _response(answer) == {"code": 200}


async def test_card_frame_is_answered_with_our_body(
    longconn: LongConnection, feishu_fake: FakeFeishu, recorder: Recorder
) -> None:
    recorder.answers["card.action.trigger"] = CARD_ANSWER
    await feishu_fake.push(lark_frame(CARD_ACTION, kind="card", message_id="m-card"))
    response = _response(await feishu_fake.next_client_frame())
    assert response["code"] == 200
    assert json.loads(base64.b64decode(response["data"])) == CARD_ANSWER


async def test_split_payload_is_reassembled(
    longconn: LongConnection, feishu_fake: FakeFeishu, recorder: Recorder
) -> None:
    raw = json.dumps(EVENT, ensure_ascii=False).encode()
    half = len(raw) // 2
    await feishu_fake.push(lark_frame(raw[half:], message_id="m-split", total=2, seq=1))
    await feishu_fake.push(lark_frame(raw[:half], message_id="m-split", total=2, seq=0))
    answer = await feishu_fake.next_client_frame()
    assert _response(answer) == {"code": 200}
    assert recorder.payloads == [EVENT]


async def test_handler_failure_answers_500_and_keeps_the_connection(
    longconn: LongConnection, feishu_fake: FakeFeishu, recorder: Recorder
) -> None:
    await feishu_fake.push(lark_frame({"header": {"event_type": "boom"}}))
    assert _response(await feishu_fake.next_client_frame()) == {"code": 500}
    await feishu_fake.push(b"\x0f not a frame")
    await feishu_fake.push(lark_frame(EVENT))
    assert _response(await feishu_fake.next_client_frame()) == {"code": 200}
    assert feishu_fake.ws_connections == 1


async def test_a_malformed_payload_is_acknowledged_so_feishu_stops_resending(
    longconn: LongConnection, feishu_fake: FakeFeishu, recorder: Recorder
) -> None:
    await feishu_fake.push(lark_frame({"header": {"event_type": "malformed"}}))
    assert _response(await feishu_fake.next_client_frame()) == {"code": 200}


async def test_pings_carry_the_service_id(longconn: LongConnection, feishu_fake: FakeFeishu) -> None:
    await asyncio.wait_for(feishu_fake.ping_received.wait(), 5)
    ping = feishu_fake.pings[0]
    assert (ping.method, ping.service, [(h.key, h.value) for h in ping.headers]) == (0, 7, [("type", "ping")])


async def test_reconnects_after_the_server_closes(
    longconn: LongConnection, feishu_fake: FakeFeishu, recorder: Recorder, recorded_sleep: RecordingSleep
) -> None:
    await feishu_fake.drop_connection()
    await feishu_fake.wait_connections(2)
    assert len(feishu_fake.endpoint_requests) == 2
    assert recorded_sleep.calls == [0.0]  # ReconnectNonce 0: the first retry is immediate
    await feishu_fake.push(lark_frame(EVENT))
    assert _response(await feishu_fake.next_client_frame()) == {"code": 200}


async def test_backoff_grows_while_the_endpoint_fails(
    feishu_settings: FeishuSettings, feishu_fake: FakeFeishu, recorder: Recorder, clock: FrozenClock
) -> None:
    waits: list[float] = []
    enough = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 6:
            enough.set()
        await asyncio.sleep(0)

    conn = LongConnection(feishu_settings.model_copy(update={"app_id": "wrong"}), recorder, clock, sleep=sleep)
    await conn.start()
    try:
        await asyncio.wait_for(enough.wait(), 5)
    finally:
        await conn.stop()
    assert not conn.running
    first, *rest = waits[:6]
    assert 0 <= first <= 30  # the SDK's default nonce until the server has configured us
    for wait, ceiling in zip(rest, [1, 2, 4, 8, 16], strict=True):
        assert ceiling / 2 <= wait <= ceiling


async def test_stop_ends_cleanly(
    feishu_settings: FeishuSettings, feishu_fake: FakeFeishu, recorder: Recorder, clock: FrozenClock,
    recorded_sleep: RecordingSleep,
) -> None:
    conn = LongConnection(feishu_settings, recorder, clock, sleep=recorded_sleep)
    await conn.start()
    await feishu_fake.wait_connections(1)
    assert conn.running
    await conn.stop()
    assert not conn.running
    await conn.stop()
