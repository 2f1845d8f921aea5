"""Decisions on cards through Feishu: signed, encrypted events in, cards to the fake Open API.

The seed's request: 张三 (市场部, first user, so admin) asks 设计部 (head 李四) for material; a
stranger's press is refused, a tampered button is refused, 李四 accepts on the card, delivers, and
张三 accepts the delivery on the card.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support import settle

from .conftest import INITIATOR, OWNER, STRANGER, FeishuE2E, button, callback_value, walk


def text_of(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def in_group(app: FeishuE2E, words: str) -> list[dict[str, Any]]:
    """Cards the bot posted into the group (not the copies sent to people directly)."""
    return [c for c in app.fake.messages if c["receive_id_type"] == "chat_id" and words in text_of(c["content"])]


def cards(app: FeishuE2E) -> list[dict[str, Any]]:
    return [m for m in app.sent() if m["msg_type"] == "interactive"]


async def say(app: FeishuE2E, text: str, sender: tuple[str, str] = INITIATOR) -> None:
    response = await app.post(app.message(f"@_user_1 {text}", sender=sender))
    assert response.status == 200
    await settle(app.services)


async def press(app: FeishuE2E, value: dict[str, Any], who: tuple[str, str], message_id: str,
                event_id: str | None = None) -> dict[str, Any]:
    response = await app.post(app.click(value, operator=who, card_message_id=message_id, event_id=event_id))
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    await settle(app.services)
    return body


async def test_a_collaboration_request_and_its_review_decided_on_feishu_cards(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    await say(app, "设置部门 设计部 负责人 @_user_2")
    await say(app, "发起协作 Q4海报 部门 设计部 截止 12月15日 背景 新品上市 目标 完成主视觉 交付物 3张海报")
    # The overview answers the message (a reply); the head's card is posted to the group.
    [overview] = [c for c in app.fake.replies if "跨部门协作" in text_of(c["content"])]
    [asked] = in_group(app, "协作请求（设计部）")
    # A copy goes to the head directly: they need not be in the project's group.
    [direct] = [c for c in app.fake.messages if c["receive_id_type"] == "open_id"]
    assert direct["receive_id"] == OWNER[0] and "协作请求（设计部）" in text_of(direct["content"])
    assert "跨部门协作" in text_of(overview["content"]) and "已向 设计部 发起协作请求" in text_of(overview["content"])
    assert f"<at id={OWNER[0]}></at>" in text_of(asked["content"])
    accept = callback_value(button(asked["content"], "接受"))
    assert accept["act"] == "decision" and accept["ref"].isdigit()

    refused = await press(app, accept, STRANGER, asked["message_id"])
    assert refused["toast"]["type"] == "error" and "只有 李四 可以处理" in refused["toast"]["content"]
    assert "card" not in refused

    forged = dict(accept, arg=accept["arg"].split(".")[0] + ".0000000000000000")
    tampered = await press(app, forged, OWNER, asked["message_id"])
    assert tampered["toast"]["type"] == "error" and "已失效" in tampered["toast"]["content"]

    click_id = app.next_id("ev_click_")
    accepted = await press(app, accept, OWNER, asked["message_id"], event_id=click_id)
    assert accepted["toast"]["type"] == "success" and accepted["toast"]["content"] == "已接受"
    decided = accepted["card"]["data"]
    assert "结果：已接受" in text_of(decided) and not [n for n in _buttons(decided)]
    # Feishu re-delivers the same click: nothing happens twice.
    again = await press(app, accept, OWNER, asked["message_id"], event_id=click_id)
    assert again["toast"]["type"] == "info"
    # The overview card in the group was updated to show 设计部's answer.
    assert any("1/1 个部门已接受" in text_of(p["card"]) and p["message_id"] == overview["message_id"]
               for p in app.fake.patches)
    [request, part] = await app.tasks()
    assert (request.status, part.code, part.title) == ("in_progress", "XZB20261101-01", "Q4海报（设计部）")

    await say(app, "提交验收 XZB20261101-01 交付物 https://pan.example.com/poster 自检 3张海报已按规范完成",
              sender=OWNER)
    [review] = [c for c in cards(app) if "已提交验收" in text_of(c["content"])]
    assert "待验收" in text_of(review["content"]) and f"<at id={INITIATOR[0]}></at>" in text_of(review["content"])
    passed = await press(app, callback_value(button(review["content"], "通过")), INITIATOR, review["message_id"])
    assert passed["toast"]["content"] == "已通过"
    [request, part] = await app.tasks()
    assert part.status == "done" and request.progress == 100


def _buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in walk(card) if n.get("tag") == "button"]


async def test_a_refusal_typed_into_the_feishu_form(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    await say(app, "设置部门 设计部 负责人 @_user_2")
    await say(app, "发起协作 Q4海报 部门 设计部 截止 12月15日 背景 新品上市 目标 完成主视觉")
    [asked] = in_group(app, "协作请求（设计部）")
    [form] = [n for n in walk(asked["content"]) if n.get("tag") == "form"]
    tags = [n["tag"] for n in walk(form) if n.get("tag") in ("input", "button")]
    assert tags == ["input", "button", "button", "button"]  # 接受, 拒绝, 转交
    reject = next(n for n in walk(form) if n.get("tag") == "button" and n["text"]["content"] == "拒绝")
    assert reject["form_action_type"] == "submit"
    # Feishu reports a form submit with the inputs in form_value and the button by its name.
    click = app.click({}, operator=OWNER, card_message_id=asked["message_id"])
    click["event"]["action"] = {"tag": "button", "name": reject["name"],
                                "form_value": {"answer": "人力饱和 可启动 12月20日"}}
    response = await app.post(click)
    body = await response.json()
    assert body["toast"]["content"] == "已拒绝", body
    await settle(app.services)
    [row] = await app.rows("SELECT outcome, answer FROM decision")
    assert tuple(row) == ("reject", "人力饱和")
    told = [m for m in app.fake.messages if m["msg_type"] == "text" and "拒绝了协作请求" in m["content"]["text"]]
    assert told and "可启动时间：12月20日" in told[0]["content"]["text"]


def _form_click(app: FeishuE2E, card: dict[str, Any], label: str, typed: str, who: tuple[str, str]) -> dict[str, Any]:
    """A press of a form's button, with `typed` in the text field, as Feishu reports it."""
    button_node = next(n for n in walk(card["content"]) if n.get("tag") == "button" and n["text"]["content"] == label)
    click = app.click({}, operator=who, card_message_id=card["message_id"])
    click["event"]["action"] = {"tag": "button", "name": button_node["name"], "form_value": {"answer": typed},
                                "value": callback_value(button_node)}
    return click


async def test_a_blocker_and_a_vetoed_change_on_feishu(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    await app.create_task()  # XZB20261101: 张三 initiates, 李四 owns
    await say(app, "卡点 XZB20261101 主视觉素材未到 影响 海报延期", sender=OWNER)
    [blocker] = [c for c in app.fake.replies if "已上报卡点 #1" in text_of(c["content"])]
    assert f"<at id={INITIATOR[0]}></at>" in text_of(blocker["content"])  # to the initiator, 24 h
    ack = callback_value(button(blocker["content"], "已知悉"))
    assert (await press(app, ack, STRANGER, blocker["message_id"]))["toast"]["type"] == "error"
    acked = await press(app, ack, INITIATOR, blocker["message_id"])
    assert acked["toast"]["content"] == "已知悉"
    resolved = await app.post(_form_click(app, blocker, "已解决", "已催供应商今天提供", INITIATOR))
    assert (await resolved.json())["toast"]["content"] == "已解决"
    await settle(app.services)
    told = [m for m in app.fake.messages
            if m["msg_type"] == "text" and "已解决：已催供应商今天提供" in m["content"]["text"]]
    assert told and f'<at user_id="{OWNER[0]}"></at>' in told[0]["content"]["text"]

    await say(app, "变更 XZB20261101 截止 12月20日 原因 素材延误", sender=OWNER)
    [asked] = in_group(app, "变更 #1")
    empty = await app.post(_form_click(app, asked, "驳回", "", INITIATOR))
    assert "驳回需要写明原因" in (await empty.json())["toast"]["content"]
    vetoed = await app.post(_form_click(app, asked, "驳回", "上市日期不能推迟", INITIATOR))
    assert (await vetoed.json())["toast"]["content"] == "已驳回"
    await settle(app.services)
    [task] = await app.tasks()
    assert task.due_at is not None and task.due_at.day != 20
    [row] = await app.rows("SELECT outcome, answer FROM decision WHERE kind = 'change'")
    assert tuple(row) == ("veto", "上市日期不能推迟")


async def test_a_review_handed_over_by_name_in_the_feishu_form(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    await app.create_task()  # XZB20261101: 张三 initiates (and so reviews), 李四 owns
    await say(app, "我的任务", sender=STRANGER)  # 王五 is in the directory, so his name resolves
    await say(app, "提交验收 XZB20261101 交付物 https://pan.example.com/poster 自检 已完成", sender=OWNER)
    [review] = [c for c in app.fake.replies if "已提交验收" in text_of(c["content"])]
    field = next(n for n in walk(review["content"]) if n.get("tag") == "input")
    assert "转交时填写接手人姓名" in text_of(field)

    stranger = await (await app.post(_form_click(app, review, "转交", "王五", STRANGER))).json()
    assert stranger["toast"]["type"] == "error" and "只有 张三 可以处理" in stranger["toast"]["content"]
    itself = await (await app.post(_form_click(app, review, "转交", "张三", INITIATOR))).json()
    assert "已经由 张三 处理" in itself["toast"]["content"]
    handed = await (await app.post(_form_click(app, review, "转交", "王五", INITIATOR))).json()
    assert handed["toast"]["content"].startswith("已转交给 王五，回复时限"), handed
    await settle(app.services)
    [new] = in_group(app, f"<at id={STRANGER[0]}></at>")
    passed = await press(app, callback_value(button(new["content"], "通过")), STRANGER, new["message_id"])
    assert passed["toast"]["content"] == "已通过"
    [task] = await app.tasks()
    assert task.status == "done"
