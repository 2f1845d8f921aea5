from __future__ import annotations

import json
from typing import Any

from adapters.feishu.render import (
    CARD_LIMIT_BYTES,
    MAX_CARD_COMPONENTS,
    TRUNCATED_NOTE,
    card_size,
    image_sources_to_upload,
    render_card,
    render_text,
)
from bot.core import ActionPayload, Button, Buttons, Card, Divider, Fields, Image, Note, Text

ACCEPT = ActionPayload(act="collab.accept", ref="XZB20231001")
REJECT = ActionPayload(act="collab.reject", ref="XZB20231001", arg="later")


def body(card: Card, keys: dict[str, str] | None = None) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = render_card(card, keys)["body"]["elements"]
    return elements


def buttons_in(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("tag") == "button" else []
        return found + [b for v in node.values() for b in buttons_in(v)]
    if isinstance(node, list):
        return [b for v in node for b in buttons_in(v)]
    return []


def test_envelope() -> None:
    card = render_card(Card(title="跨部门协作请求", template="orange"))
    assert card == {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": "跨部门协作请求"}, "template": "orange"},
        "body": {"elements": []},
    }


def test_text_with_mentions_and_escaped_tags() -> None:
    [el] = body(Card("t", (Text("**负责人** <@ou_abc> 请确认 <at id=all></at> a < b"),)))
    assert el == {
        "tag": "markdown",
        "content": "**负责人** <at id=ou_abc></at> 请确认 &lt;at id=all>&lt;/at> a < b",
    }


def test_fields_grid() -> None:
    rows = body(Card("t", (Fields((("负责人", "张三"), ("截止", "10月15日"), ("状态", "进行中"))),)))
    assert len(rows) == 2
    assert all(r["tag"] == "column_set" for r in rows)
    first = [c["elements"][0]["content"] for c in rows[0]["columns"]]
    assert first == ["**负责人**\n张三", "**截止**\n10月15日"]
    assert rows[1]["columns"][0]["elements"][0]["content"] == "**状态**\n进行中"


def test_image_divider_note() -> None:
    els = body(Card("t", (Image("img_v3_02ab_key", "海报初稿"), Divider(), Note("更新于 10:00"))))
    assert els[0] == {"tag": "img", "img_key": "img_v3_02ab_key", "alt": {"tag": "plain_text", "content": "海报初稿"}}
    assert els[1] == {"tag": "hr"}
    assert els[2] == {"tag": "markdown", "content": "<font color='grey'>更新于 10:00</font>", "text_size": "notation"}


def test_image_urls_need_upload_and_use_the_uploaded_key() -> None:
    card = Card("t", (Image("https://example.com/a.png", "a"), Image("img_v2_x", "b"),
                      Image("https://example.com/a.png", "a again")))
    assert image_sources_to_upload(card) == ("https://example.com/a.png",)
    els = body(card, {"https://example.com/a.png": "img_v3_uploaded"})
    assert [e["img_key"] for e in els] == ["img_v3_uploaded", "img_v2_x", "img_v3_uploaded"]


def test_image_not_uploaded_falls_back_to_alt_text() -> None:
    [el] = body(Card("t", (Image("https://example.com/a.png", "海报"),)))
    assert el == {"tag": "markdown", "content": "[海报]"}


def test_single_button_sits_directly_in_elements() -> None:
    [el] = body(Card("t", (Buttons((Button("接受", ACCEPT, "primary"),)),)))
    assert el == {
        "tag": "button",
        "text": {"tag": "plain_text", "content": "接受"},
        "type": "primary",
        "behaviors": [{"type": "callback", "value": ACCEPT.to_value()}],
    }


def test_several_buttons_flow_in_a_column_set_and_round_trip() -> None:
    [row] = body(Card("t", (Buttons((Button("接受", ACCEPT, "primary"), Button("拒绝", REJECT, "danger"))),)))
    assert row["tag"] == "column_set"
    assert "action" not in json.dumps(row).replace('"act"', "")
    found = buttons_in(row)
    assert [b["type"] for b in found] == ["primary", "danger"]
    values = [b["behaviors"][0]["value"] for b in found]
    assert [ActionPayload.from_value(v) for v in values] == [ACCEPT, REJECT]
    # Values survive the JSON trip to Feishu and back in event.action.value.
    assert [ActionPayload.from_value(json.loads(json.dumps(v))) for v in values] == [ACCEPT, REJECT]


def test_size_limit_truncates_and_keeps_buttons() -> None:
    huge = Card("周报", (Text("很长的内容" * 4000), Fields((("风险", "x" * 20000),)),
                          Buttons((Button("确认", ACCEPT),))))
    rendered = render_card(huge)
    assert card_size(rendered) <= CARD_LIMIT_BYTES
    assert len(json.dumps(rendered)) < 2 * CARD_LIMIT_BYTES
    assert TRUNCATED_NOTE in rendered["body"]["elements"][-1]["content"]
    assert ActionPayload.from_value(buttons_in(rendered)[0]["behaviors"][0]["value"]) == ACCEPT
    assert rendered["body"]["elements"][0]["content"].startswith("很长的内容")


def test_too_many_elements_are_dropped() -> None:
    card = Card("t", tuple(Text(f"第{i}行") for i in range(400)))
    rendered = render_card(card)
    assert card_size(rendered) <= CARD_LIMIT_BYTES
    assert len(rendered["body"]["elements"]) <= MAX_CARD_COMPONENTS
    assert TRUNCATED_NOTE in rendered["body"]["elements"][-1]["content"]


def test_small_card_is_not_truncated() -> None:
    rendered = render_card(Card("t", (Text("短"),)))
    assert TRUNCATED_NOTE not in json.dumps(rendered, ensure_ascii=False)


def test_text_message_mentions() -> None:
    assert render_text("请 <@ou_abc> 跟进") == {"text": '请 <at user_id="ou_abc"></at> 跟进'}
    assert render_text('<at user_id="all"></at>') == {"text": '<\u200bat user_id="all"></at>'}


def _tagged(node: Any) -> int:
    if isinstance(node, dict):
        return ("tag" in node) + sum(_tagged(v) for v in node.values())
    if isinstance(node, list):
        return sum(_tagged(v) for v in node)
    return 0


def test_text_that_looks_like_a_tag_key_is_not_counted_as_a_component() -> None:
    # Components are counted in the card's JSON: a quote a user typed is escaped there.
    sneaky = '"tag": "button", {"tag":"div"} \\"tag\\":'
    rendered = render_card(Card("t", tuple(Text(f"{sneaky}{i}") for i in range(MAX_CARD_COMPONENTS - 5))))
    assert TRUNCATED_NOTE not in json.dumps(rendered, ensure_ascii=False)
    assert _tagged(rendered) <= MAX_CARD_COMPONENTS


def test_the_component_limit_holds_when_the_text_needs_the_standard_json_encoder() -> None:
    # A lone surrogate is refused by orjson: storage.json falls back to `json`, spaced differently.
    rendered = render_card(Card("t", tuple(Text(f"第{i}行\ud800") for i in range(400))))
    assert _tagged(rendered) <= MAX_CARD_COMPONENTS
    assert TRUNCATED_NOTE in rendered["body"]["elements"][-1]["content"]
