from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.feishu.payloads import (
    Ignored,
    PayloadError,
    is_legacy_card_callback,
    is_url_verification,
    parse_payload,
    verification_token,
)
from bot.core import ActionPayload, CardActionEvent, ConversationRef, MessageEvent, UserRef

from .signed import BOT_OPEN_ID, VERIFICATION_TOKEN, golden

RECEIVED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TENANT = "2ca1d211f64f6438"
GROUP = ConversationRef(platform="feishu", tenant_key=TENANT, chat_id="oc_5ce6d572455d361153b7xx51da133945")
ZHANG = UserRef(
    user_id="ou_84aad35d084aa403a838cf73ee18467",
    union_id="on_8ed6aa67826108097d9ee143816345",
    employee_id="e33ggbyz",
)
LI = UserRef(
    user_id="ou_7d8a6e6df7621556ce0d21922b676706",
    name="李四",
    union_id="on_2f0d9c8b7a6e5d4c3b2a1f0e9d8c7b6a",
    employee_id="g77dd9a1",
)


def parse(payload: dict[str, Any], bot: str | None = BOT_OPEN_ID) -> Any:
    return parse_payload(payload, bot_open_id=bot, received_at=RECEIVED)


def test_group_message_with_bot_and_user_mentions() -> None:
    assert parse(golden("message_group.json")) == MessageEvent(
        event_id="5e3702a84e847582be8db7fb73283c02",
        conversation=GROUP,
        sender=ZHANG,
        text=f"新建任务 海报初稿 负责人 <@{LI.user_id}>\n截止 10月15日",
        occurred_at=datetime.fromtimestamp(1795917600, UTC),
        message_id="om_5ce6d572455d361153b7cb51da133945",
        message_type="text",
        mentions=(LI,),
    )


def test_group_message_without_known_bot_id_drops_the_leading_mention() -> None:
    event = parse(golden("message_group.json"), bot=None)
    assert event.text == f"新建任务 海报初稿 负责人 <@{LI.user_id}>\n截止 10月15日"
    assert event.mentions == (LI,)


def test_leading_mention_is_kept_in_p2p_without_bot_id() -> None:
    payload = golden("message_p2p.json")
    payload["event"]["message"]["content"] = json.dumps({"text": "@_user_1 请跟进"})
    payload["event"]["message"]["mentions"] = [
        {"key": "@_user_1", "id": {"open_id": LI.user_id}, "name": "李四"}
    ]
    event = parse(payload, bot=None)
    assert event.text == f"<@{LI.user_id}> 请跟进"
    assert [m.user_id for m in event.mentions] == [LI.user_id]


def test_p2p_message() -> None:
    assert parse(golden("message_p2p.json")) == MessageEvent(
        event_id="f9b2c1a0e8d7465b9a3c2e1f0d9c8b7a",
        conversation=ConversationRef(
            platform="feishu", tenant_key=TENANT, chat_id="oc_84983ff6516d731e5b5f68d4ea2e1da5", chat_type="p2p"
        ),
        sender=ZHANG,
        text="进度 XZB20231001-01 70% 海报初稿已完成",
        occurred_at=datetime.fromtimestamp(1795917660, UTC),
        message_id="om_a1b2c3d4e5f60718293a4b5c6d7e8f90",
    )


def test_image_message_has_no_text() -> None:
    # An image cannot @ anyone, so in a group it only arrives to apps that read every message,
    # and it is not addressed to the bot.
    assert parse(golden("message_image.json")) == MessageEvent(
        event_id="0c3f6b1e2d4a4c9b8e7f6a5b4c3d2e1f",
        conversation=GROUP,
        sender=ZHANG,
        text="",
        occurred_at=datetime.fromtimestamp(1795917720, UTC),
        message_id="om_dc13264520392913993dd051dba21dcf",
        message_type="image",
        addressed=False,
    )


def test_card_action_v2() -> None:
    assert parse(golden("card_action_v2.json")) == CardActionEvent(
        event_id="f7984f25108f8137722bb63cee927e66",
        conversation=GROUP,
        operator=UserRef(user_id=LI.user_id, union_id=LI.union_id, employee_id=LI.employee_id),
        action=ActionPayload(act="collab.accept", ref="XZB20231001"),
        occurred_at=datetime.fromtimestamp(1795917780, UTC),
        message_id="om_574d639e4a44e4dd646eaf628e2ab123",
        form_values={"reason": "资源已到位", "start_date": "2026-11-25", "notify": "true", "people": "ou_a,ou_b"},
    )


def test_card_action_tenant_falls_back_to_operator() -> None:
    payload = golden("card_action_v2.json")
    del payload["header"]["tenant_key"]
    assert parse(payload).conversation.tenant_key == TENANT


def test_card_action_with_foreign_value_has_no_action() -> None:
    payload = golden("card_action_v2.json")
    payload["event"]["action"]["value"] = {"key_1": "value_1"}
    assert parse(payload).action is None


def test_legacy_card_action() -> None:
    payload = golden("card_action_legacy.json")
    event = parse(payload)
    assert isinstance(event, CardActionEvent)
    assert event.conversation == GROUP
    assert event.operator == UserRef(user_id=LI.user_id, employee_id="g77dd9a1")
    assert event.action == ActionPayload(act="collab.reject", ref="XZB20231001")
    assert event.occurred_at == RECEIVED
    assert event.message_id == "om_574d639e4a44e4dd646eaf628e2ab123"
    assert event.event_id.startswith("legacy-")
    assert is_legacy_card_callback(payload)


def test_legacy_event_id_is_deterministic_per_click() -> None:
    first = parse(golden("card_action_legacy.json")).event_id
    again = golden("card_action_legacy.json")
    again["token"] = "c-another-update-token"  # a retry or double click carries a new update token
    assert parse(again).event_id == first
    other = golden("card_action_legacy.json")
    other["action"]["value"]["act"] = "collab.accept"
    assert parse(other).event_id != first


def test_url_verification_and_unknown_events_are_ignored() -> None:
    challenge = golden("url_verification.json")
    assert is_url_verification(challenge)
    assert verification_token(challenge) == VERIFICATION_TOKEN
    assert parse(challenge) == Ignored("url_verification")
    assert parse(golden("unknown_event.json")) == Ignored("im.chat.member.bot.added_v1")
    assert verification_token(golden("unknown_event.json")) == VERIFICATION_TOKEN


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p["header"].pop("event_id"),
        lambda p: p["event"]["message"].pop("chat_id"),
        lambda p: p["event"]["sender"]["sender_id"].pop("open_id"),
        lambda p: p["event"]["message"].update(content="not json"),
        lambda p: p["event"]["message"].update(content='{"text": 5}'),
        lambda p: p["event"]["message"].update(mentions="@_user_1"),
        lambda p: p["header"].update(create_time="yesterday"),
        lambda p: p["header"].update(create_time="9" * 18),
        lambda p: p.update(event=[]),
    ],
)
def test_malformed_message(mutate: Any) -> None:
    payload = golden("message_group.json")
    mutate(payload)
    with pytest.raises(PayloadError):
        parse(payload)


def test_not_an_event_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        parse({"hello": "world"})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
keys = st.sampled_from(
    ["schema", "header", "event", "type", "token", "open_message_id", "open_chat_id", "open_id", "action",
     "event_id", "event_type", "tenant_key", "create_time", "message", "sender", "operator", "context"]
)
junk = st.dictionaries(keys | st.text(max_size=8), json_values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(junk)
def test_junk_never_raises_anything_but_payload_error(payload: dict[str, Any]) -> None:
    try:
        parse(payload)
    except PayloadError:
        pass


def _mutations(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    paths = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((*path, k))
                walk(v, (*path, k))

    walk(base, ())

    def apply(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(base))
        node = copy
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return copy

    return st.builds(apply, st.sampled_from(paths), json_values)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["message_group.json", "card_action_v2.json", "card_action_legacy.json"]).flatmap(
    lambda name: _mutations(golden(name))))
def test_mutated_goldens_never_crash(payload: dict[str, Any]) -> None:
    for bot in (BOT_OPEN_ID, None):
        try:
            parse(payload, bot=bot)
        except PayloadError:
            pass


def test_group_text_without_the_bot_mentioned_is_not_addressed() -> None:
    payload = golden("message_group.json")
    payload["event"]["message"]["mentions"] = [
        m for m in payload["event"]["message"]["mentions"] if m["id"]["open_id"] != BOT_OPEN_ID
    ]
    event = parse(payload)
    assert isinstance(event, MessageEvent) and event.addressed is False
    assert parse(golden("message_group.json")).addressed is True


def test_post_message_is_flattened_to_a_command() -> None:
    event = parse(golden("message_post.json"))
    assert isinstance(event, MessageEvent)
    assert (event.message_type, event.addressed) == ("text", True)
    assert event.text == "进度 XZB20231001-01 70% 海报初稿已完成"
    assert event.mentions == ()
