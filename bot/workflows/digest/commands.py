"""周报 [上周], 月报 [<month>] and 复盘 [做得好 … 待改进 … 措施 …]."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import KeyedFields, Rejected, missing, text_of
from bot.commands.model import Command, ParseError, WorkflowCommand
from bot.commands.text import Folded


@dataclass(frozen=True, slots=True)
class ShowWeekly(WorkflowCommand):
    last_week: bool = False


@dataclass(frozen=True, slots=True)
class ShowMonthly(WorkflowCommand):
    year: int | None = None
    month: int | None = None


@dataclass(frozen=True, slots=True)
class RecordReview(WorkflowCommand):
    """All three empty: show the last one."""

    good: str | None = None
    improve: str | None = None
    actions: str | None = None


WEEKLY: Final = CommandSpec(
    "周报", "weekly", ("周报", "本周周报", "weekly"),
    "查看本群的周报：完成率、本周完成、进行中、延期、风险卡点、下周到期（每周五 17:00 自动发送）",
    "周报 上周",
)
MONTHLY: Final = CommandSpec(
    "月报", "monthly", ("月报", "月度复盘", "monthly"),
    "查看本群的月度复盘数据：按时完成率、延期原因、协作问题、卡点（每月第一个工作日 10:00 自动发送上月的）",
    "月报 10月",
)
REVIEW: Final = CommandSpec(
    "复盘", "review", ("复盘", "review"),
    "记录上月复盘的结论（做得好、待改进、措施），或发送「复盘」查看上一次的",
    "复盘 做得好 设计和品牌配合顺畅 待改进 素材到位晚 措施 素材提前一周确认",
)
_MONTH: Final = re.compile(r"^(?:(?P<y>\d{4})\s*[年\-/.]\s*)?(?P<m>\d{1,2})\s*月?(?:份)?$")
_REVIEW: Final = KeyedFields({"做得好": "good", "好的": "good", "亮点": "good", "good": "good",
                              "待改进": "improve", "不足": "improve", "问题": "improve", "improve": "improve",
                              "措施": "actions", "改进措施": "actions", "行动": "actions", "actions": "actions"})


def _weekly(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    text = args.fold.strip().lower()
    if text in ("", "本周", "this week"):
        return ShowWeekly()
    if text in ("上周", "last week"):
        return ShowWeekly(last_week=True)
    raise Rejected(ParseError("bad_value", "请发送「周报」或「周报 上周」。"))


def _monthly(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    text = args.fold.strip().replace(" ", "")
    if text in ("", "本月"):
        return ShowMonthly()
    if text == "上月":
        today = ctx.now.date()
        return ShowMonthly(year=today.year - (today.month == 1), month=(today.month - 2) % 12 + 1)
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match["m"]) <= 12:
        raise Rejected(ParseError("bad_value", f"请写月份。例如：{spec.example}，或 月报 2026年10月"))
    year = int(match["y"]) if match["y"] else None
    if year is not None and not 2000 <= year <= 2100:
        raise Rejected(ParseError("bad_value", "年份超出范围。"))
    return ShowMonthly(year=year, month=int(match["m"]))


def _review(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    if not args.fold.strip():
        return RecordReview()
    head, values = _REVIEW.split(args)
    good, improve, actions = (text_of(values.get(k)) for k in ("good", "improve", "actions"))
    if text_of(head) and good is None:
        good = text_of(head)
    if improve is None and actions is None:
        raise missing(spec, "待改进和措施（待改进 …… 措施 ……）")
    return RecordReview(good=good, improve=improve, actions=actions)


GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = ((WEEKLY, _weekly), (MONTHLY, _monthly), (REVIEW, _review))
