"""变更申请: everyone asked must agree; one 驳回 cancels it; concurrent answers give one result."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.tables import Decision, Task, TaskEvent
from tests.support import settle
from tests.workflows.conftest import CHAT, Room, buttons, card_text, organise
from tests.workflows.test_collaboration import REQUEST


async def collaborate(room: Room) -> None:
    """The seed's request, accepted by both heads: 设计部 (李娜 → 赵磊) and 品牌部 (王强 → 陈静)."""
    await organise(room)
    await room.say("u_zhangmin", REQUEST)
    await room.say("u_lina", "接受 XZB20261101 @赵磊")
    await room.say("u_wangqiang", "接受 XZB20261101 @陈静")


async def task(db: Database, code: str) -> Task:
    async with db.session() as session:
        return (await session.execute(select(Task).where(Task.code == code))).scalar_one()


async def events(db: Database, kind: str) -> list[TaskEvent]:
    async with db.session() as session:
        return list((await session.execute(select(TaskEvent).where(TaskEvent.kind == kind))).scalars())


async def test_a_change_takes_effect_when_every_head_agrees(room: Room, any_db: Database) -> None:
    await collaborate(room)
    posted = await room.say("u_zhangmin", "变更 XZB20261101 交付物 3张海报和3条短视频 原因 新增一条产品演示视频")
    overview, *cards = posted
    assert "需 李娜、王强 全部同意后生效" in card_text(overview)
    assert "交付物：3张海报和2条短视频 → 3张海报和3条短视频" in card_text(overview)
    assert [set(buttons(c)) for c in cards] == [{"同意", "驳回", "转交"}] * 2
    assert "请 @李娜 处理" in card_text(cards[0]) and "请 @王强 处理" in card_text(cards[1])

    assert "只有 王强 可以处理" in (await room.press("u_lina", cards[1], "同意"))["toast"]["content"]
    await room.press("u_lina", cards[0], "同意")
    assert (await task(any_db, "XZB20261101")).deliverables == "3张海报和2条短视频"
    assert "李娜:✅ 已同意" in card_text(await room.message(overview["id"]))
    await room.press("u_wangqiang", cards[1], "同意")
    assert (await task(any_db, "XZB20261101")).deliverables == "3张海报和3条短视频"
    final = card_text(await room.message(overview["id"]))
    assert "结果：全员同意，已生效" in final
    news = [m["text"] for m in await room.history() if m["text"] and "变更 #1（XZB20261101）已生效" in m["text"]]
    assert news and "@张敏" in news[0]
    assert len(await events(any_db, "change_applied")) == 1


async def test_one_veto_cancels_the_change_and_withdraws_the_other_cards(room: Room, any_db: Database) -> None:
    await collaborate(room)
    due_before = (await task(any_db, "XZB20261101")).due_at
    overview, first, second = await room.say("u_zhangmin", "变更 XZB20261101 截止 12月20日 原因 等待新品样机")
    await room.press("u_lina", first, "同意")
    asked = await room.press("u_wangqiang", second, "驳回")
    assert "驳回需要写明原因" in asked["toast"]["content"]
    replies = await room.say("u_wangqiang", "驳回 XZB20261101 原因 上市时间不能再推迟")
    assert "结果：已驳回" in card_text(replies[0])
    assert (await task(any_db, "XZB20261101")).due_at == due_before
    assert "结果：已驳回，变更未生效" in card_text(await room.message(overview["id"]))
    told = [m["text"] for m in await room.history() if m["text"] and "被 王强 驳回：上市时间不能再推迟" in m["text"]]
    assert told and "变更未生效" in told[0]
    # A new change may now be asked; the old one is settled.
    again = await room.say("u_zhangmin", "变更 XZB20261101 截止 12月18日 原因 折中方案")
    assert "变更 #2" in card_text(again[0])
    pending = await room.say("u_zhangmin", "变更 XZB20261101 截止 12月19日 原因 再改")
    assert "已有变更 #2 在等待确认" in pending[0]["text"]


async def test_the_owner_of_a_cross_department_part_asks_for_a_new_deadline(room: Room, any_db: Database) -> None:
    await collaborate(room)
    asked = await room.say("u_zhaolei", "截止 XZB20261101-01 12月12日")
    assert "已提交变更申请" in card_text(asked[0]) and "负责人申请调整截止时间" in card_text(asked[0])
    before = (await task(any_db, "XZB20261101-01")).due_at
    assert before is not None and before.day == 15
    # Inside one team the initiator still moves a deadline directly.
    await room.say("u_zhangmin", "新建任务 海报终稿 负责人 @刘洋 截止 12月10日")
    direct = await room.say("u_zhangmin", "截止 XZB20261102 12月9日")
    assert "截止时间已改为" in card_text(direct[0])
    refused = await room.say("u_liuyang", "截止 XZB20261102 12月11日")
    assert "变更 XZB20261102 截止 新日期 原因" in refused[0]["text"]
    missing = await room.say("u_zhangmin", "变更 XZB20261101 截止 12月18日")
    assert "变更原因" in missing[0]["text"]


async def test_two_heads_answering_at_once_apply_the_change_once(room: Room, any_db: Database) -> None:
    await collaborate(room)
    _, first, second = await room.say("u_zhangmin", "变更 XZB20261101 目标 完成全套物料并投放 原因 加投放")

    async def press(user: str, card: dict[str, Any], n: int) -> dict[str, Any]:
        response = await room.client.post("/console/api/actions", json={
            "chat_id": CHAT, "user_id": user, "message_id": card["id"], "value": buttons(card)["同意"]["value"],
            "click_id": f"together-{user}-{n}",
        })
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result

    results = await asyncio.gather(*(press(u, c, n) for n in range(5)
                                     for u, c in (("u_lina", first), ("u_wangqiang", second))))
    await settle(room.services)
    toasts = [r["toast"]["content"] for r in results]
    assert toasts.count("已同意") == 2, toasts
    assert len(await events(any_db, "change_applied")) == 1
    assert (await task(any_db, "XZB20261101")).objective == "完成全套物料并投放"
    async with any_db.session() as session:
        states = [d.outcome for d in (await session.execute(
            select(Decision).where(Decision.kind == "change"))).scalars()]
    assert states == ["approve", "approve"]
