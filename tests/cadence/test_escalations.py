"""Decision clocks and late tasks escalate: a reminder at the deadline, the superior one period later.

Each at its instant and not a minute before, once, and never outside working hours.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import Database
from storage.tables import TaskEvent
from tests.support import settle
from tests.workflows.conftest import Room, organise

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


class Sweeper:
    def __init__(self, room: Room) -> None:
        self.room = room

    async def __call__(self, when: datetime, sweep: str = "escalations") -> list[str]:
        """Run the named sweep at `when`; the texts it posted."""
        before = max((m["seq"] for m in await self.room.history()), default=0)
        self.room.services.clock.set(when)
        done = await self.room.services.sweeps.sweeps[sweep].run(when)
        await settle(self.room.services)
        posted = [m for m in await self.room.history() if m["seq"] > before and m["sender"]["is_bot"]]
        assert done == len(posted), (done, posted)
        return [m["text"] or m["card"]["elements"][0]["content"] for m in posted]


async def meet(room: Room, *users: str) -> None:
    """People use the bot once, so the directory has filled in their superiors."""
    for user in users:
        await room.say(user, "我的任务")


async def test_a_collaboration_request_is_reminded_then_escalated(room: Room) -> None:
    await organise(room)
    await meet(room, "u_lina")
    await room.say("u_zhangmin", "发起协作 Q4物料 部门 设计部 截止 12月15日 背景 新品上市 目标 全套物料")
    sweep = Sweeper(room)
    assert await sweep(at(25, 17, 59)) == []            # due Wednesday 18:00
    assert await sweep(at(25, 18, 0)) == []             # past due, but after working hours
    reminded = await sweep(at(26, 9, 0))                # Thursday's working start
    assert len(reminded) == 1 and "请 @李娜 尽快处理" in reminded[0] and "协作请求" in reminded[0]
    assert "11月27日 18:00 前仍未答复将升级给上级" in reminded[0]
    assert await sweep(at(26, 9, 0)) == []              # the same instant again
    assert await sweep(at(27, 17, 59)) == []            # not before the second period ends
    assert await sweep(at(28, 10, 0)) == []             # Saturday: quiet
    escalated = await sweep(at(30, 9, 0))
    assert len(escalated) == 1 and "升级" in escalated[0]
    assert "请其上级 @周杰 协调处理" in escalated[0] and "@张敏 知悉" in escalated[0]
    assert await sweep(at(30, 10, 0)) == []


async def test_a_blocker_after_24_hours_and_its_escalation_after_another_24(room: Room) -> None:
    await meet(room, "u_zhangmin", "u_wangqiang")
    await room.say("u_zhangmin", "新建任务 Q4短视频 负责人 @赵磊 截止 12月15日")
    await room.say("u_zhaolei", "卡点 XZB20261101 素材版权未确认 需要 @王强")
    await room.say("u_zhaolei", "卡点 XZB20261101 字体未授权 需要 @王强")
    await room.say("u_wangqiang", "已知悉 XZB20261101 #2")  # acknowledged: its clock has stopped
    sweep = Sweeper(room)
    assert await sweep(at(24, 9, 59)) == []
    reminded = await sweep(at(24, 10, 0))
    assert len(reminded) == 1 and "卡点 #1" in reminded[0] and "@王强" in reminded[0]
    assert await sweep(at(25, 9, 59)) == []
    escalated = await sweep(at(25, 10, 0))
    assert len(escalated) == 1 and "@周杰" in escalated[0] and "@赵磊 知悉" in escalated[0]


async def test_a_high_risk_escalates_at_the_next_working_start(room: Room) -> None:
    await meet(room, "u_zhangmin")
    await room.say("u_zhangmin", "新建任务 Q4短视频 负责人 @赵磊 截止 12月15日")
    await room.say("u_zhaolei", "风险 高 XZB20261101 供应商可能延期 影响 海报延期3天 建议 启用备选")
    sweep = Sweeper(room)
    assert await sweep(at(23, 13, 59)) == []
    assert "请 @张敏 尽快处理" in (await sweep(at(23, 14, 0)))[0]
    assert await sweep(at(23, 17, 59)) == []
    assert await sweep(at(23, 18, 0)) == []             # 18:00 is its escalation, but quiet hours
    escalated = await sweep(at(24, 9, 0))
    assert len(escalated) == 1 and "请其上级 @周杰 协调处理" in escalated[0]


async def test_a_decision_answered_in_time_is_never_chased(room: Room) -> None:
    await meet(room, "u_zhangmin")
    await room.say("u_zhangmin", "新建任务 Q4短视频 负责人 @赵磊 截止 12月15日")
    await room.say("u_zhaolei", "风险 高 XZB20261101 供应商可能延期 影响 海报延期3天 建议 启用备选")
    await room.say("u_zhangmin", "已解决 XZB20261101 方案 已换供应商")
    sweep = Sweeper(room)
    assert await sweep(at(23, 15, 0)) == [] and await sweep(at(24, 10, 0)) == []


async def test_a_late_task_asks_for_a_reason_and_is_escalated_after_two_working_days(
    room: Room, any_db: Database,
) -> None:
    await meet(room, "u_zhaolei")
    await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 今天 审批人 @王强")
    sweep = Sweeper(room)
    first = await sweep(at(24, 10, 0), "due_alerts")
    assert len(first) == 1 and "延期原因 XZB20261101" in first[0] and "@赵磊" in first[0]
    said = await room.say("u_zhaolei", "延期原因 XZB20261101 素材未到")
    assert "已记录任务 XZB20261101 的延期原因：素材未到" in said[0]["text"]
    second = await sweep(at(25, 10, 0), "due_alerts")   # two working days late (Tuesday, Wednesday)
    assert len(second) == 2
    escalation = next(t for t in second if "🔺" in t)
    assert "已延期 2 个工作日" in escalation and "负责人说明：素材未到" in escalation
    assert "@王强" in escalation and "@李娜" in escalation
    third = await sweep(at(26, 10, 0), "due_alerts")
    assert len(third) == 1 and "🔺" not in third[0]     # the escalation is sent once
    async with any_db.session() as session:
        kinds = [e.kind for e in (await session.execute(select(TaskEvent))).scalars()]
    assert "delay_reason" in kinds


async def test_a_late_task_with_a_new_date_asks_for_a_change(room: Room) -> None:
    await meet(room, "u_zhaolei")
    await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 今天")
    room.services.clock.set(at(24, 10, 0))
    said = await room.say("u_zhaolei", "延期原因 XZB20261101 素材未到 新截止 周五")
    text = "\n".join((m["text"] or "") + str(m["card"]) for m in said)
    assert "已记录任务 XZB20261101 的延期原因" in text and "变更" in text
