"""Golden WeCom payloads read into neutral events; the official AI bot SDK reads the same frames."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.wecom.payloads import Ignored, PayloadError, parse_app_message, parse_bot_callback, xml_fields
from adapters.wecom.render import MAX_BUTTONS, MAX_ROWS, MAX_TITLE, bot_card, hook_text, render_card
from bot.core import ActionPayload, Button, Buttons, Card, CardActionEvent, Fields, MessageEvent, Note, Text

from .golden import golden, golden_text

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CORP = "ww5823bf96d3bd56c7"


def test_ai_bot_group_message() -> None:
    parsed = parse_bot_callback(golden("bot_group_message.json"), tenant_key=CORP, received_at=NOW)
    event = parsed.event
    assert isinstance(event, MessageEvent)
    assert (event.conversation.chat_id, event.conversation.chat_type) == ("wrkSFfCgAAxxxxxxxxxxxxxxxxxx", "group")
    assert event.conversation.tenant_key == CORP and event.sender.user_id == "zhangsan"
    # The bot's own @name is gone; the owner's @name stays text, resolved by name by the core.
    assert event.text == "新建任务 海报设计 负责人 @李四 截止 明天"
    assert event.event_id == event.message_id == "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="
    assert event.mentions == ()
    assert parsed.response_url is not None and parsed.response_url.endswith("RESPONSECODE")


def test_ai_bot_single_message_is_addressed_to_the_person() -> None:
    event = parse_bot_callback(golden("bot_single_message.json"), tenant_key=CORP, received_at=NOW).event
    assert isinstance(event, MessageEvent)
    assert (event.conversation.chat_id, event.conversation.chat_type, event.text) == ("zhangsan", "p2p", "我的任务")


def test_typed_tokens_never_become_mentions() -> None:
    payload = {**golden("bot_group_message.json"), "text": {"content": "@推进助手 指派 X <@lisi>"}}
    event = parse_bot_callback(payload, tenant_key=CORP, received_at=NOW).event
    assert isinstance(event, MessageEvent) and "<@lisi>" not in event.text


def test_ai_bot_template_card_event() -> None:
    event = parse_bot_callback(golden("bot_template_card_event.json"), tenant_key=CORP, received_at=NOW).event
    assert isinstance(event, CardActionEvent)
    assert event.action == ActionPayload(act="task.done", ref="XZB20231001")
    assert event.operator.user_id == "lisi" and event.message_id == "tj-0123456789abcdef0123456789abcdef01234567"
    assert event.conversation.chat_type == "group"


def test_other_events_are_ignored() -> None:
    parsed = parse_bot_callback(golden("bot_enter_chat_event.json"), tenant_key=CORP, received_at=NOW)
    assert isinstance(parsed.event, Ignored)


def test_app_text_and_template_card_event_xml() -> None:
    text = parse_app_message(golden_text("app_text.xml"), tenant_key=CORP, received_at=NOW).event
    assert isinstance(text, MessageEvent)
    assert (text.text, text.conversation.chat_id, text.conversation.chat_type) == ("我的任务", "zhangsan", "p2p")
    assert text.event_id == "4561255354251345929"
    parsed = parse_app_message(golden_text("app_template_card_event.xml"), tenant_key=CORP, received_at=NOW)
    click = parsed.event
    assert isinstance(click, CardActionEvent)
    assert click.action == ActionPayload(act="task.done", ref="XZB20231001")
    assert parsed.response_code == "ResponseCode-abc123"
    assert click.message_id == "tj-0123456789abcdef0123456789abcdef01234567"
    again = parse_app_message(golden_text("app_template_card_event.xml"), tenant_key=CORP, received_at=NOW).event
    assert isinstance(again, CardActionEvent) and again.event_id == click.event_id  # the same click dedupes


@pytest.mark.parametrize("payload", [
    [], {}, {"msgid": "x"}, {"msgid": "x", "from": "me", "msgtype": "text"},
    {"msgid": "x", "from": {"userid": "u"}, "chattype": "group", "msgtype": "text", "text": {"content": "hi"}},
    {"msgid": "x", "from": {"userid": "u"}, "msgtype": "text", "text": {"content": 5}},
    {"msgid": "x", "from": {"userid": "u"}, "msgtype": "event", "event": {"eventtype": "template_card_event"}},
])
def test_malformed_bot_payloads_are_payload_errors(payload: Any) -> None:
    with pytest.raises(PayloadError):
        parse_bot_callback(payload, tenant_key=CORP, received_at=NOW)


@pytest.mark.parametrize("xml", ["not xml", "<xml><MsgType>text</MsgType></xml>",
                                 '<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
                                 "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>"])
def test_malformed_app_xml_is_a_payload_error(xml: str) -> None:
    with pytest.raises(PayloadError):
        parse_app_message(xml, tenant_key=CORP, received_at=NOW)


def test_golden_frames_read_by_the_official_sdk() -> None:
    sdk = pytest.importorskip("aibot.message_handler")

    class Emitter:
        def __init__(self) -> None:
            self.emitted: list[str] = []

        def emit(self, name: str, _frame: Any) -> None:
            self.emitted.append(name)

    class Quiet:
        def __getattr__(self, _name: str) -> Any:
            return lambda *a, **k: None

    emitter = Emitter()
    handler = sdk.MessageHandler(Quiet())
    handler.handle_frame(golden("frame_msg_callback.json"), emitter)
    handler.handle_frame(golden("frame_event_callback.json"), emitter)
    assert emitter.emitted == ["message", "message.text", "event", "event.template_card_event"]
    for name in ("frame_msg_callback.json", "frame_event_callback.json"):
        frame = golden(name)
        assert isinstance(parse_bot_callback(frame["body"], tenant_key=CORP, received_at=NOW).event,
                          MessageEvent | CardActionEvent)
    subscribe = golden("frame_subscribe.json")
    assert subscribe["cmd"] == sdk.WsCmd.SUBSCRIBE and set(subscribe["body"]) == {"bot_id", "secret"}
    assert golden("frame_ping.json")["cmd"] == sdk.WsCmd.HEARTBEAT
    assert golden("frame_respond_msg.json")["cmd"] == sdk.WsCmd.RESPONSE
    assert golden("frame_respond_update.json")["cmd"] == sdk.WsCmd.RESPONSE_UPDATE
    assert golden("frame_respond_update.json")["body"]["response_type"] == "update_template_card"
    assert golden("frame_send_msg.json")["cmd"] == sdk.WsCmd.SEND_MSG


def _card(buttons: int = 2, fields: int = 3, title: str = "XZB20231001 海报设计") -> Card:
    done = ActionPayload(act="task.done", ref="XZB20231001")
    return Card(title=title, elements=(
        Text("**负责人** <@lisi>"),
        Fields(tuple((f"字段{i}", f"值{i}") for i in range(fields))),
        Note("更新于 09:00"),
        Buttons(tuple(Button(f"按钮{i}" if i else "完成", done, "primary" if not i else "default")
                      for i in range(buttons))),
    ))


def test_a_card_with_buttons_is_a_button_interaction_card() -> None:
    card = render_card(_card(), "tj-abc", {"lisi": "李四"}.get)
    assert card["card_type"] == "button_interaction" and card["task_id"] == "tj-abc"
    assert card["main_title"]["title"] == "XZB20231001 海报设计"
    assert card["button_list"][0] == {"text": "完成", "style": 1, "key": "tj1|task.done|XZB20231001|"}
    assert "负责人 @李四" in card["sub_title_text"] and "**" not in card["sub_title_text"]
    assert [row["keyname"] for row in card["horizontal_content_list"]] == ["字段0", "字段1", "字段2"]
    assert "card_action" not in card


def test_limits_are_kept_by_truncating() -> None:
    card = render_card(_card(buttons=9, fields=9, title="很" * 80), "tj-abc")
    assert len(card["button_list"]) == MAX_BUTTONS
    assert len(card["horizontal_content_list"]) == MAX_ROWS
    assert "字段8：值8" in card["sub_title_text"]  # the rows beyond six are not lost
    assert len(card["main_title"]["title"]) == MAX_TITLE and card["main_title"]["title"].endswith("…")


def test_a_card_without_buttons_is_a_text_notice_and_the_webhook_gets_no_buttons() -> None:
    assert render_card(_card(buttons=0), "tj-abc")["card_type"] == "text_notice"
    notice = render_card(_card(), "tj-abc", buttons=False)
    assert notice["card_type"] == "text_notice" and "button_list" not in notice
    assert notice["card_action"]["type"] == 1
    assert json.loads(json.dumps(bot_card(notice)))["msgtype"] == "template_card"


def test_text_mentions_become_at_names_and_mentioned_list() -> None:
    body = hook_text("⏰ 请 <@lisi> 关注", {"lisi": "李四"}.get)
    assert body == {"msgtype": "text", "text": {"content": "⏰ 请 @李四 关注", "mentioned_list": ["lisi"]}}


def test_xml_fields_reads_cdata() -> None:
    assert xml_fields("<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>") == {"Encrypt": "abc"}
