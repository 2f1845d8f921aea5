"""The AI bot's long connection against a local fake gateway: subscribe, ping, callbacks and their
answers, proactive sends, rate-limit errcodes, reconnect with backoff."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.wecom.longconn import RECONNECT_CAP, SEND, FrameError, LongConnection, backoff

from .fake_server import FakeWeCom


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, Any]]] = []
        self.sleeps: list[float] = []

    async def on_callback(self, cmd: str, rid: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        self.seen.append((cmd, rid, body))
        if cmd == "aibot_event_callback":
            return "aibot_respond_update_msg", {"response_type": "update_template_card", "template_card": {}}
        return None

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def connection(wecom_fake: FakeWeCom) -> AsyncIterator[tuple[LongConnection, Calls]]:
    calls = Calls()
    conn = LongConnection(wecom_fake.base_url.replace("http", "ws") + "/ws", wecom_fake.bot_id,
                          wecom_fake.bot_secret, calls.on_callback, sleep=calls.sleep, heartbeat=0.05,
                          rng=random.Random(1))
    await conn.start()
    yield conn, calls
    await conn.stop()


async def test_subscribes_pings_and_answers_callbacks(wecom_fake: FakeWeCom,
                                                      connection: tuple[LongConnection, Calls]) -> None:
    conn, calls = connection
    await wecom_fake.wait_connections(1)
    assert await conn.wait_ready(5)
    first = await wecom_fake.next_client_frame()
    assert first["cmd"] == "aibot_subscribe" and first["body"]["bot_id"] == wecom_fake.bot_id
    ping = await wecom_fake.next_client_frame(skip_ping=False)
    assert ping["cmd"] == "ping" and ping["headers"]["req_id"].startswith("ping_")

    await wecom_fake.push({"cmd": "aibot_event_callback", "headers": {"req_id": "req-1"},
                           "body": {"msgid": "m1"}})
    answer = await wecom_fake.next_client_frame()
    assert answer["cmd"] == "aibot_respond_update_msg" and answer["headers"]["req_id"] == "req-1"
    assert calls.seen == [("aibot_event_callback", "req-1", {"msgid": "m1"})]


async def test_proactive_send_and_a_rate_limit_errcode(wecom_fake: FakeWeCom,
                                                       connection: tuple[LongConnection, Calls]) -> None:
    conn, _calls = connection
    assert await conn.wait_ready(5)
    await conn.request(SEND, {"chatid": "wrk1", "msgtype": "markdown", "markdown": {"content": "hi"}})
    assert wecom_fake.frames[-1]["body"]["chatid"] == "wrk1"
    wecom_fake.frame_errcodes.append(45009)
    with pytest.raises(FrameError) as limited:
        await conn.request(SEND, {"chatid": "wrk1", "msgtype": "markdown", "markdown": {"content": "again"}})
    assert limited.value.errcode == 45009


async def test_a_dropped_socket_reconnects_after_a_backoff(wecom_fake: FakeWeCom,
                                                           connection: tuple[LongConnection, Calls]) -> None:
    conn, calls = connection
    await wecom_fake.wait_connections(1)
    assert await conn.wait_ready(5)
    await wecom_fake.drop_connection()
    await wecom_fake.wait_connections(2)
    assert await conn.wait_ready(5)
    assert calls.sleeps and 0 < calls.sleeps[0] <= 1.0
    assert conn.connections == 2


def test_backoff_is_jittered_and_capped() -> None:
    rng = random.Random(7)
    waits = [backoff(n, rng) for n in range(1, 12)]
    assert all(0 < w <= RECONNECT_CAP for w in waits)
    assert waits[-1] >= RECONNECT_CAP / 2
