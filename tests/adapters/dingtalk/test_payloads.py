"""Golden DingTalk payloads → neutral events; the official SDK reads the same files the same way."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from dingtalk_stream.card_callback import CardCallbackMessage
from dingtalk_stream.chatbot import ChatbotMessage

from adapters.dingtalk.payloads import (
    Ignored,
    PayloadError,
    card_event_id,
    parse_card_callback,
    parse_robot_message,
)
from bot.core import ActionPayload, CardActionEvent, MessageEvent

from .golden import golden

NOW = datetime(2026, 11, 23, 2, 0, 5, tzinfo=UTC)
OWNER = "0420516337781"


def message(name: str) -> MessageEvent:
    event = parse_robot_message(golden(name), received_at=NOW)
    assert isinstance(event, MessageEvent)
    return event


def test_group_message_at_the_bot() -> None:
    event = message("message_group.json")
    assert event.event_id == event.message_id == "msgQ4sbC3Pm0XBc5u8SqdO0vA=="
    conv = event.conversation
    assert (conv.platform, conv.tenant_key, conv.chat_id, conv.chat_type, conv.chat_name) == (
        "dingtalk", "ding9f50b15bccd16741", "cidG5M1Fo7ZRSqYrPqDsh2fqA==", "group", "Q4新品宣传项目群")
    assert (event.sender.user_id, event.sender.name) == ("manager4220", "张三")
    # The bot's own mention is gone; the owner's @name became our token, with the name DingTalk showed.
    assert event.text == f"新建任务 海报设计 负责人 <@{OWNER}> 截止 明天"
    assert [(m.user_id, m.name) for m in event.mentions] == [(OWNER, "李四")]
    assert event.addressed and event.message_type == "text"
    assert event.occurred_at == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_the_sdk_reads_the_golden_group_message_as_we_do() -> None:
    sdk = ChatbotMessage.from_dict(golden("message_group.json"))
    event = message("message_group.json")
    assert sdk.message_id == event.event_id and sdk.conversation_id == event.conversation.chat_id
    assert sdk.sender_staff_id == event.sender.user_id and sdk.chatbot_corp_id == event.conversation.tenant_key
    assert [u.staff_id for u in sdk.at_users if u.staff_id] == [m.user_id for m in event.mentions]
    assert sdk.get_text_list() == [" 新建任务 海报设计 负责人 @李四 截止 明天"]


def test_one_to_one_message_is_addressed_to_the_person() -> None:
    event = message("message_p2p.json")
    assert event.conversation.chat_type == "p2p"
    assert event.conversation.chat_id == "manager4220"  # batchSend takes userIds
    assert event.addressed and event.text == "我的任务" and event.mentions == ()


def test_rich_text_is_read_as_text() -> None:
    event = message("message_richtext.json")
    assert event.message_type == "text"
    assert event.text == "进度 XZB20261101 50% 初稿"
    sdk = ChatbotMessage.from_dict(golden("message_richtext.json"))
    assert sdk.get_text_list() == ["进度 XZB20261101 ", "50% 初稿"]


def test_a_picture_is_not_text_so_the_core_answers_it_takes_text_only() -> None:
    event = message("message_picture.json")
    assert event.message_type == "picture" and event.text == ""


def test_a_group_message_not_at_the_bot_is_not_addressed() -> None:
    payload = {**golden("message_group.json"), "isInAtList": False}
    assert message_from(payload).addressed is False
    unsaid = {k: v for k, v in golden("message_group.json").items() if k != "isInAtList"}
    assert message_from(unsaid).addressed is True  # DingTalk sends a robot only the group messages that @ it


def message_from(payload: dict) -> MessageEvent:
    event = parse_robot_message(payload, received_at=NOW)
    assert isinstance(event, MessageEvent)
    return event


def test_typed_tokens_and_unpaired_at_names_stay_text() -> None:
    payload = {**golden("message_group.json"), "text": {"content": " 指派 X <@everyone> @李四 @王五"}}
    event = message_from(payload)
    # The one person in atUsers pairs with the first @name; "@王五" names nobody.
    assert event.text == f"指派 X \u2039@everyone> <@{OWNER}> @王五"
    assert [m.user_id for m in event.mentions] == [OWNER]


def test_a_sender_outside_the_organisation_is_ignored() -> None:
    payload = {k: v for k, v in golden("message_group.json").items() if k != "senderStaffId"}
    assert isinstance(parse_robot_message(payload, received_at=NOW), Ignored)


@pytest.mark.parametrize("broken", [
    {"msgId": None}, {"conversationType": None}, {"text": "not an object"}, {"atUsers": "x"},
    {"createAt": "yesterday"}, {"conversationId": 7}, {"chatbotCorpId": None, "senderCorpId": None},
])
def test_malformed_messages_raise_payload_error(broken: dict) -> None:
    payload = {**golden("message_group.json"), **broken}
    with pytest.raises(PayloadError):
        parse_robot_message(payload, received_at=NOW)


def test_junk_never_escapes_as_anything_but_payload_error() -> None:
    for junk in ([], "x", {"atUsers": [1]}, {"conversationType": "2", "msgtype": "text", "senderStaffId": "x"}):
        with pytest.raises(PayloadError):
            parse_robot_message(junk, received_at=NOW)  # type: ignore[arg-type]


def test_card_callback() -> None:
    payload = golden("card_callback.json")
    event = parse_card_callback(payload, received_at=NOW)
    assert isinstance(event, CardActionEvent)
    assert event.action == ActionPayload(act="task.done", ref="XZB20261101")
    assert event.operator.user_id == OWNER
    assert event.message_id == payload["outTrackId"]
    conv = event.conversation
    assert (conv.tenant_key, conv.chat_id, conv.chat_type) == ("ding9f50b15bccd16741", "cidG5M1Fo7ZRSqYrPqDsh2fqA==",
                                                               "group")
    # The same press again is the same event (dedupe); another person's press is not.
    assert parse_card_callback(payload, received_at=NOW).event_id == event.event_id
    other = parse_card_callback({**payload, "userId": "manager4220"}, received_at=NOW)
    assert other.event_id != event.event_id
    sdk = CardCallbackMessage.from_dict(payload)
    assert (sdk.card_instance_id, sdk.user_id, sdk.corp_id) == (event.message_id, OWNER, conv.tenant_key)
    assert event.event_id == card_event_id(sdk.card_instance_id, sdk.user_id, sdk.content)


def test_a_card_value_in_params_is_read_too() -> None:
    value = ActionPayload(act="task.done", ref="XZB1").to_value()
    content = {"cardPrivateData": {"actionIds": ["button_1"], "params": {"value": value}}}
    payload = {**golden("card_callback.json"), "content": json.dumps(content)}
    assert parse_card_callback(payload, received_at=NOW).action == ActionPayload(act="task.done", ref="XZB1")


def test_a_button_that_is_not_ours_has_no_action() -> None:
    content = {"cardPrivateData": {"actionIds": ["button_1646816888257"], "params": {}}}
    payload = {**golden("card_callback.json"), "content": json.dumps(content)}
    assert parse_card_callback(payload, received_at=NOW).action is None


@pytest.mark.parametrize("broken", [{"outTrackId": None}, {"userId": ""}, {"corpId": None}, {"content": "{"},
                                    {"spaceId": None}])
def test_malformed_card_callbacks_raise_payload_error(broken: dict) -> None:
    with pytest.raises(PayloadError):
        parse_card_callback({**golden("card_callback.json"), **broken}, received_at=NOW)
