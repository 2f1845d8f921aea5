"""转交 for every decision: a collaboration request, a change confirmation and a review handed to a
deputy by message and on the card; who may, to whom, a fresh response window, and one effect however
often it is pressed. On SQLite and PostgreSQL, through the console's real API.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import Decision, Department, TaskEvent
from tests.support import settle
from tests.workflows.conftest import CHAT, Room, buttons, card_text, organise
from tests.workflows.test_acceptance import SUBMIT
from tests.workflows.test_changes import collaborate, task
from tests.workflows.test_collaboration import REQUEST

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


async def decision_of(db: Database, kind: str, number: int = 1) -> Decision:
    async with db.session() as session:
        return (await session.execute(select(Decision).where(Decision.kind == kind, Decision.number == number))
                ).scalar_one()


async def events(db: Database, kind: str) -> list[TaskEvent]:
    async with db.session() as session:
        return list((await session.execute(select(TaskEvent).where(TaskEvent.kind == kind))).scalars())


def live_cards_for(messages: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["card"] and f"请 @{name} 处理" in card_text(m) and buttons(m)]


async def test_a_head_hands_a_collaboration_request_to_a_deputy_by_message(
    room: Room, any_db: Database, clock: FrozenClock
) -> None:
    await organise(room)
    overview, design, _ = await room.say("u_zhangmin", REQUEST)
    assert "回复时限:11月25日 18:00" in card_text(design)
    # Two days later, on Wednesday afternoon, 李娜 hands it to 赵磊: he gets two working days of his own.
    clock.set(at(25, 15, 0))
    handed = await room.say("u_lina", "转交 XZB20261101 @赵磊")
    [reply] = [m for m in handed if m["card"] and "已转交给 赵磊，回复时限 11月27日 18:00" in card_text(m)
               and m["id"] != design["id"]]
    assert not buttons(reply)
    [new] = live_cards_for(handed, "赵磊")
    assert "回复时限:11月27日 18:00" in card_text(new) and "请求部门:设计部" in card_text(new)
    assert set(buttons(new)) == {"接受", "拒绝", "转交"}
    old = await room.message(design["id"])
    assert not buttons(old) and "已转交给 赵磊" in card_text(old)
    line = card_text(await room.message(overview["id"]))
    assert "设计部（赵磊）" in line and "时限 11月27日 18:00" in line

    # The old buttons are outdated, and 李娜 no longer decides.
    stale = await room.press("u_lina", design, "接受", value=buttons(design)["接受"]["value"])
    assert "已失效" in stale["toast"]["content"]
    assert "这件事要由 赵磊、王强 处理" in (await room.say("u_lina", "接受 XZB20261101"))[0]["text"]

    # 赵磊 accepts for 设计部: the part is 设计部's, coordinated by him as the head for this request.
    accepted = await room.press("u_zhaolei", new, "接受")
    assert accepted["toast"]["content"] == "已接受"
    part = await task(any_db, "XZB20261101-01")
    decision = await decision_of(any_db, "collaboration")
    async with any_db.session() as session:
        design_department = (await session.execute(select(Department).where(Department.name == "设计部"))
                             ).scalar_one()
    assert part.department_id == decision.department_id == design_department.id
    assert part.owner_id == part.initiator_id == decision.decider_id
    assert decision.data["handed_from"] != decision.decider_id
    news = [m["text"] for m in await room.history() if m["text"] and "设计部 已接受协作请求" in m["text"]]
    assert news and "由 @赵磊 负责子任务 XZB20261101-01" in news[0] and "指派 XZB20261101-01" in news[0]
    assert len(await events(any_db, "collaboration_handed")) == 1


async def test_a_change_confirmation_is_handed_over_on_the_card(room: Room, any_db: Database) -> None:
    await collaborate(room)
    overview, first, second = await room.say("u_zhangmin", "变更 XZB20261101 目标 完成全套物料并投放 原因 加投放")
    # Pressed with nobody named, the card says what to type.
    asked = await room.press("u_wangqiang", second, "转交")
    assert "转交给谁" in asked["toast"]["content"] and "转交 XZB20261101 #2 @某人" in asked["toast"]["content"]
    # One person holds one vote: 李娜 is asked already, and 张敏 asked for the change.
    also = await room.press("u_wangqiang", second, "转交", typed="李娜")
    assert "李娜 已在处理同一请求" in also["toast"]["content"]
    requester = await room.press("u_wangqiang", second, "转交", typed="@张敏")
    assert "不能转交给提出人本人" in requester["toast"]["content"]

    handed = await room.press("u_wangqiang", second, "转交", typed="陈静")
    assert handed["toast"]["content"] == "已转交给 陈静，回复时限 11月25日 18:00"
    assert not buttons({"card": handed["card"]}) and "已转交给 陈静" in card_text({"card": handed["card"]})
    [new] = live_cards_for(await room.history(), "陈静")
    assert "陈静:⏳ 待确认" in card_text(await room.message(overview["id"]))

    await room.press("u_lina", first, "同意")
    assert (await task(any_db, "XZB20261101")).objective != "完成全套物料并投放"
    agreed = await room.press("u_chenjing", new, "同意")
    assert agreed["toast"]["content"] == "已同意"
    assert (await task(any_db, "XZB20261101")).objective == "完成全套物料并投放"
    assert "结果：全员同意，已生效" in card_text(await room.message(overview["id"]))


async def test_a_review_is_handed_over_and_the_wrong_targets_are_refused(
    room: Room, any_db: Database
) -> None:
    await collaborate(room)
    review = (await room.say("u_chenjing", SUBMIT))[0]
    assert "请 @张敏" in card_text(review)
    code = "XZB20261101-02"

    # Only the reviewer hands it over: someone else's message and press change nothing.
    assert "这件事要由 张敏 处理" in (await room.say("u_wangqiang", f"转交 {code} @刘洋"))[0]["text"]
    stranger = await room.press("u_wangqiang", review, "转交", typed="刘洋")
    assert stranger["toast"]["type"] == "error" and "只有 张敏 可以处理" in stranger["toast"]["content"]
    forged = dict(buttons(review)["转交"]["value"])
    forged["arg"] = "hand.0000000000000000"
    assert "已失效" in (await room.press("u_zhangmin", review, "转交", value=forged))["toast"]["content"]

    # Whom it may not go to, each with what to send instead.
    itself = (await room.say("u_zhangmin", f"转交 {code} @张敏"))[0]["text"]
    assert "已经由 张敏 处理" in itself and f"转交 {code} @某人" in itself
    submitter = (await room.say("u_zhangmin", f"转交 {code} @陈静"))[0]["text"]
    assert "不能转交给提出人本人" in submitter
    bot = (await room.say("u_zhangmin", f"转交 {code} @推进"))[0]["text"]
    assert "不能是机器人" in bot and f"转交 {code} @某人" in bot
    outsider = (await room.say("u_zhangmin", f"转交 {code} @外包小王"))[0]["text"]
    assert "找不到成员「外包小王」：只能转交给本企业的同事" in outsider and f"转交 {code} @某人" in outsider
    await room.say("u_zhangmin", "请假 @刘洋 11月23日 至 11月24日")
    away = (await room.say("u_zhangmin", f"转交 {code} @刘洋"))[0]["text"]
    assert "刘洋 请假中（至 11月24日）" in away
    assert await events(any_db, "acceptance_handed") == []

    handed = await room.say("u_zhangmin", f"hand over {code} @周杰")
    assert "已转交给 周杰，回复时限 11月25日 18:00" in card_text(handed[0])
    [new] = live_cards_for(handed, "周杰")
    assert set(buttons(new)) == {"通过", "不通过", "转交"}
    passed = await room.press("u_zhoujie", new, "通过")
    assert passed["toast"]["content"] == "已通过"
    assert (await task(any_db, code)).status == "done"


async def test_the_new_decider_gets_the_flows_whole_window(room: Room, any_db: Database, clock: FrozenClock) -> None:
    await room.say("u_zhangmin", "新建任务 Q4短视频 负责人 @赵磊 截止 12月15日")
    await room.say("u_zhaolei", "卡点 XZB20261101 素材未到 需要 @王强")
    await room.say("u_zhaolei", "风险 高 XZB20261101 供应商延期 影响 海报延期 建议 换供应商")
    assert (await decision_of(any_db, "blocker")).due_at == at(24, 10)
    assert (await decision_of(any_db, "risk")).due_at == at(23, 14)
    # A high risk is 4 hours, wall-clock, from the hand-over: one hour before its deadline, 4 more.
    clock.set(at(23, 13))
    await room.say("u_zhangmin", "转交 XZB20261101 @周杰")
    assert (await decision_of(any_db, "risk")).due_at == at(23, 17)
    # 20 hours on, with 4 left and acknowledged, 王强 hands the blocker to 陈静: she has 24 hours, not 4,
    # and it is open again (her clock runs until she answers).
    clock.set(at(24, 6))
    await room.say("u_wangqiang", "已知悉 XZB20261101")
    handed = await room.say("u_wangqiang", "转交 XZB20261101 @陈静")
    assert any("回复时限 11月25日 06:00" in card_text(m) for m in handed if m["card"])
    blocker = await decision_of(any_db, "blocker")
    assert blocker.due_at == at(25, 6) and blocker.state == "open" and blocker.responded_at is None
    # A request, change or review: 2 working days, ending at the end of a working day: handed over
    # on Friday, it is due on Tuesday evening.
    await organise(room)
    await room.say("u_zhangmin", REQUEST.replace("设计部,品牌部", "设计部"))
    clock.set(at(27, 11))
    await room.say("u_lina", "转交 XZB20261102 @赵磊")
    request = await decision_of(any_db, "collaboration")
    assert request.due_at == datetime(2026, 12, 1, 18, tzinfo=SHANGHAI)


async def test_concurrent_hand_over_presses_apply_once(room: Room, any_db: Database) -> None:
    await organise(room)
    _, design, _ = await room.say("u_zhangmin", REQUEST)
    for deputy in ("u_zhaolei", "u_zhoujie"):
        await room.say(deputy, "我的任务")  # known to the directory, so their names resolve

    async def press(n: int, typed: str) -> dict[str, Any]:
        response = await room.client.post("/console/api/actions", json={
            "chat_id": CHAT, "user_id": "u_lina", "message_id": design["id"],
            "value": buttons(design)["转交"]["value"], "click_id": f"hand-{n}", "inputs": {"answer": typed},
        })
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result

    # Eight presses at once, to two different deputies: one hand-over, to one of them.
    results = await asyncio.gather(*(press(n, "赵磊" if n % 2 else "周杰") for n in range(8)))
    await settle(room.services)
    toasts = [r["toast"]["content"] for r in results]
    applied = [t for t in toasts if t.startswith("已转交给")]
    assert len(applied) == 1, toasts
    assert all("已失效" in t or "只有" in t for t in toasts if t not in applied), toasts
    assert len(await events(any_db, "collaboration_handed")) == 1
    decision = await decision_of(any_db, "collaboration")
    taken = "赵磊" if "赵磊" in applied[0] else "周杰"
    assert len(live_cards_for(await room.history(), taken)) == 1
    assert decision.data["handed_from"] != decision.decider_id


async def test_handed_over_from_a_direct_chat_the_window_ends_in_the_requests_chat(
    room: Room, any_db: Database
) -> None:
    await organise(room)
    assert "Europe/London" in (await room.say("u_zhangmin", "时区 伦敦"))[0]["text"]
    await room.say("u_zhangmin", REQUEST.replace("设计部,品牌部", "设计部"))
    asked = (await decision_of(any_db, "collaboration")).due_at
    assert asked == datetime(2026, 11, 25, 18, tzinfo=ZoneInfo("Europe/London"))
    # 李娜 hands it over in her one-to-one chat with the bot (a Shanghai chat): the new window still
    # ends at 18:00 in the request's chat, where its reminders are sent.
    response = await room.client.post("/console/api/messages", json={
        "chat_id": "u_lina", "user_id": "u_lina", "text": "转交 XZB20261101 @赵磊"})
    assert response.status == 202
    await settle(room.services)
    handed = await decision_of(any_db, "collaboration")
    assert "handed_from" in handed.data and handed.due_at == asked
