"""Neutral cards → DingTalk StandardCard JSON; texts → robot sampleText."""

from __future__ import annotations

import json

from adapters.dingtalk.render import card_callback_answer, card_param_map, render_card, render_text
from bot.core import ActionPayload, Button, Buttons, Card, Divider, Fields, Image, Note, Text

DONE = ActionPayload(act="task.done", ref="XZB20261101")
CARD = Card(
    title="XZB20261101 海报设计",
    elements=(
        Text("负责人 <@0420516337781>"),
        Fields((("截止", "11月24日 18:00"), ("状态", "待启动"))),
        Divider(),
        Image("https://example.invalid/a.png", "示意图"),
        Image("@lADPDetfXH_Pn3HNAbrNBDg", "钉钉图片"),
        Buttons((Button("完成", DONE, "primary"), Button("删除", ActionPayload(act="task.cancel", ref="X"), "danger"))),
        Note("由 <@manager4220> 创建"),
    ),
)
NAMES = {"0420516337781": "李四"}


def test_card_as_standard_card_json() -> None:
    card = render_card(CARD, NAMES.get)
    assert card["config"] == {"autoLayout": True, "enableForward": True}
    assert card["header"]["title"] == {"type": "text", "text": "XZB20261101 海报设计"}
    kinds = [c["type"] for c in card["contents"]]
    assert kinds == ["markdown", "markdown", "divider", "markdown", "image", "action", "text"]
    assert card["contents"][0]["text"] == "负责人 @李四"
    assert card["contents"][1]["text"] == "**截止**：11月24日 18:00\n\n**状态**：待启动"
    assert card["contents"][4]["image"] == "@lADPDetfXH_Pn3HNAbrNBDg"
    assert card["contents"][6]["text"] == "由 @manager4220 创建"  # an unknown name shows the id
    done, cancel = card["contents"][5]["actions"]
    assert done == {"type": "button", "label": {"type": "text", "text": "完成"}, "actionType": "request",
                    "status": "primary", "value": DONE.pack(), "id": DONE.pack()}
    assert cancel["status"] == "warning"
    assert len({c["id"] for c in card["contents"]}) == len(card["contents"])


def test_the_card_travels_as_one_string_variable() -> None:
    card = render_card(CARD)
    params = card_param_map(card)
    assert list(params) == ["sys_full_json_obj"] and json.loads(params["sys_full_json_obj"]) == card
    assert card_callback_answer(card) == {"cardData": {"cardParamMap": params}}
    assert card_callback_answer(None) == {}


def test_text_message() -> None:
    assert render_text("已指派给 <@0420516337781>", NAMES.get) == ("sampleText", {"content": "已指派给 @李四"})
    key, param = render_text("x" * 5000)
    assert key == "sampleText" and len(param["content"]) == 3001
