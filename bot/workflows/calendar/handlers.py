"""假期, 调休, 日历, 请假 and 销假."""

from __future__ import annotations

import calendar as monthly
from datetime import date
from zoneinfo import ZoneInfo

from bot.engine.people import mention
from bot.engine.task_views import display_name
from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.calendar.cards import day_label, month_card, span_label
from bot.workflows.calendar.commands import (
    EndLeave,
    SetHoliday,
    SetTimezone,
    SetWorkday,
    ShowCalendar,
    TakeLeave,
)
from bot.workflows.calendar.service import CalendarService

router = Router("calendar")


@router.command(SetHoliday)
async def set_holiday(command: SetHoliday, scope: Scope) -> Reply:
    days = await CalendarService(scope).set_holiday(command)
    name = command.name or "假期"
    return Reply(text=f"已设置：{span_label(days[0], days[-1])} 为{name}（共 {len(days)} 天），"
                      "这些天不发提醒、不计入答复时限。")


@router.command(SetWorkday)
async def set_workday(command: SetWorkday, scope: Scope) -> Reply:
    changed = await CalendarService(scope).set_workday(command)
    if not changed:
        return Reply(text=f"{day_label(command.day)} 本来就是工作日，无需调休。")
    return Reply(text=f"已设置：{span_label(command.day, command.day)} 为工作日（{command.name or '调休上班'}）。")


@router.command(ShowCalendar)
async def show_calendar(command: ShowCalendar, scope: Scope) -> Reply:
    today = scope.clock.now().astimezone(ZoneInfo(scope.timezone)).date()
    month = command.month or today.month
    year = command.year or (today.year + 1 if command.month and command.month < today.month - 6 else today.year)
    first, last = date(year, month, 1), date(year, month, monthly.monthrange(year, month)[1])
    leaves = await CalendarService(scope).leave_in(first, last)
    return Reply(card=month_card(scope.calendar, year, month, leaves))


@router.command(TakeLeave)
async def take_leave(command: TakeLeave, scope: Scope) -> Reply:
    view = await CalendarService(scope).take_leave(command)
    who = "你" if view.person.id == scope.user.id else mention(view.person)
    them = "你" if who == "你" else "他"
    return Reply(text=f"已登记：{who} {span_label(view.start, view.end)} 请假。这期间站会不会催{them}，"
                      "汇总里标为请假。回来后发送「销假」。")


@router.command(EndLeave)
async def end_leave(command: EndLeave, scope: Scope) -> Reply:
    person, ended = await CalendarService(scope).end_leave(command)
    name = "你" if person.id == scope.user.id else display_name(person)
    if not ended:
        return Reply(text=f"{name}目前没有请假。")
    return Reply(text=f"已销假：{name}今天起照常参加站会和提醒。")


@router.command(SetTimezone)
async def set_timezone(command: SetTimezone, scope: Scope) -> Reply:
    if command.timezone is None:
        local = scope.clock.now().astimezone(ZoneInfo(scope.timezone))
        return Reply(text=f"本群时区：{scope.timezone}（当地时间 {local:%m月%d日 %H:%M}）。"
                          "管理员可发送「时区 伦敦」或「时区 Europe/London」修改。")
    changed = await CalendarService(scope).set_timezone(command)
    local = scope.clock.now().astimezone(ZoneInfo(command.timezone))
    if not changed:
        return Reply(text=f"本群时区已经是 {command.timezone}（当地时间 {local:%H:%M}）。")
    return Reply(text=f"已将本群时区设为 {command.timezone}（当地时间 {local:%m月%d日 %H:%M}）。"
                      "站会、到期提醒、周报和月报都按这个时区的时间发送。")
