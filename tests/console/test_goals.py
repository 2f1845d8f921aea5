"""A goal tree three levels deep with a known roll-up, through the console on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from bot.clock import FrozenClock
from storage.db import Database
from tests.console.test_organisation import Chat, card_text
from tests.support import start_app


async def test_a_three_level_goal_tree_rolls_up_as_documented(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    chat = Chat(client, services)
    assert "已新建目标 O2026001" in card_text(await chat.say("u_zhangmin", "目标 Q4新品上市 截止 12月31日"))
    stage = card_text(await chat.say("u_zhangmin", "阶段目标 O2026001 物料准备 截止 12月15日 负责人 @李娜"))
    assert "已新建阶段目标 O2026001-S1" in stage
    await chat.say("u_zhangmin", "KR O2026001 新品曝光量 目标值 100万次 当前 20万次")
    await chat.say("u_zhangmin", "KR O2026001-S1 海报数量 目标值 4张")
    await chat.say("u_zhangmin", "新建任务 海报设计 负责人 @赵磊 截止 12月10日")
    await chat.say("u_zhangmin", "子任务 XZB20261101 海报A")
    await chat.say("u_zhangmin", "子任务 XZB20261101 海报B")
    linked = card_text(await chat.say("u_zhaolei", "关联 XZB20261101 O2026001-S1"))
    assert "已关联到阶段目标 O2026001-S1 物料准备" in linked
    await chat.say("u_zhaolei", "完成 XZB20261101-01")
    await chat.say("u_zhaolei", "进度 XZB20261101-02 50%")
    updated = card_text(await chat.say("u_zhangmin", "KR进度 O2026001-S1-KR1 3"))
    assert "当前值已更新为 3张" in updated

    tree = card_text(await chat.say("u_liuyang", "目标树 O2026001"))
    # Task: mean of its subtasks (100, 50) = 75. Stage KR: 3/4 = 75. Stage: mean(75, 75) = 75.
    # Goal KR: 20/100 = 20. Goal: mean(KR 20, stage 75) = 47.5, shown rounded.
    assert "目标 O2026001 Q4新品上市**　张敏 · 48%" in tree
    assert "阶段目标 O2026001-S1 物料准备**　李娜 · 75%" in tree
    assert "O2026001-KR1 新品曝光量　20/100万次 · 20%" in tree
    assert "O2026001-S1-KR1 海报数量　3/4张 · 75%" in tree
    assert "XZB20261101 海报设计　赵磊 · 进行中 75%" in tree
    assert "XZB20261101-01 海报A" in tree and "XZB20261101-02 海报B" in tree

    timeline = card_text(await chat.say("u_zhangmin", "任务 XZB20261101"))
    assert "关联到阶段目标 O2026001-S1 物料准备" in timeline


async def test_goal_refusals_name_the_fix(aiohttp_client: Any, sqlite_db: Database, clock: FrozenClock) -> None:
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    chat = Chat(client, services)
    await chat.say("u_zhangmin", "目标 Q4新品上市 截止 12月31日")
    await chat.say("u_zhangmin", "KR O2026001 新品曝光量 目标值 100万次")
    assert "只有目标 O2026001 的负责人、发起人或管理员" in (
        await chat.say("u_liuyang", "KR进度 O2026001-KR1 50"))["text"]
    assert "找不到目标 O2026009" in (await chat.say("u_zhangmin", "目标树 O2026009"))["text"]
    assert "目标编号像 O2026001" in (await chat.say("u_zhangmin", "阶段目标 物料准备"))["text"]
    assert "目标值" in (await chat.say("u_zhangmin", "KR O2026001 新品曝光量"))["text"]
    await chat.say("u_zhangmin", "新建任务 海报设计 负责人 @赵磊 截止 12月10日")
    assert "只有负责人、发起人或审批人" in (await chat.say("u_liuyang", "关联 XZB20261101 O2026001"))["text"]
    assert "已关联到目标 O2026001" in card_text(await chat.say("u_zhangmin", "关联 XZB20261101 O2026001"))
    await chat.say("u_zhangmin", "阶段目标 O2026001 物料准备")
    assert "阶段目标请加在总目标下" in (await chat.say("u_zhangmin", "阶段目标 O2026001-S1 细分"))["text"]
