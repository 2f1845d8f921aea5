"""The daily stand-up: prompt on working days, answers, reminder of the missing, summary; once each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import Decision, Standup
from tests.support import settle
from tests.workflows.conftest import Room, card_text

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def sweep(room: Room, when: datetime) -> list[dict[str, Any]]:
    before = max((m["seq"] for m in await room.history()), default=0)
    room.services.clock.set(when)
    done = await room.services.sweeps.sweeps["standups"].run(when)
    await settle(room.services)
    posted = [m for m in await room.history() if m["seq"] > before and m["sender"]["is_bot"]]
    assert done == len(posted), (done, posted)
    return posted


def text_of(message: dict[str, Any]) -> str:
    return str(message["text"]) if message["text"] else card_text(message)


async def set_up(room: Room) -> None:
    await room.say("u_zhangmin", "新建任务 海报设计 负责人 @赵磊 截止 12月15日")
    await room.say("u_zhangmin", "新建任务 短视频 负责人 @陈静 截止 12月15日")
    assert "已设置" in (await room.say("u_zhangmin", "站会 时间 09:30"))[0]["text"]
    await room.say("u_zhangmin", "站会 成员 @赵磊 @陈静 @刘洋")
    await room.say("u_zhangmin", "站会 提醒 10:30")
    described = await room.say("u_zhangmin", "站会 汇总 11:00")
    assert "09:30 提问，10:30 提醒未回答的人，11:00 汇总" in described[0]["text"]
    assert "赵磊、陈静、刘洋" in described[0]["text"]


async def test_a_working_day_prompt_reminder_and_summary(room: Room, any_db: Database) -> None:
    await set_up(room)
    await room.say("u_liuyang", "请假 至 11月27日")
    assert await sweep(room, local(11, 24, 9, 29)) == []
    prompt = await sweep(room, local(11, 24, 9, 30))
    assert len(prompt) == 1 and "每日站会 · 11月24日（周二）" in text_of(prompt[0])
    assert "XZB20261101 海报设计（0%" in text_of(prompt[0]) and "刘洋**（请假）" in text_of(prompt[0])
    assert await sweep(room, local(11, 24, 9, 30)) == []     # the same instant twice: sent once

    answered = await room.say("u_zhaolei", "站会 昨天 完成海报初稿 今天 修改海报 障碍 无")
    assert "已记录 赵磊 的站会（11:00 汇总前可再次发送修改）" in answered[0]["text"]
    reminded = await sweep(room, local(11, 24, 10, 30))
    assert len(reminded) == 1 and "@陈静" in text_of(reminded[0])
    assert "@赵磊" not in text_of(reminded[0]) and "@刘洋" not in text_of(reminded[0])

    # 陈静 answers, then corrects herself: the blocker naming a task opens a 卡点 for its initiator.
    await room.say("u_chenjing", "站会 今天 剪辑")
    raised = await room.say("u_chenjing", "站会 昨天 写脚本 今天 剪辑 障碍 XZB20261102 素材未到")
    assert "障碍已上报为卡点 #1" in card_text(raised[0]) and "请 @张敏 处理" in card_text(raised[0])
    await room.say("u_chenjing", "站会 昨天 写脚本 今天 剪辑 障碍 XZB20261102 素材未到")  # no second 卡点

    summary = await sweep(room, local(11, 24, 11, 0))
    text = text_of(summary[0])
    assert "站会汇总 · 11月24日（周二）" in text and "补发" not in text
    assert "已回答:2/2" in text and "未回答:无" in text and "请假:刘洋" in text
    assert "今天：修改海报" in text and "昨天：写脚本" in text and "陈静：XZB20261102 素材未到" in text
    late = await room.say("u_zhaolei", "站会 今天 再改一版")
    assert "已经汇总" in late[0]["text"]
    async with any_db.session() as session:
        blockers = list((await session.execute(select(Decision))).scalars())
        standup = (await session.execute(select(Standup))).scalar_one()
    assert len(blockers) == 1 and blockers[0].kind == "blocker"
    assert standup.next_at == local(11, 25, 9, 30).astimezone(UTC)


async def test_holidays_make_up_days_and_quiet_weekends(room: Room, clock: FrozenClock) -> None:
    clock.set(local(9, 28, 10))
    await set_up(room)
    assert await sweep(room, local(10, 1, 9, 30)) == []      # 国庆节: nothing sent
    assert await sweep(room, local(10, 4, 9, 30)) == []      # a Sunday inside the holiday
    assert len(await sweep(room, local(10, 9, 9, 30))) == 1   # a working Friday
    assert await sweep(room, local(10, 9, 10, 30)) != []      # its reminder (nobody answered)
    assert len(await sweep(room, local(10, 9, 11, 0))) == 1   # and summary
    prompt = await sweep(room, local(10, 10, 9, 30))          # the make-up Saturday: sent
    assert len(prompt) == 1 and "10月10日（周六）" in text_of(prompt[0])
    assert await sweep(room, local(10, 11, 9, 30)) == []     # Sunday


async def test_a_late_sweep_skips_the_prompt_but_a_summary_is_sent_marked_late(room: Room) -> None:
    await set_up(room)
    # Down from 09:00 to 11:45: the prompt is 2 h 15 min late and skipped; nothing to sum up.
    assert await sweep(room, local(11, 24, 11, 45)) == []
    # The next day the prompt is sent; the service is down over the summary and back at 11:40.
    assert len(await sweep(room, local(11, 25, 9, 31))) == 1
    late = await sweep(room, local(11, 25, 11, 40))
    assert len(late) == 1 and "（补发）" in text_of(late[0])      # the reminder is folded away


async def test_a_2027_day_works_and_only_admins_configure(room: Room, clock: FrozenClock) -> None:
    await room.say("u_zhangmin", "组织")
    refused = await room.say("u_zhaolei", "站会 时间 09:30")
    assert "只有管理员可以设置站会" in refused[0]["text"]
    clock.set(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    await set_up(room)
    assert len(await sweep(room, local(3, 2, 9, 30, year=2027))) == 1
    assert await sweep(room, local(3, 6, 9, 30, year=2027)) == []  # a Saturday, no make-up data: off
    closed = await room.say("u_zhangmin", "站会 关闭")
    assert "已关闭" in closed[0]["text"]
    assert await sweep(room, local(3, 8, 9, 30, year=2027)) == []
    none = await room.say("u_zhaolei", "站会 今天 做海报")
    assert "没有开启站会" in none[0]["text"]


async def test_replaying_a_future_instant_leaves_the_days_before_it_due(room: Room, any_db: Database) -> None:
    await set_up(room)
    # `tuijin tick --at` Wednesday 09:30, run on Monday: Wednesday's prompt is sent now...
    assert await room.services.sweeps.sweeps["standups"].run(local(11, 25, 9, 30)) == 1
    async with any_db.session() as session:
        standup = (await session.execute(select(Standup))).scalar_one()
    # ...and what falls before it is still due at its time (today's 10:30 step comes first).
    assert standup.next_at == local(11, 23, 10, 30).astimezone(UTC)
    await settle(room.services)
    # Today's prompt, an hour late (within the 2 h grace), without a reminder in the same breath.
    today = await sweep(room, local(11, 23, 10, 30))
    assert len(today) == 1 and "11月23日（周一）" in text_of(today[0])
    assert len(await sweep(room, local(11, 24, 9, 30))) == 1


async def test_an_extra_working_saturday_set_on_friday_gets_its_stand_up(room: Room, clock: FrozenClock) -> None:
    await set_up(room)
    assert len(await sweep(room, local(11, 27, 11, 0))) == 2     # Friday: the prompt (late) and the summary
    clock.set(local(11, 27, 15, 0))
    await room.say("u_zhangmin", "调休 11月28日")
    prompt = await sweep(room, local(11, 28, 9, 30))
    assert len(prompt) == 1 and "11月28日（周六）" in text_of(prompt[0])
