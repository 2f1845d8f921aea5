"""假期, 调休, 日历, 请假, 销假 and 时区."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.dates import DateParseError, parse_due
from bot.commands.grammar import Builder
from bot.commands.keyed import Rejected
from bot.commands.model import Command, ParseError, PersonRef, WorkflowCommand
from bot.commands.people import parse_people
from bot.commands.text import SEPARATORS, Folded
from bot.workflows.calendar.zones import resolve_zone

# The longest holiday or leave one command may set; longer is almost certainly a typo.
MAX_SPAN_DAYS: Final = 62


@dataclass(frozen=True, slots=True)
class SetHoliday(WorkflowCommand):
    start: date
    end: date
    name: str | None = None


@dataclass(frozen=True, slots=True)
class SetWorkday(WorkflowCommand):
    day: date
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ShowCalendar(WorkflowCommand):
    year: int | None = None
    month: int | None = None


@dataclass(frozen=True, slots=True)
class TakeLeave(WorkflowCommand):
    end: date
    person: PersonRef | None = None
    start: date | None = None


@dataclass(frozen=True, slots=True)
class EndLeave(WorkflowCommand):
    person: PersonRef | None = None


@dataclass(frozen=True, slots=True)
class SetTimezone(WorkflowCommand):
    # The IANA name; None only shows the chat's current one.
    timezone: str | None = None


HOLIDAY: Final = CommandSpec(
    "假期", "holiday", ("假期", "放假", "holiday"),
    "（管理员）把一天或一段日期设为本公司的休息日，提醒和时限都会跳过这些天",
    "假期 12月31日 至 1月1日 年会调休",
)
WORKDAY: Final = CommandSpec(
    "调休", "workday", ("调休", "补班", "上班日", "workday"),
    "（管理员）把某个周末或假期设为本公司的工作日",
    "调休 12月27日",
)
CALENDAR: Final = CommandSpec(
    "日历", "calendar", ("日历", "工作日历", "calendar"),
    "查看某月的工作日、假期、调休和请假的人",
    "日历 10月",
)
LEAVE: Final = CommandSpec(
    "请假", "leave", ("请假", "休假", "leave"),
    "登记请假（自己，或管理员、上级为他人登记）：站会不再催，汇总里标为请假",
    "请假 @赵磊 至 11月27日",
)
BACK: Final = CommandSpec(
    "销假", "back", ("销假", "back", "back from leave"),
    "结束请假，今天起照常参加站会和提醒",
    "销假",
)

TIMEZONE: Final = CommandSpec(
    "时区", "timezone", ("时区", "timezone", "time zone"),
    "查看本群的时区；管理员可修改（站会、到期提醒、周报月报都按本群当地时间发送）",
    "时区 伦敦",
)

_RANGE: Final = re.compile(r"(?P<a>[^\s至到~]+)\s*(?:(?:至|到|~)\s*(?P<b>[^\s至到~]+))?\s*(?P<rest>.*)$", re.DOTALL)
_LEAVE: Final = re.compile(r"(?P<a>[^\s至到~]+)?\s*(?:至|到|~)\s*(?P<b>[^\s至到~]+)\s*(?P<rest>.*)$", re.DOTALL)
_WHO: Final = re.compile(r"^\s*(?P<who>(?:<@[^>]+>|@[^\s@<]+)\s*)")
_MONTH: Final = re.compile(r"^(?:(?P<y>\d{4})\s*[年\-/.]\s*)?(?P<m>\d{1,2})\s*月?$")


def _day(spec: CommandSpec, text: str, ctx: ParseContext) -> date:
    try:
        return parse_due(text, ctx).date()
    except DateParseError as error:
        raise Rejected(ParseError("bad_date", f"「{text}」{error.reason}。例如：{spec.example}")) from None


def _span(spec: CommandSpec, start: date, end: date) -> None:
    if end < start:
        raise Rejected(ParseError("bad_value", f"结束日期在开始日期之前。例如：{spec.example}"))
    if (end - start).days >= MAX_SPAN_DAYS:
        raise Rejected(ParseError("bad_value", f"一次最多设置 {MAX_SPAN_DAYS} 天，请分段设置。"))


def _holiday(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    match = _RANGE.match(args.fold.strip())
    if not args or match is None:
        raise Rejected(ParseError("missing_field", f"请写上日期。例如：{spec.example}"))
    start = _day(spec, match["a"], ctx)
    end = _day(spec, match["b"], ctx) if match["b"] else start
    if end < start and 0 <= (end.replace(year=end.year + 1) - start).days < MAX_SPAN_DAYS:
        end = end.replace(year=end.year + 1)  # 12月31日 至 1月1日
    _span(spec, start, end)
    name = args.orig.strip()[match.start("rest"):].strip(SEPARATORS) or None
    return SetHoliday(start=start, end=end, name=name[:100] if name else None)


def _workday(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    match = _RANGE.match(args.fold.strip())
    if not args or match is None or match["b"]:
        raise Rejected(ParseError("missing_field", f"请写上一个日期。例如：{spec.example}"))
    name = args.orig.strip()[match.start("rest"):].strip(SEPARATORS) or None
    return SetWorkday(day=_day(spec, match["a"], ctx), name=name[:100] if name else None)


def _calendar(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    text = args.fold.strip().replace(" ", "")
    if not text:
        return ShowCalendar()
    if text in ("下月", "下个月"):
        today = ctx.now.date()
        return ShowCalendar(year=today.year + today.month // 12, month=today.month % 12 + 1)
    if text in ("本月", "这个月"):
        return ShowCalendar()
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match["m"]) <= 12:
        raise Rejected(ParseError("bad_value", f"请写月份，例如：{spec.example}，或 日历 2027年1月"))
    year = int(match["y"]) if match["y"] else None
    if year is not None and not 1990 <= year <= 2100:
        raise Rejected(ParseError("bad_value", "年份超出范围。"))
    return ShowCalendar(year=year, month=int(match["m"]))


def _person(args: Folded) -> tuple[PersonRef | None, Folded]:
    who = _WHO.match(args.fold)
    if who is None:
        return None, args
    people = parse_people(who["who"])
    return (people[0] if people else None), args.cut(who.end()).strip()


def _leave(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    person, rest = _person(args)
    match = _LEAVE.match(rest.fold.strip())
    if match is None:
        raise Rejected(ParseError("missing_field", f"请写上请假到哪天。例如：{spec.example}，或 请假 至 周五"))
    start = _day(spec, match["a"], ctx) if match["a"] else None
    end = _day(spec, match["b"], ctx)
    _span(spec, start or ctx.now.date(), end)
    return TakeLeave(end=end, person=person, start=start)


def _back(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    person, _ = _person(args)
    return EndLeave(person=person)


def _timezone(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    text = args.orig.strip()
    if not text:
        return SetTimezone()
    zone = resolve_zone(text)
    if zone is None:
        raise Rejected(ParseError("bad_value", f"不认识时区「{text[:40]}」。请写城市（如 伦敦、东京、纽约）"
                                               "或时区名（如 Europe/London）。"))
    return SetTimezone(timezone=zone)


GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = (
    (HOLIDAY, _holiday),
    (WORKDAY, _workday),
    (CALENDAR, _calendar),
    (LEAVE, _leave),
    (BACK, _back),
    (TIMEZONE, _timezone),
)
