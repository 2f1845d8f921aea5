"""The adapter as the app wires it: settings from the environment, routes per mode, deliver's shape."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from adapters.dingtalk.adapter import DingTalkAdapter, out_track_id
from adapters.dingtalk.settings import DingTalkSettings
from bot.clock import FrozenClock
from bot.config import Settings
from bot.core import CardActionEvent, CardActionResult, ConversationRef, MessageEvent, OutboundMessage
from bot.core.platform import DeliveryError
from bot.platforms import build_adapters, console_enabled, platforms_configured
from storage.cache import InProcessCache

from .fake_server import FakeDingTalk
from .golden import golden


class Sink:
    def __init__(self) -> None:
        self.messages: list[MessageEvent] = []

    async def accept_message(self, event: MessageEvent) -> bool:
        self.messages.append(event)
        return True

    async def accept_card_action(self, event: CardActionEvent) -> CardActionResult:
        return CardActionResult("没有权限", "error")


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, clock: FrozenClock) -> None:
    for name, value in (("CLIENT_ID", "dingabc"), ("CLIENT_SECRET", "s3cret"), ("ROBOT_CODE", "dingrobot"),
                        ("MODE", "http"), ("API_BASE", "http://127.0.0.1:1")):
        monkeypatch.setenv(f"TUIJIN_DINGTALK__{name}", value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    dt = settings.dingtalk
    assert (dt.client_id, dt.client_secret.get_secret_value(), dt.robot, dt.mode, dt.api_base) == (
        "dingabc", "s3cret", "dingrobot", "http", "http://127.0.0.1:1")
    assert "s3cret" not in repr(settings)
    assert platforms_configured(settings) == ["dingtalk"] and not console_enabled(settings)
    adapters = build_adapters(settings, sink=Sink(), cache=InProcessCache(), clock=clock)
    assert isinstance(adapters["dingtalk"], DingTalkAdapter) and "console" not in adapters
    assert DingTalkSettings(client_id="x").robot == "x" and not DingTalkSettings().active


@pytest.mark.parametrize(("mode", "paths"), [("stream", set()), ("http", {"/webhooks/dingtalk",
                                                                          "/webhooks/dingtalk/card"})])
def test_routes_per_mode(mode: Any, paths: set[str], clock: FrozenClock) -> None:
    adapter = DingTalkAdapter(DingTalkSettings(client_id="x", mode=mode), Sink(), InProcessCache(), clock)
    app = web.Application()
    adapter.setup_routes(app)
    assert {r.resource.canonical for r in app.router.routes() if r.resource is not None} == paths


async def test_deliver_uses_learned_names_and_refuses_to_update_text(
    dingtalk_settings: DingTalkSettings, dingtalk_fake: FakeDingTalk, clock: FrozenClock
) -> None:
    sink = Sink()
    adapter = DingTalkAdapter(dingtalk_settings, sink, InProcessCache(clock=clock), clock)
    await adapter.handle_robot_message(golden("message_group.json"))
    [event] = sink.messages
    conv = event.conversation
    receipt = await adapter.deliver(OutboundMessage(conversation=conv, idempotency_key="k1",
                                                    text="已指派给 <@0420516337781>", reply_to=event.message_id))
    assert receipt.platform_message_id == "pqk-g-1"
    assert dingtalk_fake.group_messages[0]["msgParam"] == {"content": "已指派给 @李四"}
    p2p = ConversationRef(platform="dingtalk", tenant_key=conv.tenant_key, chat_id="manager4220", chat_type="p2p")
    await adapter.deliver(OutboundMessage(conversation=p2p, idempotency_key="k2", text="好的"))
    assert dingtalk_fake.single_messages[0]["userIds"] == ["manager4220"]
    with pytest.raises(DeliveryError) as refused:
        await adapter.deliver(OutboundMessage(conversation=conv, idempotency_key="k3", text="x", update_of="tj-1"))
    assert refused.value.retryable is False
    assert out_track_id("k1") == out_track_id("k1") != out_track_id("k2")
    # A refused click answers without a card: DingTalk leaves the card as it was.
    assert await adapter.handle_card_callback(golden("card_callback.json")) == {}
    await adapter.stop()
