"""Decision clocks and late tasks escalate: a reminder at the deadline, the superior one period later.

Each at its instant and not a minute before, once, and never outside working hours.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import Database
from storage.tables import TaskEvent, User
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


# Leave (请假): nobody is asked who cannot act that day -------------------------------------------------


async def blocker_for_chenjing(room: Room) -> None:
    """赵磊 needs 陈静 (品牌部, superior 王强, superior's superior 周杰); 张敏 is the admin.

    Due Tuesday 24th 10:00, escalated Wednesday 25th 10:00."""
    await meet(room, "u_zhangmin", "u_chenjing", "u_wangqiang", "u_zhoujie", "u_liuyang")
    await room.say("u_zhangmin", "设置部门 品牌部 负责人 @王强")
    await room.say("u_zhangmin", "新建任务 Q4短视频 负责人 @赵磊 截止 12月15日")
    await room.say("u_zhaolei", "卡点 XZB20261101 素材版权未确认 需要 @陈静")


async def on_leave(room: Room, who: str, until: str = "11月27日", start: str = "11月23日") -> None:
    said = await room.say("u_zhangmin", f"请假 @{who} {start} 至 {until}")
    assert said[0]["text"].startswith("已登记"), said
    assert "只有" not in said[0]["text"] and "例如" not in said[0]["text"], said


async def test_a_superior_on_leave_is_passed_over_for_the_next_one_up(room: Room) -> None:
    await blocker_for_chenjing(room)
    await on_leave(room, "王强")
    sweep = Sweeper(room)
    reminded = await sweep(at(24, 10, 0))
    assert "请 @陈静 尽快处理" in reminded[0] and "请假" not in reminded[0]
    # 陈静 is at work: only she may hand it over, not the person who asked.
    assert "这件事要由 陈静 处理" in (await room.say("u_zhaolei", "转交 XZB20261101 @王强"))[0]["text"]
    escalated = await sweep(at(25, 10, 0))
    assert len(escalated) == 1
    assert "请其上级 @周杰 协调处理（王强 请假中，已转给 周杰）" in escalated[0]
    assert "@王强" not in escalated[0] and "@赵磊 知悉" in escalated[0]
    assert await sweep(at(25, 11, 0)) == []           # claimed once


async def test_a_whole_chain_on_leave_goes_to_the_department_head(room: Room) -> None:
    await blocker_for_chenjing(room)
    await room.say("u_zhangmin", "设置上级 @陈静 @刘洋")    # 陈静 → 刘洋 → 张敏 → 周杰; her head is 王强
    for person in ("刘洋", "张敏", "周杰"):
        await on_leave(room, person)
    escalated = await Sweeper(room)(at(25, 10, 0))
    assert "请部门负责人 @王强 协调处理（刘洋、张敏、周杰 请假中，已转给 部门负责人 王强）" in escalated[0]


async def test_with_the_chain_and_the_head_on_leave_the_admins_are_asked(room: Room) -> None:
    await blocker_for_chenjing(room)
    await room.say("u_zhangmin", "设置管理员 @李娜")
    for person in ("王强", "周杰", "张敏"):
        await on_leave(room, person)
    escalated = await Sweeper(room)(at(25, 10, 0))
    # 王强 is her superior and her head: passed over once; 张敏, an admin on leave, is not asked.
    assert "请管理员 @李娜 协调处理（王强、周杰 请假中，已转给 管理员 李娜）" in escalated[0]
    assert "@张敏" not in escalated[0]


async def test_with_everyone_on_leave_the_asker_is_told_plainly(room: Room) -> None:
    await blocker_for_chenjing(room)
    for person in ("王强", "周杰", "张敏"):
        await on_leave(room, person)
    escalated = await Sweeper(room)(at(25, 10, 0))
    assert len(escalated) == 1 and "🔺" in escalated[0]
    assert "王强 请假至 11月27日、周杰 请假至 11月27日，部门负责人和管理员也都不在，暂时没有人可以接手" in escalated[0]
    assert "@赵磊 请另找人协调" in escalated[0]
    assert "@王强" not in escalated[0] and "@周杰" not in escalated[0]


async def test_leave_ended_by_xiaojia_or_past_changes_nothing(room: Room) -> None:
    await blocker_for_chenjing(room)
    await on_leave(room, "王强")
    room.services.clock.set(at(24, 12, 0))
    said = await room.say("u_zhangmin", "销假 @王强")      # back on the 24th: away only on the 23rd
    assert "销假" in said[0]["text"] or "已" in said[0]["text"], said
    escalated = await Sweeper(room)(at(25, 10, 0))
    assert "请其上级 @王强 协调处理。" in escalated[0] and "请假" not in escalated[0]


async def test_a_leave_that_ended_before_the_day_is_no_leave(room: Room) -> None:
    await blocker_for_chenjing(room)
    await on_leave(room, "王强", until="11月24日")
    escalated = await Sweeper(room)(at(25, 10, 0))
    assert "请其上级 @王强 协调处理。" in escalated[0] and "请假" not in escalated[0]


async def test_cyclic_leader_links_end_the_walk(room: Room, any_db: Database) -> None:
    await blocker_for_chenjing(room)
    for person in ("王强", "周杰"):
        await on_leave(room, person)
    # 设置上级 refuses loops, but a directory can still send one: 王强 → 周杰 → 王强.
    async with any_db.transaction() as session:
        users = {u.platform_user_id: u for u in (await session.execute(select(User))).scalars()}
        users["u_zhoujie"].leader_user_id = users["u_wangqiang"].id
    escalated = await Sweeper(room)(at(25, 10, 0))
    assert "请管理员 @张敏 协调处理（王强、周杰 请假中，已转给 管理员 张敏）" in escalated[0]


async def test_a_decider_on_leave_is_reminded_to_the_asker_who_may_hand_it_over(room: Room) -> None:
    await blocker_for_chenjing(room)
    await on_leave(room, "陈静")
    sweep = Sweeper(room)
    reminded = await sweep(at(24, 10, 0))
    assert len(reminded) == 1
    assert "但 陈静 请假中（至 11月27日）" in reminded[0] and "@陈静" not in reminded[0]
    assert "@赵磊 可发送「转交 XZB20261101 @某人」交给其他人处理" in reminded[0]
    assert "11月25日 10:00 前仍未答复将升级给 王强" in reminded[0]
    refused = await room.say("u_liuyang", "转交 XZB20261101 @陈静")
    assert "这件事要由 陈静 处理" in refused[0]["text"]
    handed = await room.say("u_zhaolei", "转交 XZB20261101 @王强")
    assert any("已转交给 王强" in (m["text"] or str(m["card"])) for m in handed), handed
    # 王强 now holds it with a whole window of his own (24 h from the hand-over): reminded at its
    # end, escalated to his superior one window later, never at the old deadline's steps.
    assert await sweep(at(24, 17, 0)) == []
    reminded = await sweep(at(25, 10, 0))
    assert len(reminded) == 1 and "请 @王强 尽快处理" in reminded[0], reminded
    assert "11月26日 10:00 前仍未答复将升级给上级" in reminded[0]
    escalated = await sweep(at(26, 10, 0))
    assert "王强 超时未答复，请其上级 @周杰 协调处理。" in escalated[0]


async def test_a_head_on_leave_at_a_collaboration_reminder(room: Room) -> None:
    await organise(room)
    await meet(room, "u_lina", "u_zhoujie")
    await room.say("u_zhangmin", "发起协作 Q4物料 部门 设计部 截止 12月15日 背景 新品上市 目标 全套物料")
    await on_leave(room, "李娜", until="11月30日")
    reminded = await Sweeper(room)(at(26, 9, 0))
    assert "但 李娜 请假中（至 11月30日）" in reminded[0]
    assert "@张敏 可发送「转交 XZB20261101 @某人」交给其他人处理" in reminded[0]
    assert "11月27日 18:00 前仍未答复将升级给 周杰" in reminded[0]
    escalated = await Sweeper(room)(at(30, 9, 0))
    assert "李娜（请假至 11月30日） 超时未答复，请其上级 @周杰 协调处理。" in escalated[0]


async def test_a_late_task_whose_owners_superior_is_on_leave_goes_one_up(room: Room) -> None:
    await meet(room, "u_zhangmin", "u_zhaolei", "u_lina", "u_zhoujie")
    await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 今天 审批人 @王强")
    await on_leave(room, "李娜")
    sweep = Sweeper(room)
    await sweep(at(24, 10, 0), "due_alerts")
    escalation = next(t for t in await sweep(at(25, 10, 0), "due_alerts") if "🔺" in t)
    assert "请 @王强、@周杰（李娜 请假中，已转给 周杰） 关注并协调" in escalation


async def test_a_late_task_with_its_approver_and_chain_on_leave(room: Room) -> None:
    await meet(room, "u_zhangmin", "u_zhaolei", "u_lina", "u_zhoujie", "u_wangqiang")
    await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 今天 审批人 @王强")
    await on_leave(room, "王强")
    await on_leave(room, "李娜")
    sweep = Sweeper(room)
    await sweep(at(24, 10, 0), "due_alerts")
    escalation = next(t for t in await sweep(at(25, 10, 0), "due_alerts") if "🔺" in t)
    assert "请 @周杰（审批人 王强 请假中；李娜 请假中，已转给 周杰） 关注并协调" in escalation
    for person in ("周杰", "张敏"):
        await on_leave(room, person, start="今天")
    await room.say("u_zhangmin", "截止 XZB20261101 今天")  # a new due date: a new escalation
    await sweep(at(25, 11, 0), "due_alerts")
    late = [t for t in await sweep(at(27, 10, 0), "due_alerts") if "🔺" in t]
    assert late and "暂时没有人可以接手，请 @张敏 另找人跟进" in late[0]
    assert "@周杰" not in late[0] and "@王强" not in late[0]
