"""parse_command never raises: whatever arrives from a chat, the answer is a command or a ParseError."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.commands import (
    CODE_PATTERN,
    AssignTask,
    CompleteTask,
    DateParseError,
    NewSubtask,
    NewTask,
    ParseContext,
    ParseError,
    ReportProgress,
    ShowTask,
    parse_command,
    parse_due,
)
from bot.commands.catalog import all_commands
from bot.commands.fields import FIELD_KEYS
from tests.commands.moments import CTX

COMMAND_WORDS = sorted(
    {alias for spec in all_commands() for alias in spec.aliases} | {"/", "？", "新建", "进展", "完成了"}
)
DATE_WORDS = ["今天", "明天", "周五", "下周一", "10月15日", "2月30日", "3天后", "18点", "下午3点", "15:30", "下班前",
              "eod", "in 3 days", "25点", "99999天后", "月底", "周末", "今晚"]
PIECES = [*COMMAND_WORDS, *FIELD_KEYS, *DATE_WORDS, "XZB20231001", "xzb20231001-01", "XZB-1", "70%", "170%", "-5",
          "@张三", "@", "<@", ">", "<@ou_7d8a6e6df7621556ce0d21922b676706ccs>", "<@>", "：", ":", "，", "；", "\u3000",
          "\n", "％", "＠李四", "P0", "高", "给", "和", "9" * 40, "\u200b", "\x00", "🎉", "İ", "K", "ß"]

characters = st.characters(codec=None, exclude_categories=["Cs"])
cjk = st.characters(min_codepoint=0x3000, max_codepoint=0x9FFF)
emoji = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
controls = st.characters(min_codepoint=0, max_codepoint=0x1F)
fullwidth = st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E)
any_text = st.text(st.one_of(characters, cjk, emoji, controls, fullwidth), max_size=80)
assembled = st.lists(st.one_of(st.sampled_from(PIECES), any_text), max_size=12).map(" ".join)
glued = st.lists(st.one_of(st.sampled_from(PIECES), any_text), max_size=12).map("".join)
prefixed = st.builds(lambda word, tail: word + tail, st.sampled_from(COMMAND_WORDS), any_text)
messages = st.one_of(any_text, assembled, glued, prefixed)

contexts = st.builds(
    ParseContext,
    now=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"),
                                   timezone(timedelta(hours=-12))]),
    ),
    workday_end=st.times(min_value=time(0, 0), max_value=time(23, 59)),
)


@settings(max_examples=600, deadline=None)
@given(text=messages, ctx=contexts)
def test_parse_command_never_raises(text: str, ctx: ParseContext) -> None:
    result = parse_command(text, ctx)
    if isinstance(result, ParseError):
        assert result.kind in ("unknown_command", "missing_field", "bad_value", "bad_date", "empty")
        assert result.message.strip()
        assert "Traceback" not in result.message
        assert "<@" not in result.message
    if isinstance(result, (NewSubtask, AssignTask, ReportProgress, CompleteTask, ShowTask)):
        code = result.parent_code if isinstance(result, NewSubtask) else result.code
        assert CODE_PATTERN.fullmatch(code)
    if isinstance(result, ReportProgress):
        assert 0 <= result.percent <= 100
    if isinstance(result, NewTask):
        assert result.title and result.priority in ("高", "中", "低")
        assert result.due.tzinfo is ctx.now.tzinfo


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(any_text, st.lists(st.sampled_from(DATE_WORDS + PIECES), max_size=4).map(" ".join)), ctx=contexts)
def test_parse_due_raises_only_date_parse_error(text: str, ctx: ParseContext) -> None:
    try:
        result = parse_due(text, ctx)
    except DateParseError as error:
        assert error.message.strip()
        return
    assert result.tzinfo is ctx.now.tzinfo


@settings(max_examples=200, deadline=None)
@given(
    title=st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=20),
    day=st.integers(1, 28),
    month=st.integers(1, 12),
)
def test_well_formed_new_task_round_trips(title: str, day: int, month: int) -> None:
    assume(not any(key in title for key in FIELD_KEYS))
    result = parse_command(f"新建任务 {title} 负责人 @张三 截止 {month}月{day}日", CTX)
    assert isinstance(result, NewTask)
    assert (result.title, result.owner.name) == (title, "张三")
    assert (result.due.month, result.due.day, result.due.hour) == (month, day, 18)
