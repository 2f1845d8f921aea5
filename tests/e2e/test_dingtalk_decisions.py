"""Decisions on cards through DingTalk: signed HTTP callbacks in, interactive cards to the fake OpenAPI.

The seed's request: 张三 (first user, so admin) asks 设计部 (head 李四) for material. Tuijin's
DingTalk cards (StandardCard JSON) carry no text field, so a refusal's reason is typed as a message
(`拒绝 XZB… 原因 …`), as the card says. A click is answered with the card as it now is (DingTalk
shows it at once); the other copies of the card are updated in place with
`PUT /v1.0/im/interactiveCards`. The answer to a click carries a card or nothing (no toast), so a
refused click leaves the card as it was.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from adapters.dingtalk.adapter import DingTalkAdapter
from tests.support import settle

from .test_dingtalk_end_to_end import (
    CHAT,
    INITIATOR,
    OWNER,
    STRANGER,
    AppFactory,
    DingTalkE2E,
    button,
    dingtalk_app,
    dingtalk_app_factory,
    dingtalk_fake,
    shown,
)

__all__ = ["dingtalk_app", "dingtalk_app_factory", "dingtalk_fake"]  # fixtures reused from the end-to-end tests

REQUEST = "发起协作 Q4海报 部门 设计部 截止 12月15日 背景 新品上市 目标 完成主视觉 交付物 3张海报"


def text_of(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def labels(card: dict[str, Any]) -> list[str]:
    return [a["label"]["text"] for c in card["contents"] for a in c.get("actions", [])]


async def say(app: DingTalkE2E, text: str, sender: tuple[str, str] = INITIATOR,
              mentions: tuple[tuple[str, str], ...] = ()) -> None:
    response = await app.post(app.message(" " + text, sender=sender, mentions=mentions))
    assert response.status == 200, await response.text()
    await settle(app.services)


async def press(app: DingTalkE2E, payload: dict[str, Any]) -> dict[str, Any]:
    response = await app.post(payload, path="/webhooks/dingtalk/card")
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    await settle(app.services)
    return answer


def cards_with(app: DingTalkE2E, words: str) -> list[dict[str, Any]]:
    return [c for c in app.fake.cards if words in text_of(c["card"])]


def updates_of(app: DingTalkE2E, sent: dict[str, Any]) -> list[dict[str, Any]]:
    return [u["card"] for u in app.fake.card_updates if u["outTrackId"] == sent["outTrackId"]]


async def ask_design(app: DingTalkE2E) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The request, sent: its overview in the group, the head's card in the group and sent to the head."""
    await say(app, "设置部门 设计部 负责人 @李四", mentions=(OWNER,))
    await say(app, REQUEST)
    [overview] = cards_with(app, "已向 设计部 发起协作请求")
    asked = [c for c in cards_with(app, "协作请求（设计部）") if c is not overview]
    [group] = [c for c in asked if c["conversationType"] == 1]
    [direct] = [c for c in asked if c["conversationType"] == 0]
    assert group["openConversationId"] == CHAT and direct["receiverUserIdList"] == [OWNER[0]]
    assert "请 @李四 处理" in text_of(group["card"]) and labels(group["card"]) == ["接受", "拒绝", "转交"]
    return overview, group, direct


async def decisions(app: DingTalkE2E) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await app.rows("SELECT kind, state, outcome, answer FROM decision ORDER BY id")]


async def test_a_collaboration_request_and_its_review_decided_on_dingtalk_cards(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    overview, group, direct = await ask_design(app)
    accept = button(group["card"], "接受")["id"]
    assert accept.startswith("tj1|decision|")

    # Someone else presses: nothing changes and the card stays as it was (no new card in the answer).
    assert await press(app, app.click(group, "接受", operator=STRANGER)) == {}
    # DingTalk shows no toast: the refusal is told to them in their one-to-one chat with the bot.
    dingtalk = app.services.adapters["dingtalk"]
    assert isinstance(dingtalk, DingTalkAdapter)
    await dingtalk.drain_refusals()
    [told] = [m for m in app.fake.single_messages if m["userIds"] == [STRANGER[0]]]
    assert "李四" in told["msgParam"]["content"] and "没有改变任何内容" in told["msgParam"]["content"]
    # A button whose token was altered is refused however it is pressed.
    forged = app.click(group, "接受", operator=OWNER)
    forged["content"] = json.dumps({"cardPrivateData": {"actionIds": [accept[:-16] + "0000000000000000"],
                                                        "params": {}}})
    assert await press(app, forged) == {}
    # Nor does a button naming another decision's id with this one's token.
    other = app.click(group, "接受", operator=OWNER)
    other["content"] = json.dumps({"cardPrivateData": {"actionIds": [accept.replace("|1|", "|2|")], "params": {}}})
    assert await press(app, other) == {}
    assert await decisions(app) == [("collaboration", "open", None, None)]
    assert app.fake.card_updates == [] and len(await app.tasks()) == 1

    click = app.click(group, "接受", operator=OWNER)
    decided = shown(await press(app, click))
    assert "结果：已接受" in text_of(decided) and labels(decided) == []
    # The head's own copy and the request's overview are updated in place; the pressed card was
    # answered inline, so it is not updated a second time.
    [direct_now] = updates_of(app, direct)
    assert "结果：已接受" in text_of(direct_now) and labels(direct_now) == []
    assert updates_of(app, group) == []
    assert "1/1 个部门已接受" in text_of(updates_of(app, overview)[-1])
    told = [m for m in app.fake.group_messages if "设计部 已接受协作请求" in m["msgParam"]["content"]]
    assert len(told) == 1

    # DingTalk delivers the same callback again: nothing happens twice.
    sent_before, updates_before = len(app.fake.sent()), len(app.fake.card_updates)
    assert await press(app, click) == {}
    # The old copy pressed later says it was already decided, and shows the decision.
    again = shown(await press(app, app.click(direct, "接受", operator=OWNER)))
    assert "结果：已接受" in text_of(again) and labels(again) == []
    assert (len(app.fake.sent()), len(app.fake.card_updates)) == (sent_before, updates_before)
    [request, part] = await app.tasks()
    assert (request.status, part.code, part.title) == ("in_progress", "XZB20261101-01", "Q4海报（设计部）")
    assert await decisions(app) == [("collaboration", "decided", "accept", None)]

    await say(app, "提交验收 XZB20261101-01 交付物 https://pan.example.com/poster 自检 3张海报已按规范完成",
              sender=OWNER)
    [review] = [c for c in cards_with(app, "待验收") if c["conversationType"] == 1]
    assert "请 @张三 处理" in text_of(review["card"]) and labels(review["card"]) == ["通过", "不通过", "转交"]
    assert await press(app, app.click(review, "通过", operator=OWNER)) == {}  # not 李四's to accept
    passed = shown(await press(app, app.click(review, "通过", operator=INITIATOR)))
    assert "结果：已通过" in text_of(passed)
    [request, part] = await app.tasks()
    assert part.status == "done" and request.progress == 100


async def test_a_refusal_is_typed_as_the_card_says(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    overview, group, direct = await ask_design(app)
    assert "拒绝 XZB20261101 原因 ……" in text_of(group["card"])

    # 拒绝 needs a reason and the card has no field: the card says what to send, and waits.
    prompted = shown(await press(app, app.click(direct, "拒绝", operator=OWNER)))
    assert "拒绝需要写明原因，请发送：拒绝 XZB20261101 原因 ……" in text_of(prompted)
    assert labels(prompted) == ["接受", "拒绝", "转交"]
    assert await decisions(app) == [("collaboration", "open", None, None)]

    await say(app, "拒绝 XZB20261101 原因 人力饱和 可启动 12月20日", sender=OWNER)
    assert await decisions(app) == [("collaboration", "decided", "reject", "人力饱和")]
    # Both copies now show the refusal (neither was pressed by this answer).
    for sent in (group, direct):
        [now] = updates_of(app, sent)
        assert "结果：已拒绝" in text_of(now) and "人力饱和" in text_of(now) and labels(now) == []
    assert "已拒绝：人力饱和" in text_of(updates_of(app, overview)[-1])
    told = [m for m in app.fake.group_messages if "拒绝了协作请求" in m["msgParam"]["content"]]
    assert told and "可启动时间：12月20日" in told[0]["msgParam"]["content"]
    # A press on a card after the typed answer is told it was decided; nothing changes.
    late = shown(await press(app, app.click(group, "接受", operator=OWNER)))
    assert "结果：已拒绝" in text_of(late)
    [request] = await app.tasks()
    assert request.status == "pending"


async def stream(app: DingTalkE2E, topic: str, message_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """One Stream CALLBACK frame as DingTalk's gateway sends it; the app's acknowledgement's data."""
    await app.fake.push({"specVersion": "1.0", "type": "CALLBACK",
                         "headers": {"topic": topic, "messageId": message_id, "contentType": "application/json",
                                     "time": str(int(app.clock.now().timestamp() * 1000))},
                         "data": json.dumps(data, ensure_ascii=False)})
    while True:
        ack = await app.fake.next_client_frame()
        if ack["headers"].get("messageId") == message_id:
            assert ack["code"] == 200, ack
            await settle(app.services)
            answer: dict[str, Any] = json.loads(ack["data"])["response"]
            return answer


MESSAGE_TOPIC, CARD_TOPIC = "/v1.0/im/bot/messages/get", "/v1.0/card/instances/callback"


async def test_over_the_stream_a_press_is_answered_with_the_decided_card(dingtalk_app_factory: AppFactory) -> None:
    app = await dingtalk_app_factory(mode="stream")
    await app.fake.wait_connections(1)
    await stream(app, MESSAGE_TOPIC, "m-dept", app.message(" 设置部门 设计部 负责人 @李四"))
    await stream(app, MESSAGE_TOPIC, "m-ask", app.message(" " + REQUEST, mentions=()))
    [group] = [c for c in cards_with(app, "协作请求（设计部）") if c["conversationType"] == 1]

    assert await stream(app, CARD_TOPIC, "c-stranger", app.click(group, "接受", operator=STRANGER)) == {}
    click = app.click(group, "接受", operator=OWNER)
    decided = shown(await stream(app, CARD_TOPIC, "c-accept", click))
    assert "结果：已接受" in text_of(decided) and labels(decided) == []
    # The gateway re-sends the frame it thinks was lost (same messageId, same data): applied once.
    assert await stream(app, CARD_TOPIC, "c-accept", click) == {}
    [request, part] = await app.tasks()
    assert (request.status, part.code) == ("in_progress", "XZB20261101-01")
    assert await decisions(app) == [("collaboration", "decided", "accept", None)]


async def test_a_blocker_and_a_vetoed_change_on_dingtalk(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    await app.create_task()  # XZB20261101: 张三 initiates, 李四 owns
    await say(app, "卡点 XZB20261101 主视觉素材未到 影响 海报延期", sender=OWNER)
    [blocker] = cards_with(app, "已上报卡点 #1")
    assert "请 @张三 处理" in text_of(blocker["card"]) and labels(blocker["card"]) == ["已知悉", "已解决", "转交"]
    assert await press(app, app.click(blocker, "已知悉", operator=STRANGER)) == {}
    acked = shown(await press(app, app.click(blocker, "已知悉", operator=INITIATOR)))
    assert "张三 已知悉，处理中" in text_of(acked) and labels(acked) == ["已解决", "转交"]
    prompted = shown(await press(app, app.click(blocker, "已解决", operator=INITIATOR)))
    assert "已解决需要写明方案" in text_of(prompted)
    await say(app, "已解决 XZB20261101 方案 已催供应商今天提供")
    [now] = updates_of(app, blocker)[-1:]
    assert "结果：已解决" in text_of(now) and "已催供应商今天提供" in text_of(now) and labels(now) == []
    told = [m for m in app.fake.group_messages if "已解决：已催供应商今天提供" in m["msgParam"]["content"]]
    assert told and "@李四" in told[0]["msgParam"]["content"]

    await say(app, "变更 XZB20261101 截止 12月20日 原因 素材延误", sender=OWNER)
    [asked] = [c for c in cards_with(app, "变更 #1") if labels(c["card"]) and c["conversationType"] == 1]
    [direct] = [c for c in cards_with(app, "变更 #1") if c["conversationType"] == 0]
    assert direct["receiverUserIdList"] == [INITIATOR[0]]
    assert await press(app, app.click(asked, "同意", operator=OWNER)) == {}  # not the requester's to decide
    await say(app, "驳回 XZB20261101 原因 上市日期不能推迟")
    for copy in (asked, direct):
        assert "结果：已驳回" in text_of(updates_of(app, copy)[-1])
    [task] = await app.tasks()
    assert task.due_at is not None and task.due_at.day != 20
    assert [r for r in await decisions(app) if r[0] == "change"] == [("change", "decided", "veto", "上市日期不能推迟")]


async def test_the_head_pressing_both_copies_at_once_accepts_once(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    _overview, group, direct = await ask_design(app)
    answers = await asyncio.gather(press(app, app.click(group, "接受", operator=OWNER)),
                                   press(app, app.click(direct, "接受", operator=OWNER)))
    await settle(app.services)
    for answer in answers:  # one applied it, the other was told it is decided: both show the outcome
        assert "结果：已接受" in text_of(shown(answer))
    [request, part] = await app.tasks()
    assert (request.status, part.code) == ("in_progress", "XZB20261101-01")
    assert len(await app.rows("SELECT id FROM task_event WHERE kind = 'collaboration_accept'")) == 1
    assert len([m for m in app.fake.group_messages if "设计部 已接受协作请求" in m["msgParam"]["content"]]) == 1


async def test_a_risk_handed_over_outdates_the_old_buttons(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    await app.create_task()  # XZB20261101: 张三 initiates, 李四 owns
    await say(app, "风险 高 XZB20261101 主视觉供应商可能延期 影响 海报延期3天 建议 启用备选供应商", sender=OWNER)
    [risk] = [c for c in cards_with(app, "风险 #1") if c["conversationType"] == 1 and labels(c["card"])]
    assert "请 @张三 处理" in text_of(risk["card"])
    await say(app, "转交 XZB20261101 @王五", mentions=(STRANGER,))
    assert "已转交给 王五" in text_of(updates_of(app, risk)[-1]) and labels(updates_of(app, risk)[-1]) == []
    [handed] = [c for c in cards_with(app, "请 @王五 处理") if c["conversationType"] == 1 and labels(c["card"])]
    assert labels(handed["card"]) == ["已知悉", "已解决", "转交"]

    # The old card's buttons carry the old token: 张三's press, and even 王五's, change nothing.
    assert await press(app, app.click(risk, "已知悉", operator=INITIATOR)) == {}
    assert await press(app, app.click(risk, "已知悉", operator=STRANGER)) == {}
    assert await decisions(app) == [("risk", "open", None, None)]
    acked = shown(await press(app, app.click(handed, "已知悉", operator=STRANGER)))
    assert "王五 已知悉，处理中" in text_of(acked)
    assert await decisions(app) == [("risk", "acknowledged", None, None)]


async def test_a_head_hands_the_request_to_a_deputy_on_dingtalk(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    overview, group, direct = await ask_design(app)
    # The card has no field: 转交 pressed says what to send, and waits; a stranger's press does nothing.
    prompted = shown(await press(app, app.click(direct, "转交", operator=OWNER)))
    assert "转交给谁" in text_of(prompted) and "转交 XZB20261101 @某人" in text_of(prompted)
    assert await press(app, app.click(group, "转交", operator=STRANGER)) == {}
    assert await decisions(app) == [("collaboration", "open", None, None)]

    await say(app, "转交 XZB20261101 @王五", sender=OWNER, mentions=(STRANGER,))
    for sent in (group, direct):  # both of 李四's copies say where it went, without buttons
        [now] = updates_of(app, sent)
        assert "已转交给 王五，回复时限" in text_of(now) and labels(now) == []
    assert "设计部（王五）" in text_of(updates_of(app, overview)[-1])
    [handed] = [c for c in cards_with(app, "请 @王五 处理") if c["conversationType"] == 1 and labels(c["card"])]
    [to_deputy] = [c for c in cards_with(app, "请 @王五 处理") if c["conversationType"] == 0]
    assert to_deputy["receiverUserIdList"] == [STRANGER[0]]
    assert labels(handed["card"]) == ["接受", "拒绝", "转交"] and "请求部门" in text_of(handed["card"])

    # 李四's old buttons are outdated; the deputy accepts for 设计部.
    assert await press(app, app.click(group, "接受", operator=OWNER)) == {}
    accepted = shown(await press(app, app.click(handed, "接受", operator=STRANGER)))
    assert "结果：已接受" in text_of(accepted)
    [request, part] = await app.tasks()
    assert (request.status, part.title) == ("in_progress", "Q4海报（设计部）")
    assert await decisions(app) == [("collaboration", "decided", "accept", None)]
