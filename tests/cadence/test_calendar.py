"""The team calendar per tenant: 假期, 调休, 日历, 请假 and 销假, and every working-day clock following it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import CalendarDay, Leave
from tests.workflows.conftest import Room, card_text, organise

REQUEST = ("发起协作 Q4新品宣传物料 部门 设计部 截止 12月15日 背景 新品12月20日上市 "
           "目标 完成全套宣传物料")


async def test_only_admins_change_the_calendar_and_it_is_kept(room: Room, any_db: Database) -> None:
    await room.say("u_zhangmin", "组织")  # 张敏 comes first: the tenant's admin
    refused = await room.say("u_zhaolei", "假期 12月31日 年会")
    assert "只有管理员可以修改公司日历" in refused[0]["text"] and "张敏" in refused[0]["text"]

    done = await room.say("u_zhangmin", "假期 12月31日 至 1月1日 年会")
    assert "12月31日–1月1日 为年会（共 2 天）" in done[0]["text"]
    extra = await room.say("u_zhangmin", "调休 12月26日")
    assert "12月26日（周六） 为工作日" in extra[0]["text"]
    already = await room.say("u_zhangmin", "调休 11月25日")
    assert "本来就是工作日" in already[0]["text"]

    month = card_text((await room.say("u_zhaolei", "日历 12月"))[0])
    assert "2026年12月 工作日历" in month and "12月31日（周四） 年会（本公司）" in month
    assert "12月26日（周六）（本公司）" in month
    # December 2026: 23 weekdays, minus the 31st, plus the Saturday 26th.
    assert "工作日:23 天" in month
    async with any_db.session() as session:
        days = {d.day: d.workday for d in (await session.execute(select(CalendarDay))).scalars()}
    assert days == {date(2026, 12, 31): False, date(2027, 1, 1): False, date(2026, 12, 26): True}

    bad = await room.say("u_zhangmin", "假期 2026-12-31 至 2026-12-01")
    assert "结束日期在开始日期之前" in bad[0]["text"]


async def test_the_national_calendar_shows_golden_week_and_its_makeup_saturday(room: Room) -> None:
    month = card_text((await room.say("u_zhangmin", "日历 2026年10月"))[0])
    assert "国庆节" in month and "10月10日（周六）" in month
    assert "调休安排尚未公布" not in month


async def test_a_year_without_makeup_data_works_and_admins_are_told_once(room: Room, clock: FrozenClock) -> None:
    await room.say("u_zhangmin", "组织")
    clock.set(datetime(2027, 3, 2, 2, 0, tzinfo=UTC))  # Tuesday 2027-03-02 10:00
    first = await room.say("u_zhangmin", "日历 2027年5月")
    assert "劳动节" in card_text(first[0]) and "2027年的调休安排尚未公布" in card_text(first[0])
    told = [m for m in first if m["text"] and "提示" in m["text"]]
    assert len(told) == 1 and "@张敏" in told[0]["text"] and "2027年的调休安排尚未公布" in told[0]["text"]
    again = await room.say("u_zhangmin", "日历")
    assert not [m for m in again if m["text"] and "提示" in m["text"]]
    # Deadlines in that year are still computed: statutory days and weekends are off.
    created = await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 3个工作日后")
    assert "截止:2027-03-05 18:00" in card_text(created[0])


async def test_working_day_clocks_follow_the_tenant_calendar(room: Room) -> None:
    await organise(room)
    await room.say("u_zhangmin", "假期 11月24日 至 11月25日 团建")
    posted = await room.say("u_zhangmin", REQUEST)
    # Monday 23rd: two working days, with Tuesday and Wednesday off, end on Friday.
    assert "回复时限:11月27日 18:00" in card_text(posted[1])
    created = await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 2个工作日后")
    assert "截止:2026-11-27 18:00" in card_text(created[0])


async def test_leave_is_recorded_by_the_person_their_superior_or_an_admin(room: Room, any_db: Database) -> None:
    await room.say("u_zhangmin", "组织")
    await room.say("u_zhaolei", "我的任务")  # 赵磊's superior (李娜) comes from the directory
    stranger = await room.say("u_liuyang", "请假 @赵磊 至 11月27日")
    assert "只有 赵磊 本人、其上级、部门负责人或管理员" in stranger[0]["text"]
    by_admin = await room.say("u_zhangmin", "请假 @赵磊 至 11月27日")
    assert "@赵磊 11月23日–27日 请假" in by_admin[0]["text"]
    own = await room.say("u_liuyang", "请假 11月25日 至 周五")
    assert "你 11月25日–27日 请假" in own[0]["text"]
    month = card_text((await room.say("u_liuyang", "日历"))[0])
    assert "赵磊 11月23日–27日" in month and "刘洋 11月25日–27日" in month

    back = await room.say("u_zhaolei", "销假")
    assert "已销假" in back[0]["text"]
    assert "目前没有请假" in (await room.say("u_zhaolei", "销假"))[0]["text"]
    async with any_db.session() as session:
        leaves = list((await session.execute(select(Leave))).scalars())
    # 赵磊's leave started today: it is gone; 刘洋's is untouched.
    assert [(leave.start_day, leave.end_day) for leave in leaves] == [(date(2026, 11, 25), date(2026, 11, 27))]
    past = await room.say("u_liuyang", "请假 至 昨天")
    assert "结束日期在开始日期之前" in past[0]["text"]


async def _sweep(room: Room, at: datetime) -> dict[str, int]:
    from tests.support import settle

    room.services.clock.set(at)
    done: dict[str, int] = await room.services.sweeps.run(at)
    await settle(room.services)
    return done


def _shanghai(y: int, m: int, d: int, hour: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, m, d, hour, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_due_alerts_keep_national_holidays_and_makeup_saturdays(room: Room, clock: FrozenClock) -> None:
    clock.set(_shanghai(2026, 9, 28, 10))
    await room.say("u_zhangmin", "新建任务 国庆海报 负责人 @赵磊 截止 9月30日")
    assert (await _sweep(room, _shanghai(2026, 10, 1, 10)))["due_alerts"] == 0   # 国庆节: nothing sent
    # Friday 9th: overdue, and late two working days (the 8th and 9th): escalated too.
    assert (await _sweep(room, _shanghai(2026, 10, 9, 10)))["due_alerts"] == 2
    assert (await _sweep(room, _shanghai(2026, 10, 10, 10)))["due_alerts"] == 1  # the make-up Saturday


async def test_due_alerts_follow_the_tenants_own_days(room: Room) -> None:
    await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 11月24日")
    await room.say("u_zhangmin", "假期 11月25日 年会")
    await room.say("u_zhangmin", "调休 11月28日")
    assert (await _sweep(room, _shanghai(2026, 11, 25, 10)))["due_alerts"] == 0  # the company's day off
    # Its extra Saturday: overdue, and late three working days (26th, 27th, 28th): escalated too.
    assert (await _sweep(room, _shanghai(2026, 11, 28, 10)))["due_alerts"] == 2
