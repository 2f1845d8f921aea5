from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.commands import DateParseError, ParseContext, parse_due
from tests.commands.moments import CTX, NOW, SHANGHAI, at


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # keyword days, at the workday end
        ("今天", at(2026, 11, 23)),
        ("today", at(2026, 11, 23)),
        ("明天", at(2026, 11, 24)),
        ("Tomorrow", at(2026, 11, 24)),
        ("后天", at(2026, 11, 25)),
        ("大后天", at(2026, 11, 26)),
        # weekdays: now is Monday 2026-11-23
        ("周一", at(2026, 11, 23)),
        ("周五", at(2026, 11, 27)),
        ("星期三", at(2026, 11, 25)),
        ("星期日", at(2026, 11, 29)),
        ("周日", at(2026, 11, 29)),
        ("礼拜天", at(2026, 11, 29)),
        ("礼拜二", at(2026, 11, 24)),
        ("下周一", at(2026, 11, 30)),
        ("下星期五", at(2026, 12, 4)),
        ("下个礼拜三", at(2026, 12, 2)),
        ("下下周一", at(2026, 12, 7)),
        ("本周五", at(2026, 11, 27)),
        ("这周日", at(2026, 11, 29)),
        ("mon", at(2026, 11, 23)),
        ("Friday", at(2026, 11, 27)),
        ("thurs", at(2026, 11, 26)),
        ("next monday", at(2026, 11, 30)),
        ("next fri", at(2026, 12, 4)),
        ("周末", at(2026, 11, 28)),
        ("下周末", at(2026, 12, 5)),
        # calendar dates
        ("12月15日", at(2026, 12, 15)),
        ("12月15号", at(2026, 12, 15)),
        ("十二月十五日", at(2026, 12, 15)),
        ("12.15", at(2026, 12, 15)),
        ("12/15", at(2026, 12, 15)),
        ("2026-12-15", at(2026, 12, 15)),
        ("2026/12/15", at(2026, 12, 15)),
        ("2026年12月15日", at(2026, 12, 15)),
        ("2026.12.15", at(2026, 12, 15)),
        ("Dec 15", at(2026, 12, 15)),
        ("15 december 2027", at(2027, 12, 15)),
        ("11月23日", at(2026, 11, 23)),  # today is not "past"
        ("10月15日", at(2027, 10, 15)),  # already past this year: next year
        ("10.15", at(2027, 10, 15)),
        ("1月5日", at(2027, 1, 5)),
        ("2026-10-15", at(2026, 10, 15)),  # an explicit year is kept even in the past
        ("30号", at(2026, 11, 30)),
        ("5号", at(2026, 12, 5)),
        ("下个月15号", at(2026, 12, 15)),
        ("月底", at(2026, 11, 30)),
        ("下月底", at(2026, 12, 31)),
        ("年底", at(2026, 12, 31)),
        # relative
        ("3天后", at(2026, 11, 26)),
        ("三天后", at(2026, 11, 26)),
        ("3天内", at(2026, 11, 26)),
        ("十天之内", at(2026, 12, 3)),
        ("两周后", at(2026, 12, 7)),
        ("1个月后", at(2026, 12, 23)),
        ("3个工作日内", at(2026, 11, 26)),
        ("5个工作日内", at(2026, 11, 30)),  # skips the weekend
        ("in 3 days", at(2026, 11, 26)),
        ("in 1 day", at(2026, 11, 24)),
        ("in 2 weeks", at(2026, 12, 7)),
        ("2小时后", at(2026, 11, 23, 12, 0)),
        ("30分钟后", at(2026, 11, 23, 10, 30)),
        ("in 3 hours", at(2026, 11, 23, 13, 0)),
        # a day with a time
        ("明天18点", at(2026, 11, 24, 18, 0)),
        ("明天 18点30", at(2026, 11, 24, 18, 30)),
        ("明天18点30分", at(2026, 11, 24, 18, 30)),
        ("明天 18:30", at(2026, 11, 24, 18, 30)),
        ("明天下午3点", at(2026, 11, 24, 15, 0)),
        ("明天下午三点半", at(2026, 11, 24, 15, 30)),
        ("明天上午10点", at(2026, 11, 24, 10, 0)),
        ("周五晚上8点", at(2026, 11, 27, 20, 0)),
        ("周五中午12点", at(2026, 11, 27, 12, 0)),
        ("周五中午1点", at(2026, 11, 27, 13, 0)),
        ("周五下班前", at(2026, 11, 27, 18, 0)),
        ("周五18点前", at(2026, 11, 27, 18, 0)),
        ("周五前", at(2026, 11, 27, 18, 0)),
        ("下周一上午9点一刻", at(2026, 11, 30, 9, 15)),
        ("12月15日 15:30", at(2026, 12, 15, 15, 30)),
        ("2026-12-15 09:00", at(2026, 12, 15, 9, 0)),
        ("tomorrow 3pm", at(2026, 11, 24, 15, 0)),
        ("tomorrow at 3:30pm", at(2026, 11, 24, 15, 30)),
        ("3pm tomorrow", at(2026, 11, 24, 15, 0)),
        ("friday eod", at(2026, 11, 27, 18, 0)),
        ("明天上午", at(2026, 11, 24, 12, 0)),
        ("明天下午", at(2026, 11, 24, 18, 0)),
        ("明早", at(2026, 11, 24, 9, 0)),
        ("明晚", at(2026, 11, 24, 21, 0)),
        ("今晚", at(2026, 11, 23, 21, 0)),
        ("今晚8点", at(2026, 11, 23, 20, 0)),
        ("tonight", at(2026, 11, 23, 21, 0)),
        ("今天24点", at(2026, 11, 23, 23, 59)),
        # a time alone: today, or tomorrow once passed (now is 10:00)
        ("18点", at(2026, 11, 23, 18, 0)),
        ("18:30", at(2026, 11, 23, 18, 30)),
        ("下午3点", at(2026, 11, 23, 15, 0)),
        ("晚上8点", at(2026, 11, 23, 20, 0)),
        ("中午12点", at(2026, 11, 23, 12, 0)),
        ("3pm", at(2026, 11, 23, 15, 0)),
        ("下班前", at(2026, 11, 23, 18, 0)),
        ("eod", at(2026, 11, 23, 18, 0)),
        ("上午10点", at(2026, 11, 24, 10, 0)),  # exactly now: already passed
        ("9点", at(2026, 11, 24, 9, 0)),
        ("9am", at(2026, 11, 24, 9, 0)),
        ("凌晨3点", at(2026, 11, 24, 3, 0)),
        ("3点", at(2026, 11, 23, 15, 0)),  # bare 1-6 o'clock means afternoon
        ("12am", at(2026, 11, 24, 0, 0)),
        # width and spacing
        ("２０２６－１２－１５", at(2026, 12, 15)),
        ("明天\u300018：30", at(2026, 11, 24, 18, 30)),
        ("  周五  ", at(2026, 11, 27)),
        ("by friday", at(2026, 11, 27)),
    ],
)
def test_forms(text: str, expected: datetime) -> None:
    result = parse_due(text, CTX)
    assert result == expected
    assert result.tzinfo is SHANGHAI


@pytest.mark.parametrize(
    "text",
    ["", "   ", "xx", "2月30日", "2026-02-29", "13月1日", "4月31日", "25点", "18点61", "13pm", "3天前", "1999-01-01",
     "周八", "明天后天", "99999999天后", "下午茶", "10月15日 25:00"],
)
def test_rejected(text: str) -> None:
    with pytest.raises(DateParseError) as raised:
        parse_due(text, CTX)
    assert isinstance(raised.value, ValueError)
    assert "今天、明天" in raised.value.message
    assert "18点" in raised.value.message


def test_impossible_date_says_why() -> None:
    with pytest.raises(DateParseError) as raised:
        parse_due("2026年2月30日", CTX)
    assert raised.value.reason.startswith("2026年2月没有30日")


def test_leap_day_is_accepted_in_a_leap_year() -> None:
    assert parse_due("2028-02-29", CTX) == at(2028, 2, 29)


def test_custom_workday_end() -> None:
    ctx = ParseContext(now=NOW, workday_end=time(17, 30))
    assert parse_due("明天", ctx) == at(2026, 11, 24, 17, 30)
    assert parse_due("下班前", ctx) == at(2026, 11, 23, 17, 30)
    assert parse_due("eod", ctx) == at(2026, 11, 23, 17, 30)


def test_time_alone_after_it_passed_rolls_to_tomorrow() -> None:
    evening = ParseContext(now=at(2026, 11, 23, 19, 0))
    assert parse_due("18点", evening) == at(2026, 11, 24, 18, 0)
    assert parse_due("下班前", evening) == at(2026, 11, 24, 18, 0)
    assert parse_due("今天", evening) == at(2026, 11, 23, 18, 0)  # an explicit day is never moved


def test_bare_weekday_already_past_means_next_week() -> None:
    wednesday = ParseContext(now=at(2026, 11, 25, 9, 0))
    assert parse_due("周一", wednesday) == at(2026, 11, 30)
    assert parse_due("周三", wednesday) == at(2026, 11, 25)
    assert parse_due("本周一", wednesday) == at(2026, 11, 23)  # 本周 keeps this week, even in the past
    assert parse_due("下周一", wednesday) == at(2026, 11, 30)


def test_weekend_on_sunday_is_today() -> None:
    sunday = ParseContext(now=at(2026, 11, 29, 9, 0))
    assert parse_due("周末", sunday) == at(2026, 11, 29)


def test_month_end_across_february_and_year_end() -> None:
    assert parse_due("月底", ParseContext(now=at(2028, 2, 3, 9))) == at(2028, 2, 29)
    december = ParseContext(now=at(2026, 12, 10, 9))
    assert parse_due("下月底", december) == at(2027, 1, 31)
    assert parse_due("1月5日", december) == at(2027, 1, 5)
    assert parse_due("5号", december) == at(2027, 1, 5)


def test_result_keeps_the_context_timezone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    ctx = ParseContext(now=datetime(2026, 11, 23, 10, 0, tzinfo=tokyo))
    result = parse_due("明天", ctx)
    assert result == datetime(2026, 11, 24, 18, 0, tzinfo=tokyo)
    assert result.tzinfo is tokyo


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        ParseContext(now=datetime(2026, 11, 23, 10, 0))


def test_works_at_the_edge_of_the_calendar() -> None:
    ctx = ParseContext(now=datetime(9999, 12, 31, 10, 0, tzinfo=UTC))
    with pytest.raises(DateParseError):
        parse_due("明天", ctx)
    assert parse_due("今天", ctx) == datetime(9999, 12, 31, 18, 0, tzinfo=UTC)
    assert parse_due("2小时后", ctx) == ctx.now + timedelta(hours=2)


def test_overlong_text_is_refused_quickly() -> None:
    with pytest.raises(DateParseError) as raised:
        parse_due("明天" + " at" * 5000, CTX)
    assert raised.value.reason == "时间写得太长了。"
