"""The cadence commands parse as people write them."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.commands import ParseContext, ParseError
from bot.commands.grammar import parse_command
from bot.workflows import load_commands
from bot.workflows.calendar.commands import EndLeave, SetHoliday, SetWorkday, ShowCalendar, TakeLeave
from bot.workflows.delays.commands import ExplainDelay
from bot.workflows.digest.commands import RecordReview, ShowMonthly, ShowWeekly
from bot.workflows.standup.commands import AnswerStandup, ConfigureStandup

CTX = ParseContext(now=datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Asia/Shanghai")))


def parse(text: str) -> object:
    load_commands()
    return parse_command(text, CTX)


@pytest.mark.parametrize(("text", "expected"), [
    ("站会 昨天完成海报，今天改稿，障碍无", AnswerStandup(yesterday="完成海报", today="改稿", blockers="")),
    ("站会 昨天：写脚本 今天：剪辑 障碍：XZB20261102 素材未到",
     AnswerStandup(yesterday="写脚本", today="剪辑", blockers="XZB20261102 素材未到")),
    ("站会 做海报", AnswerStandup(today="做海报")),
    ("站会 时间 9:30", ConfigureStandup(prompt=time(9, 30))),
    ("站会 提醒 10点30", ConfigureStandup(remind=time(10, 30))),
    ("站会 汇总 11:00", ConfigureStandup(summary=time(11, 0))),
    ("站会 关闭", ConfigureStandup(close=True)),
    ("站会", ConfigureStandup(show=True)),
    ("假期 12月31日 至 1月1日 年会", SetHoliday(start=date(2026, 12, 31), end=date(2027, 1, 1), name="年会")),
    ("假期 2026-12-24", SetHoliday(start=date(2026, 12, 24), end=date(2026, 12, 24))),
    ("调休 12月26日", SetWorkday(day=date(2026, 12, 26))),
    ("日历", ShowCalendar()),
    ("日历 2027年1月", ShowCalendar(year=2027, month=1)),
    ("请假 至 周五", TakeLeave(end=date(2026, 11, 27))),
    ("请假 11月25日 至 11月27日", TakeLeave(end=date(2026, 11, 27), start=date(2026, 11, 25))),
    ("销假", EndLeave()),
    ("延期原因 XZB20261101 素材未到 新截止 11月30日",
     ExplainDelay(code="XZB20261101", reason="素材未到",
                  due=datetime(2026, 11, 30, 18, tzinfo=ZoneInfo("Asia/Shanghai")))),
    ("周报 上周", ShowWeekly(last_week=True)),
    ("月报 10月", ShowMonthly(month=10)),
    ("月报 上月", ShowMonthly(year=2026, month=10)),
    ("复盘", RecordReview()),
    ("复盘 做得好 顺畅 待改进 素材晚 措施 提前确认", RecordReview(good="顺畅", improve="素材晚", actions="提前确认")),
])
def test_cadence_commands(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("站会 时间 25:00", "请写时间"),
    ("假期", "请写上日期"),
    ("假期 2026-12-31 至 2026-12-01", "结束日期在开始日期之前"),
    ("请假 周五", "请写上请假到哪天"),
    ("日历 13月", "请写月份"),
    ("复盘 做得好 顺畅", "待改进和措施"),
    ("延期原因 XZB20261101", "延期的原因"),
])
def test_cadence_mistakes_say_what_to_type(text: str, says: str) -> None:
    error = parse(text)
    assert isinstance(error, ParseError) and says in error.message, error
