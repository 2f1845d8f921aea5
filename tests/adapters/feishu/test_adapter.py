from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from adapters.feishu.adapter import FeishuAdapter, feishu_uuid
from adapters.feishu.client import FeishuClient
from adapters.feishu.settings import FeishuSettings
from bot.clock import FrozenClock
from bot.core import ActionPayload, Button, Buttons, Card, ConversationRef, Image, OutboundMessage, Text
from bot.core.platform import DeliveryError, DirectoryProfile, PlatformAdapter
from storage.cache import InProcessCache

from .fake_server import FakeFeishu

CHAT = ConversationRef(platform="feishu", tenant_key="t1", chat_id="oc_chat")


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def send_message(self, chat_id: str, msg_type: str, content: dict[str, Any], uuid: str) -> str:
        self.calls.append(("send", chat_id, msg_type, content, uuid))
        return "om_sent"

    async def reply_message(self, message_id: str, msg_type: str, content: dict[str, Any], uuid: str, *,
                            chat_id: str | None = None) -> str:
        self.calls.append(("reply", message_id, msg_type, content, uuid, chat_id))
        return "om_reply"

    async def update_card(self, message_id: str, card: dict[str, Any]) -> None:
        self.calls.append(("update", message_id, card))

    async def upload_image(self, data: bytes, filename: str) -> str:
        self.calls.append(("upload", data, filename))
        return "img_v3_uploaded"

    async def get_user(self, user_id: str) -> DirectoryProfile | None:
        return DirectoryProfile(user_id=user_id, name="张三")

    async def bot_open_id(self) -> str | None:
        return "ou_bot"

    async def close(self) -> None:
        self.calls.append(("close",))


class NullSink:
    async def accept_message(self, event: Any) -> bool:
        return True

    async def accept_card_action(self, event: Any) -> Any:
        raise AssertionError("not used")


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def adapter(client: RecordingClient) -> FeishuAdapter:
    clock = FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))

    async def fetch(source: str) -> bytes:
        return b"PNG:" + source.encode()

    return FeishuAdapter(FeishuSettings(), NullSink(), InProcessCache(clock), clock,
                         client=client, fetch_image=fetch)  # type: ignore[arg-type]


def test_is_a_platform_adapter(adapter: FeishuAdapter) -> None:
    assert isinstance(adapter, PlatformAdapter)
    assert adapter.platform == "feishu"


async def test_text_send_and_reply(adapter: FeishuAdapter, client: RecordingClient) -> None:
    receipt = await adapter.deliver(OutboundMessage(CHAT, "k1", text="请 <@ou_a> 跟进"))
    assert receipt.platform_message_id == "om_sent"
    await adapter.deliver(OutboundMessage(CHAT, "k2", text="好的", reply_to="om_origin"))
    assert client.calls == [
        ("send", "oc_chat", "text", {"text": '请 <at user_id="ou_a"></at> 跟进'}, "k1"),
        ("reply", "om_origin", "text", {"text": "好的"}, "k2", "oc_chat"),  # counted against its chat
    ]


async def test_card_uploads_images_once_and_sends(adapter: FeishuAdapter, client: RecordingClient) -> None:
    card = Card("海报", (Image("https://cdn.example.com/p/poster.png?x=1", "海报"), Text("初稿"),
                         Buttons((Button("通过", ActionPayload(act="review.pass", ref="XZB1")),))))
    await adapter.deliver(OutboundMessage(CHAT, "k3", card=card))
    await adapter.deliver(OutboundMessage(CHAT, "k4", card=card))
    uploads = [c for c in client.calls if c[0] == "upload"]
    assert uploads == [("upload", b"PNG:https://cdn.example.com/p/poster.png?x=1", "poster.png")]
    sent = [c for c in client.calls if c[0] == "send"]
    assert sent[0][2] == "interactive"
    assert sent[0][3]["body"]["elements"][0]["img_key"] == "img_v3_uploaded"


async def test_card_update(adapter: FeishuAdapter, client: RecordingClient) -> None:
    receipt = await adapter.deliver(OutboundMessage(CHAT, "k5", card=Card("已接受"), update_of="om_card"))
    assert receipt.platform_message_id == "om_card"
    assert client.calls[0][0:2] == ("update", "om_card")
    assert client.calls[0][2]["schema"] == "2.0"


async def test_text_cannot_update(adapter: FeishuAdapter) -> None:
    with pytest.raises(DeliveryError) as info:
        await adapter.deliver(OutboundMessage(CHAT, "k6", text="x", update_of="om_1"))
    assert not info.value.retryable


def test_uuid_fits_feishu_limit() -> None:
    assert feishu_uuid("short-key") == "short-key"
    long_key = "outbox:" + "x" * 80
    assert len(feishu_uuid(long_key)) <= 50
    assert feishu_uuid(long_key) == feishu_uuid(long_key) != feishu_uuid(long_key + "y")


async def test_lookup_user_and_stop(adapter: FeishuAdapter, client: RecordingClient) -> None:
    assert await adapter.lookup_user("t1", "ou_a") == DirectoryProfile(user_id="ou_a", name="张三")
    await adapter.stop()
    assert client.calls[-1] == ("close",)


async def test_card_images_are_fetched_from_their_host(
    feishu_settings: FeishuSettings, feishu_client: FeishuClient, feishu_fake: FakeFeishu, clock: FrozenClock,
    aiohttp_server: AiohttpServer,
) -> None:
    png = b"\x89PNG\r\n\x1a\n..."

    async def poster(request: web.Request) -> web.Response:
        return web.Response(body=png, content_type="image/png")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/poster.png")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["status"]))

    app = web.Application()
    app.router.add_get("/poster.png", poster)
    app.router.add_get("/moved.png", moved)
    app.router.add_get("/{status:\\d+}.png", status)
    host = f"http://127.0.0.1:{(await aiohttp_server(app)).port}"
    adapter = FeishuAdapter(feishu_settings, NullSink(), InProcessCache(clock), clock, client=feishu_client)
    try:
        card = Card("海报", (Image(f"{host}/moved.png", "海报"), Image(f"{host}/404.png", "旧图")))
        await adapter.deliver(OutboundMessage(CHAT, "k7", card=card))
        with pytest.raises(DeliveryError) as busy:
            await adapter.deliver(OutboundMessage(CHAT, "k8", card=Card("图", (Image(f"{host}/503.png", "图"),))))
    finally:
        await adapter.stop()
    assert [(i["filename"], i["data"]) for i in feishu_fake.images] == [("moved.png", png)]
    [sent] = feishu_fake.messages
    elements = sent["content"]["body"]["elements"]
    assert elements[0]["img_key"] == feishu_fake.images[0]["image_key"]
    assert "[旧图]" in elements[1]["content"]
    assert busy.value.retryable is True
