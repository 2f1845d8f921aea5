"""Grammar polish as a new user meets it in the chat (console, real app)."""

from __future__ import annotations

from typing import Any

from bot.clock import FrozenClock
from storage.db import Database
from tests.console.test_organisation import Chat, card_text
from tests.support import start_app


async def test_replies_a_newcomer_gets(aiohttp_client: Any, sqlite_db: Database, clock: FrozenClock) -> None:
    client, services = await start_app(aiohttp_client, sqlite_db, clock)  # Monday 2026-11-23
    chat = Chat(client, services)

    next_year = card_text(await chat.say("u_zhangmin", "新建任务 年会筹备 负责人@刘洋 截止10月15日 优先级高"))
    assert "截止时间按明年 2027年10月15日 计算" in next_year
    assert "负责人:刘洋" in next_year

    past = await chat.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 昨天")
    assert "已经过去了" in past["text"]

    await chat.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 周五")
    listing = card_text(await chat.say("u_zhangmin", "本群任务"))
    assert listing.index("XZB20261102") < listing.index("XZB20261101")  # by deadline: Friday first
    assert "2027年10月15日" in listing and "2026年" not in listing

    full = card_text(await chat.say("u_zhaolei", "进度 XZB20261102 100%"))
    assert "请点「完成」或发送：完成 XZB20261102" in full
    done = card_text(await chat.say("u_zhaolei", "完成 XZB20261102"))
    assert "更新进度" not in done

    both = await chat.say("u_zhaolei", "完成 XZB20261101 XZB20261102")
    assert "一次只能完成一个任务" in both["text"]
    assert "/" not in both["text"]
    english = await chat.say("u_zhaolei", "new task Launch owner @nobody")
    assert "missing" in english["text"]
    unknown = await chat.say("u_zhangmin", "新建任务 海报 负责人 @不存在的人 截止 周五")
    assert "找不到成员「不存在的人」" in unknown["text"] and "负责人 @不存在的人" not in unknown["text"]

    await chat.say("u_zhangmin", "子任务 XZB20261101 一级")
    await chat.say("u_zhangmin", "子任务 XZB20261101-01 二级")
    deep = await chat.say("u_zhangmin", "子任务 XZB20261101-01-01 三级")
    assert "子任务最多 3 层" in deep["text"]
