"""`tuijin demo` tells the seed's story: decided requests, a resolved blocker, a change, an acceptance."""

from __future__ import annotations

from bot.clock import FrozenClock
from bot.demo import load_demo
from storage.db import Database
from tests.support import make_settings
from tests.workflows.conftest import Room, card_text


async def test_the_demo_shows_the_decisions_of_the_seed(room: Room, any_db: Database, clock: FrozenClock) -> None:
    assert await load_demo(any_db, make_settings(), clock)
    collab = card_text((await room.say("u_zhangmin", "协作 XZB20231001"))[0])
    assert "设计部（李娜）:✅ 已接受 · XZB20231001-01 由 赵磊 负责" in collab
    assert "品牌部（王强）:✅ 已接受 · XZB20231001-02 由 陈静 负责" in collab
    issues = card_text((await room.say("u_zhaolei", "问题 XZB20231001-01"))[0])
    assert "卡点 #1" in issues and "已与版权方签署授权" in issues
    detail = card_text((await room.say("u_zhangmin", "任务 XZB20231001"))[0])
    assert "变更 #1 全员同意" in detail and "57%" in detail
    assert "已完成" in card_text((await room.say("u_chenjing", "任务 XZB20231001-02"))[0])
    # The story is history: nothing waits on anyone, and a fresh request still works beside it.
    assert "没有等你处理的事项" in card_text((await room.say("u_lina", "待我处理"))[0])
    posted = await room.say("u_zhangmin", "发起协作 年会物料 部门 设计部 截止 12月20日 背景 年会 目标 主视觉")
    assert "请 @李娜 处理" in card_text(posted[-1])
