from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from adapters.feishu.adapter import FeishuAdapter
from adapters.feishu.settings import FeishuSettings
from bot.clock import FrozenClock
from bot.core import ActionPayload, Card, CardActionEvent, CardActionResult, MessageEvent, Text
from bot.core.platform import DirectoryProfile
from storage.cache import InProcessCache

from .signed import (
    BOT_OPEN_ID,
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    encrypted_body,
    golden,
    legacy_headers,
    signed_headers,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
PATH = "/webhooks/feishu"


ACCEPTED = Card("已接受", (Text("协作已接受"),), "green")


class RecordingSink:
    def __init__(self, card: Card | None = ACCEPTED) -> None:
        self.messages: list[MessageEvent] = []
        self.actions: list[CardActionEvent] = []
        self.card = card

    async def accept_message(self, event: MessageEvent) -> bool:
        self.messages.append(event)
        return True

    async def accept_card_action(self, event: CardActionEvent) -> CardActionResult:
        self.actions.append(event)
        return CardActionResult(toast="已处理", toast_kind="success", card=self.card)


class StubClient:
    """Only what the inbound path touches."""

    async def bot_open_id(self) -> str | None:
        return BOT_OPEN_ID

    async def get_user(self, user_id: str) -> DirectoryProfile | None:
        return None

    async def close(self) -> None:
        return None


def settings(encrypt_key: str = ENCRYPT_KEY, token: str = VERIFICATION_TOKEN) -> FeishuSettings:
    return FeishuSettings(enabled=True, app_id="cli_9f5343c580712544", encrypt_key=SecretStr(encrypt_key),
                          verification_token=SecretStr(token))


async def make(aiohttp_client: Any, sink: RecordingSink, cfg: FeishuSettings | None = None) -> TestClient:
    clock = FrozenClock(NOW)
    adapter = FeishuAdapter(cfg or settings(), sink, InProcessCache(clock), clock, client=StubClient())  # type: ignore[arg-type]
    app = web.Application()
    adapter.setup_routes(app)
    client: TestClient = await aiohttp_client(app)
    return client


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


async def post_signed(client: TestClient, payload: dict[str, Any], ts: int = TS) -> Any:
    body = encrypted_body(payload)
    return await client.post(PATH, data=body, headers=signed_headers(body, ENCRYPT_KEY, ts))


async def test_url_verification_encrypted_unsigned(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await client.post(PATH, data=encrypted_body(golden("url_verification.json")))
    assert resp.status == 200
    assert await resp.json() == {"challenge": "ajls384kdjx98XX"}


async def test_url_verification_plain_with_token_only(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink, settings(encrypt_key=""))
    resp = await client.post(PATH, json=golden("url_verification.json"))
    assert resp.status == 200
    assert await resp.json() == {"challenge": "ajls384kdjx98XX"}


async def test_url_verification_with_wrong_token(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    payload = golden("url_verification.json") | {"token": "forged"}
    assert (await client.post(PATH, data=encrypted_body(payload))).status == 401
    assert (await client.post(PATH, json=payload)).status == 401


async def test_url_verification_under_another_key(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await client.post(PATH, data=encrypted_body(golden("url_verification.json"), key="other key"))
    assert resp.status == 401


async def test_encrypted_signed_message_reaches_the_sink(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await post_signed(client, golden("message_group.json"))
    assert resp.status == 200
    assert await resp.json() == {}
    [event] = sink.messages
    assert event.event_id == "5e3702a84e847582be8db7fb73283c02"
    assert event.text.startswith("新建任务 海报初稿")


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_a_delivery_is_logged_only_at_debug_and_never_its_text(
    aiohttp_client: Any, sink: RecordingSink, caplog: pytest.LogCaptureFixture, level: str
) -> None:
    caplog.set_level(level, logger="adapters.feishu.webhook")
    client = await make(aiohttp_client, sink)
    assert (await post_signed(client, golden("message_group.json"))).status == 200
    lines = [r for r in caplog.records if r.name == "adapters.feishu.webhook"]
    if level == "INFO":
        assert lines == []
    else:
        [line] = lines
        assert (line.getMessage(), line.event_id, line.event_type) == (  # type: ignore[attr-defined]
            "feishu event", "5e3702a84e847582be8db7fb73283c02", "im.message.receive_v1")
    assert "海报初稿" not in caplog.text


async def test_forged_signature(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    body = encrypted_body(golden("message_group.json"))
    resp = await client.post(PATH, data=body, headers=signed_headers(body, "not our key", TS))
    assert resp.status == 401
    assert await resp.json() == {"error": "unauthorized"}
    assert sink.messages == [] and sink.actions == []


async def test_missing_signature(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await client.post(PATH, data=encrypted_body(golden("message_group.json")))
    assert resp.status == 401
    assert sink.messages == []


async def test_no_secrets_configured(aiohttp_client: Any, sink: RecordingSink,
                                     caplog: pytest.LogCaptureFixture) -> None:
    client = await make(aiohttp_client, sink, settings(encrypt_key="", token=""))
    resp = await client.post(PATH, json=golden("message_group.json"))
    assert resp.status == 401
    assert (await client.post(PATH, json=golden("url_verification.json"))).status == 401
    assert sink.messages == []
    assert "TUIJIN_FEISHU__ENCRYPT_KEY" in caplog.text


async def test_stale_timestamp(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await post_signed(client, golden("message_group.json"), ts=TS - 301)
    assert resp.status == 401
    assert sink.messages == []


async def test_plaintext_body_with_encrypt_key(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    body = json.dumps(golden("message_group.json")).encode()
    resp = await client.post(PATH, data=body, headers=signed_headers(body, ENCRYPT_KEY, TS))
    assert resp.status == 401
    assert sink.messages == []


async def test_token_only_checks_header_token(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink, settings(encrypt_key=""))
    assert (await client.post(PATH, json=golden("message_p2p.json"))).status == 200
    forged = golden("message_p2p.json")
    forged["header"]["token"] = "forged"
    assert (await client.post(PATH, json=forged)).status == 401
    assert len(sink.messages) == 1


async def test_bad_json(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    assert (await client.post(PATH, data=b"{not json")).status == 400
    assert (await client.post(PATH, data=b"[1, 2]")).status == 400


async def test_oversized(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await client.post(PATH, data=b"x" * (1_048_576 + 1))
    assert resp.status == 413


async def test_oversized_chunked(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)

    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65536

    resp = await client.post(PATH, data=chunks())
    assert resp.status == 413


async def test_unknown_event(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await post_signed(client, golden("unknown_event.json"))
    assert resp.status == 200
    assert await resp.json() == {}
    assert sink.messages == [] and sink.actions == []


async def test_malformed_event_is_400(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    payload = golden("message_group.json")
    del payload["event"]["message"]["chat_id"]
    resp = await post_signed(client, payload)
    assert resp.status == 400
    assert "chat_id" in (await resp.json())["error"]


async def test_card_action_v2(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    resp = await post_signed(client, golden("card_action_v2.json"))
    assert resp.status == 200
    answer = await resp.json()
    assert answer["toast"] == {"type": "success", "content": "已处理"}
    assert answer["card"]["type"] == "raw"
    assert answer["card"]["data"]["schema"] == "2.0"
    assert answer["card"]["data"]["header"]["template"] == "green"
    [event] = sink.actions
    assert event.action == ActionPayload(act="collab.accept", ref="XZB20231001")


async def test_card_action_without_card(aiohttp_client: Any) -> None:
    sink = RecordingSink(card=None)
    client = await make(aiohttp_client, sink)
    answer = await (await post_signed(client, golden("card_action_v2.json"))).json()
    assert answer == {"toast": {"type": "success", "content": "已处理"}}


async def test_legacy_card_callback(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    body = json.dumps(golden("card_action_legacy.json")).encode()
    resp = await client.post(PATH, data=body, headers=legacy_headers(body, VERIFICATION_TOKEN, TS))
    assert resp.status == 200
    answer = await resp.json()
    assert answer["schema"] == "2.0" and answer["header"]["template"] == "green"
    [event] = sink.actions
    assert event.action == ActionPayload(act="collab.reject", ref="XZB20231001")


async def test_legacy_card_callback_forged(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink)
    body = json.dumps(golden("card_action_legacy.json")).encode()
    resp = await client.post(PATH, data=body, headers=legacy_headers(body, "forged", TS))
    assert resp.status == 401
    unsigned = await client.post(PATH, data=body)
    assert unsigned.status == 401
    assert sink.actions == []


async def test_legacy_card_without_token_configured(aiohttp_client: Any, sink: RecordingSink) -> None:
    client = await make(aiohttp_client, sink, settings(token=""))
    body = json.dumps(golden("card_action_legacy.json")).encode()
    resp = await client.post(PATH, data=body, headers=legacy_headers(body, "", TS))
    assert resp.status == 401
    assert sink.actions == []


async def test_no_route_in_longconn_mode(aiohttp_client: Any, sink: RecordingSink) -> None:
    cfg = settings().model_copy(update={"mode": "longconn"})
    client = await make(aiohttp_client, sink, cfg)
    assert (await client.post(PATH, json={})).status in (404, 405)


async def test_secrets_never_logged(aiohttp_client: Any, sink: RecordingSink,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    client = await make(aiohttp_client, sink)
    await post_signed(client, golden("message_group.json"))
    body = encrypted_body(golden("message_group.json"))
    await client.post(PATH, data=body, headers=signed_headers(body, "x", TS))
    assert ENCRYPT_KEY not in caplog.text and VERIFICATION_TOKEN not in caplog.text
    assert "新建任务" not in caplog.text
