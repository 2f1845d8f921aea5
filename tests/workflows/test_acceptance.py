"""成果验收: the reviewer the policy names, 不通过 with comments, 通过 completes and rolls up."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.tables import TaskEvent
from tests.support import settle
from tests.workflows.conftest import CHAT, Room, buttons, card_text
from tests.workflows.test_changes import collaborate, task

SUBMIT = "提交验收 XZB20261101-02 交付物 https://pan.example.com/q4-video 自检 2条短视频均按交付标准完成"


async def test_a_part_is_returned_then_accepted_and_the_request_rolls_up(room: Room, any_db: Database) -> None:
    await collaborate(room)
    card = (await room.say("u_chenjing", SUBMIT))[0]
    text = card_text(card)
    # Across departments the requesting side (市场部, head 张敏) accepts; the standard sits next to the deliverable.
    assert "已提交验收，状态：待验收" in text and "请 @张敏" in text
    assert "交付标准**：3张海报和2条短视频" in text and "pan.example.com/q4-video" in text
    assert (await task(any_db, "XZB20261101-02")).status == "in_review"
    assert "已在验收中" in (await room.say("u_chenjing", SUBMIT))[0]["text"]

    asked = await room.press("u_zhangmin", card, "不通过")
    assert "不通过需要写明意见" in asked["toast"]["content"]
    returned = await room.say("u_zhangmin", "不通过 XZB20261101-02 意见 第二条视频时长超过30秒")
    assert "结果：不通过" in card_text(returned[0]) and "第二条视频时长超过30秒" in card_text(returned[0])
    assert (await task(any_db, "XZB20261101-02")).status == "in_progress"
    told = [m["text"] for m in await room.history() if m["text"] and "验收未通过" in m["text"]]
    assert told and "@陈静" in told[0]

    again = (await room.say("u_chenjing", SUBMIT))[0]
    assert "验收 #2" in card_text(again)
    passed = await room.press("u_zhangmin", again, "通过")
    assert passed["toast"]["content"] == "已通过"
    assert not buttons(await room.message(again["id"]))
    part = await task(any_db, "XZB20261101-02")
    assert part.status == "done" and part.progress == 100
    assert (await task(any_db, "XZB20261101")).progress == 50
    assert any("验收通过，已完成" in (m["text"] or "") for m in await room.history())


async def test_who_reviews_and_a_double_click_completes_once(room: Room, any_db: Database) -> None:
    await room.say("u_zhangmin", "新建任务 海报终稿 负责人 @刘洋 截止 12月10日")
    card = (await room.say("u_liuyang", "提交验收 XZB20261101 交付物 海报终稿.psd 自检 已按品牌规范检查"))[0]
    assert "请 @张敏" in card_text(card)
    stranger = await room.press("u_liuyang", card, "通过")
    assert "只有 张敏 可以处理" in stranger["toast"]["content"]

    async def press(n: int) -> dict[str, Any]:
        response = await room.client.post("/console/api/actions", json={
            "chat_id": CHAT, "user_id": "u_zhangmin", "message_id": card["id"],
            "value": buttons(card)["通过"]["value"], "click_id": f"double-{n}",
        })
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result

    results = await asyncio.gather(*(press(n) for n in range(8)))
    await settle(room.services)
    assert [r["toast"]["content"] for r in results].count("已通过") == 1
    async with any_db.session() as session:
        done = (await session.execute(select(TaskEvent).where(TaskEvent.kind == "completed"))).scalars().all()
    assert len(done) == 1

    # With an approver, the approver reviews; reviewing your own work goes to your superior.
    await room.say("u_zhangmin", "新建任务 投放方案 负责人 @张敏 截止 12月12日")
    own = (await room.say("u_zhangmin", "提交验收 XZB20261102 交付物 方案.pdf 自检 已完成"))[0]
    assert "请 @周杰" in card_text(own)
    await room.say("u_zhangmin", "新建任务 物料清单 负责人 @刘洋 截止 12月12日 审批人 @王强")
    approver = (await room.say("u_liuyang", "提交验收 XZB20261103 交付物 清单.xlsx 自检 已核对"))[0]
    assert "请 @王强" in card_text(approver)
    missing = await room.say("u_liuyang", "提交验收 XZB20261103 交付物 清单.xlsx")
    assert "交付物和自检情况" in missing[0]["text"]
