"""Every card the core produces renders as a valid Card JSON 2.0 within Feishu's 30 KB limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from adapters.feishu.render import CARD_LIMIT_BYTES, render_card
from bot.core import ActionPayload
from bot.engine.views import TaskView, TimelineEntry
from bot.handlers.help import help_card
from bot.presentation.task_cards import task_card, task_detail_card, task_list_card

DUE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def view(code: str = "XZB20231001", **extra) -> TaskView:
    base = dict(code=code, title="Q4新品宣传物料制作", status="in_progress", health="正常", progress=35,
                priority="high",
                owner="张敏", due_at=DUE, timezone="Asia/Shanghai", delivery_standard="3张海报、2条短视频",
                collaborators=("李娜", "王强"), approver="王强")
    base.update(extra)
    return TaskView(**base)  # type: ignore[arg-type]


def buttons(node):
    if isinstance(node, dict):
        if node.get("tag") == "button":
            yield node
        for value in node.values():
            yield from buttons(value)
    elif isinstance(node, list):
        for item in node:
            yield from buttons(item)


def assert_valid(card_json):
    assert card_json["schema"] == "2.0"
    assert card_json["header"]["title"]["tag"] == "plain_text"
    assert isinstance(card_json["body"]["elements"], list) and card_json["body"]["elements"]
    assert len(json.dumps(card_json, ensure_ascii=False).encode()) <= CARD_LIMIT_BYTES
    for button in buttons(card_json):
        (behavior,) = button["behaviors"]
        assert behavior["type"] == "callback"
        assert ActionPayload.from_value(behavior["value"]) is not None


def test_task_card_has_working_done_and_detail_buttons():
    rendered = render_card(task_card(view(), headline="已创建任务，请 <@ou_abc> 查收。"))
    assert_valid(rendered)
    actions = {ActionPayload.from_value(b["behaviors"][0]["value"]).act: b for b in buttons(rendered)}
    assert set(actions) == {"task.done", "task.detail"}
    assert "<at id=ou_abc></at>" in json.dumps(rendered, ensure_ascii=False)


def test_detail_card_with_children_and_a_long_timeline():
    timeline = tuple(TimelineEntry(DUE + timedelta(hours=i), "赵磊", "progress", f"进度 {i}%：" + "说明" * 40)
                     for i in range(60))
    children = tuple(view(f"XZB20231001-{i:02d}", title="子任务" * 10) for i in range(1, 40))
    assert_valid(render_card(task_detail_card(view(children=children, timeline=timeline))))


def test_list_card_with_many_tasks_stays_within_the_limit():
    many = [view(f"XZB202611{i:02d}", title="很长的任务标题" * 12) for i in range(1, 90)]
    assert_valid(render_card(task_list_card("本群任务", many, empty_hint="")))
    assert_valid(render_card(task_list_card("本群任务", [], empty_hint="本群还没有进行中的任务。")))


def test_help_card():
    rendered = render_card(help_card())
    assert_valid(rendered)
    assert "新建任务" in json.dumps(rendered, ensure_ascii=False)
