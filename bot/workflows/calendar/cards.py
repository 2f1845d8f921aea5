"""The month view of the team calendar."""

from __future__ import annotations

import calendar as monthly
from datetime import date, timedelta

from bot.core import Card, Fields, Note, Text
from bot.engine.task_views import display_name
from bot.workdays import TeamCalendar
from bot.workflows.calendar.service import LeaveView

WEEKDAYS = "一二三四五六日"


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日"


def span_label(first: date, last: date) -> str:
    if first == last:
        return f"{day_label(first)}（周{WEEKDAYS[first.weekday()]}）"
    if first.month == last.month:
        return f"{day_label(first)}–{last.day}日"
    return f"{day_label(first)}–{day_label(last)}"


def unknown_year_note(year: int) -> str:
    return (f"{year}年的调休安排尚未公布：暂按法定节假日和周末计算。"
            "公布后管理员可用「调休 日期」和「假期 日期」补上。")


def month_card(calendar: TeamCalendar, year: int, month: int, leaves: list[LeaveView]) -> Card:
    first = date(year, month, 1)
    last = date(year, month, monthly.monthrange(year, month)[1])
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    working = [d for d in days if calendar.is_working_day(d)]
    # Holidays (not plain weekends), grouped into runs of one name.
    runs: list[tuple[date, date, str]] = []
    for day in days:
        name = calendar.day_off_name(day)
        if name is None or name == "周末":
            continue
        if runs and runs[-1][2] == name and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day, name)
        elif runs and runs[-1][2] == name and all(
            calendar.day_off_name(runs[-1][1] + timedelta(days=k)) is not None
            for k in range(1, (day - runs[-1][1]).days)
        ):
            runs[-1] = (runs[-1][0], day, name)
        else:
            runs.append((day, day, name))
    own_off = calendar.overrides.days_off
    holiday_lines = [f"{span_label(a, b)} {name}" + ("（本公司）" if a in own_off else "") for a, b, name in runs]
    makeup = [d for d in days if calendar.is_makeup_workday(d)]
    own_work = calendar.overrides.workdays
    makeup_lines = [f"{day_label(d)}（周{WEEKDAYS[d.weekday()]}）" + ("（本公司）" if d in own_work else "")
                    for d in makeup]
    elements: list[Text | Fields | Note] = [
        Fields((("工作日", f"{len(working)} 天"), ("休息日", f"{len(days) - len(working)} 天"))),
        Text("**假期**\n" + ("\n".join(holiday_lines) if holiday_lines else "无")),
        Text("**调休上班**\n" + ("、".join(makeup_lines) if makeup_lines else "无")),
    ]
    if leaves:
        elements.append(Text("**请假**\n" + "\n".join(
            f"{display_name(v.person)} {span_label(v.start, v.end)}" for v in leaves)))
    if not calendar.knows_makeup_days(year):
        elements.append(Note(unknown_year_note(year)))
    elements.append(Note("管理员可发送「假期 日期 [至 日期] [名称]」或「调休 日期」修改本公司日历。"))
    return Card(title=f"📅 {year}年{month}月 工作日历", elements=tuple(elements), template="blue")
