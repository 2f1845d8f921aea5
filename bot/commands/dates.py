"""Due dates as people type them in chat: 明天、周五下班前、下周一上午10点、10月15日、3天后、in 3 days.

Rules the caller can rely on:
- The result is timezone-aware, in `ctx.now`'s tzinfo.
- A day without a time means `ctx.workday_end` that day.
- A time without a day means today, or tomorrow if that moment has already passed.
- An explicit day is never moved because its time has passed (周一 on a Monday is today, 本周一 on a
  Wednesday is in the past): deciding whether a past due is acceptable is the caller's job.
- A bare hour from 1 to 6 (3点, 3:30) is read as afternoon; nobody sets a 3 a.m. deadline at work.
  凌晨3点 or 3am keep the morning.
- 今晚 / 晚上 without a time is 21:00; 上午 12:00; 早上 09:00; 中午 12:00; 下午 the workday end.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Final

from bot.commands.context import ParseContext
from bot.commands.numerals import NUMBER, to_int

ACCEPTED_FORMS: Final = (
    "可以写：今天、明天、后天、周五、下周一、10月15日、10.15、2026-10-15、3天后，"
    "也可以加上时间：18点、下午3点、15:30、下班前。"
    " / Accepted: today, tomorrow, fri, next monday, 2026-10-15, in 3 days, 3pm, eod."
)

EVENING: Final = time(21, 0)
_MAX_DAYS: Final = 3650
_MAX_LENGTH: Final = 60


class DateParseError(ValueError):
    """`message` is a user-facing Chinese explanation followed by the accepted forms."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = f"{reason}{ACCEPTED_FORMS}"
        super().__init__(self.message)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


_PERIOD: Final = r"(?P<period>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|夜间|早|晚)?"
_AMPM: Final = r"(?P<ampm>am|pm|a\.m\.|p\.m\.)"
_CLOCKS: Final = (
    _PERIOD
    + r" ?(?P<h>" + NUMBER + r") ?(?:点钟|点|时)"
    + r" ?(?:(?P<half>半)|(?P<q>一刻|三刻)|(?P<m>" + NUMBER + r") ?分?|整)?",
    _PERIOD + r" ?(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?: ?" + _AMPM + r")?",
    r"(?P<h>[0-9]{1,2})(?:[:.](?P<m>[0-9]{2}))? ?" + _AMPM,
    r"(?P<eod>下班(?:之?前)?|eod|cob|end of (?:the )?day|close of business)",
    r"(?P<only>早上|早晨|上午|中午|下午|晚上)",
)
# A clock at the end ("周五 18点") is the common order; at the start ("3pm tomorrow") is also accepted.
_CLOCK_AT_END: Final = tuple(_rx(r"(?:^|(?<=[^0-9]))(?:" + p + r")$") for p in _CLOCKS)
_CLOCK_AT_START: Final = tuple(_rx(r"^(?:" + p + r")(?=$|[^0-9])") for p in _CLOCKS)

_PERIOD_ONLY: Final = {
    "早上": time(9, 0), "早晨": time(9, 0), "上午": time(12, 0), "中午": time(12, 0), "晚上": EVENING,
}
_SHORTHANDS: Final = (
    ("今晚", "今天晚上"), ("今夜", "今天晚上"), ("明晚", "明天晚上"), ("今早", "今天早上"), ("明早", "明天早上"),
    ("tonight", "today 晚上"),
)
_LEADING_WORDS: Final = _rx(r"^(?:by|before|due|on|until|在|于)(?: |(?=[^a-z]))")
_TRAILING_BEFORE: Final = _rx(r"(?<!下班)(?<!下班之)(?<!下班以)(?:之前|以前|前)$")
_TRAILING_FILLER: Final = _rx(r"(?: at| @|的|,| )+$")

_KEYWORD_DAYS: Final = {
    "今天": 0, "今日": 0, "today": 0, "tod": 0,
    "明天": 1, "明日": 1, "tomorrow": 1, "tmr": 1, "tmrw": 1,
    "后天": 2, "day after tomorrow": 2, "the day after tomorrow": 2,
    "大后天": 3,
    # Past days parse, so the reply can say the date has passed rather than that it was not understood.
    "昨天": -1, "昨日": -1, "yesterday": -1, "前天": -2,
}
_CN_WEEKDAY_NUM: Final = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_EN_WEEKDAYS: Final = (
    ("monday", "mon"), ("tuesday", "tue"), ("wednesday", "wed"), ("thursday", "thu"),
    ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun"),
)
_MONTHS: Final = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)

_CN_WEEKDAY: Final = _rx(r"(?P<pre>下下个?|下个?|本|这个?)?(?:周|星期|礼拜|週)(?P<d>[一二三四五六日天七1-7])")
_WEEKEND: Final = _rx(r"(?P<pre>下个?|本|这个?)?(?:周末|weekend)")
_EN_WEEKDAY: Final = _rx(r"(?:(?P<pre>this|next|coming) )?(?P<d>[a-z]{3,9})")
_MONTH_END: Final = _rx(r"(?P<pre>下个?|本|这个?)?月(?:底|末)|(?P<en>eom|end of (?:the )?month)")
_YEAR_END: Final = _rx(r"(?:今|本)?年(?:底|末)|end of (?:the )?year")
_FULL_DATE: Final = _rx(r"(?P<y>[0-9]{4})(?:[-/.]|年)(?P<m>[0-9]{1,2})(?:[-/.]|月)(?P<d>[0-9]{1,2})(?:日|号)?")
_MONTH_DAY: Final = _rx(r"(?P<m>[0-9]{1,2}|十[一二]?|[一二三四五六七八九])月份?(?P<d>" + NUMBER + r")(?:日|号)?")
_NUMERIC_MONTH_DAY: Final = _rx(r"(?P<m>[0-9]{1,2})[./-](?P<d>[0-9]{1,2})")
_DAY_OF_MONTH: Final = _rx(r"(?P<pre>下个?月|本月|这个?月)?(?P<d>" + NUMBER + r")(?:日|号)")
_CN_RELATIVE: Final = _rx(
    r"(?P<n>" + NUMBER + r")个?(?P<unit>天|日|工作日|周|星期|礼拜|月)(?:后|以后|之后|内|以内|之内)"
)
_EN_RELATIVE: Final = _rx(
    r"(?:in |within )?(?P<n>[0-9]{1,4}) ?"
    r"(?P<unit>days?|d|weeks?|w|business days?|working days?|workdays?|months?)(?: later| from now)?"
)
_EN_MONTH_FIRST: Final = _rx(r"(?P<mon>[a-z]{3,9})\.? ?(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?(?:,? (?P<y>[0-9]{4}))?")
_EN_DAY_FIRST: Final = _rx(r"(?P<d>[0-9]{1,2})(?:st|nd|rd|th)? (?:of )?(?P<mon>[a-z]{3,9})\.?(?:,? (?P<y>[0-9]{4}))?")
_CN_IN_HOURS: Final = _rx(
    r"(?P<n>" + NUMBER + r")个?(?P<half>半)?(?P<unit>小时|钟头|分钟)(?:后|以后|之后|内|以内|之内)"
)
_EN_IN_HOURS: Final = _rx(r"in (?P<n>[0-9]{1,4}) ?(?P<unit>hours?|hrs?|h|minutes?|mins?|m)")


def parse_due(text: str, ctx: ParseContext) -> datetime:
    """The moment `text` names, relative to `ctx.now`; raises DateParseError when it names none."""
    try:
        return _parse(text, ctx)
    except DateParseError:
        raise
    except (OverflowError, ValueError) as exc:
        # Only date arithmetic at the edges of the calendar can get here.
        raise DateParseError("日期超出范围。") from exc


def _parse(text: str, ctx: ParseContext) -> datetime:
    s = _normalise(text)
    if not s:
        raise DateParseError("没有写时间。")
    # No real date is this long, and the end-anchored searches below are quadratic in the length.
    if len(s) > _MAX_LENGTH:
        raise DateParseError("时间写得太长了。")
    moment = _in_hours(s, ctx)
    if moment is not None:
        return moment
    day_text, clock = _split_clock(s, ctx)
    if not day_text:
        if clock is None:
            raise DateParseError("没有看懂这个时间。")
        result = _at(ctx.now.date(), clock, ctx)
        return result if result > ctx.now else _at(ctx.now.date() + timedelta(days=1), clock, ctx)
    return _at(_parse_day(day_text, ctx.now.date(), ctx.is_working_day), clock or ctx.workday_end, ctx)


def _normalise(text: str) -> str:
    s = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    s = s.strip(" .。!！,，;；:")
    for short, full in _SHORTHANDS:
        s = s.replace(short, full)
    s = _LEADING_WORDS.sub("", s)
    return _TRAILING_BEFORE.sub("", s).strip()


def _at(day: date, clock: time, ctx: ParseContext) -> datetime:
    return datetime.combine(day, clock, tzinfo=ctx.now.tzinfo)


def _in_hours(s: str, ctx: ParseContext) -> datetime | None:
    match = _CN_IN_HOURS.fullmatch(s.replace(" ", "")) or _EN_IN_HOURS.fullmatch(s)
    if match is None:
        return None
    n = to_int(match["n"])
    if n is None or n > 24 * 365:
        raise DateParseError("时间太远了。")
    unit = match["unit"]
    minutes = n if unit.startswith(("分", "min", "m")) else n * 60 + (30 if match.groupdict().get("half") else 0)
    return (ctx.now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)


def _split_clock(s: str, ctx: ParseContext) -> tuple[str, time | None]:
    for pattern in _CLOCK_AT_END:
        match = pattern.search(s)
        if match is not None:
            return _TRAILING_FILLER.sub("", s[: match.start()]).strip(), _clock(match, ctx)
    for pattern in _CLOCK_AT_START:
        match = pattern.match(s)
        if match is not None:
            rest = s[match.end() :].strip()
            return re.sub(r"^(?:on |,)", "", rest).strip(), _clock(match, ctx)
    return _TRAILING_FILLER.sub("", s).strip(), None


def _clock(match: re.Match[str], ctx: ParseContext) -> time:
    groups = match.groupdict()
    if groups.get("eod"):
        return ctx.workday_end
    only = groups.get("only")
    if only:
        return _PERIOD_ONLY.get(only, ctx.workday_end)
    hour = to_int(match["h"])
    minute = 0
    if groups.get("half"):
        minute = 30
    elif groups.get("q"):
        minute = 15 if groups["q"] == "一刻" else 45
    elif groups.get("m"):
        parsed = to_int(groups["m"])
        minute = -1 if parsed is None else parsed
    if hour is None or not 0 <= minute <= 59:
        raise DateParseError("没有看懂这个钟点。")
    hour = _adjust_hour(hour, groups.get("period"), groups.get("ampm"))
    if hour == 24 and minute == 0:
        return time(23, 59)
    if not 0 <= hour <= 23:
        raise DateParseError(f"没有{hour}点。")
    return time(hour, minute)


def _adjust_hour(hour: int, period: str | None, ampm: str | None) -> int:
    if ampm:
        if not 1 <= hour <= 12:
            raise DateParseError(f"{hour}{ampm} 不是有效的钟点。")
        if ampm.startswith("a"):
            return 0 if hour == 12 else hour
        return hour if hour == 12 else hour + 12
    if period in ("下午", "傍晚", "晚上", "夜里", "夜间", "晚"):
        return hour + 12 if hour < 12 else hour
    if period == "中午":
        return hour + 12 if hour < 11 else hour
    if period == "凌晨":
        return 0 if hour == 12 else hour
    if period is None and 1 <= hour <= 6:
        return hour + 12
    return hour


def _parse_day(text: str, today: date, is_working_day: Callable[[date], bool] | None = None) -> date:
    compact = text.replace(" ", "")
    if text in _KEYWORD_DAYS or compact in _KEYWORD_DAYS:
        return today + timedelta(days=_KEYWORD_DAYS.get(text, _KEYWORD_DAYS.get(compact, 0)))
    for parser in (_weekday, _weekend, _month_end, _full_date, _month_day, _day_of_month):
        found = parser(compact, today)
        if found is not None:
            return found
    found = _relative(compact, today, is_working_day)
    if found is not None:
        return found
    for parser in (_en_weekday, _en_relative, _en_month_day):
        found = parser(text, today)
        if found is not None:
            return found
    raise DateParseError("没有看懂这个日期。")


def _monday(today: date) -> date:
    return today - timedelta(days=today.weekday())


def _on_weekday(today: date, weekday: int, prefix: str | None) -> date:
    if not prefix or prefix == "coming":
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    weeks = 2 if prefix.startswith("下下") else 1 if prefix.startswith(("下", "next")) else 0
    return _monday(today) + timedelta(days=7 * weeks + weekday)


def _weekday(s: str, today: date) -> date | None:
    match = _CN_WEEKDAY.fullmatch(s)
    if match is None:
        return None
    d = match["d"]
    weekday = int(d) - 1 if d.isdigit() else _CN_WEEKDAY_NUM[d]
    return _on_weekday(today, weekday, match["pre"])


def _weekend(s: str, today: date) -> date | None:
    match = _WEEKEND.fullmatch(s)
    if match is None:
        return None
    if match["pre"] and match["pre"].startswith("下"):
        return _monday(today) + timedelta(days=12)
    # On Sunday "周末" is still this weekend, so it means today rather than yesterday.
    return today if today.weekday() == 6 else _monday(today) + timedelta(days=5)


def _month_end(s: str, today: date) -> date | None:
    if _YEAR_END.fullmatch(s):
        return date(today.year, 12, 31)
    match = _MONTH_END.fullmatch(s)
    if match is None:
        return None
    year, month = today.year, today.month
    if match["pre"] and match["pre"].startswith("下"):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, calendar.monthrange(year, month)[1])


def _full_date(s: str, today: date) -> date | None:
    match = _FULL_DATE.fullmatch(s)
    if match is None:
        return None
    year = int(match["y"])
    if not 2000 <= year <= 2099:
        raise DateParseError(f"{year}年不在可用范围内（2000–2099）。")
    return _make_date(year, int(match["m"]), int(match["d"]))


def _month_day(s: str, today: date) -> date | None:
    match = _MONTH_DAY.fullmatch(s) or _NUMERIC_MONTH_DAY.fullmatch(s)
    if match is None:
        return None
    month, day = to_int(match["m"]), to_int(match["d"])
    if month is None or day is None:
        return None
    return _next_occurrence(today, month, day)


def _next_occurrence(today: date, month: int, day: int) -> date:
    """This year's month-day, or next year's when it has already passed (today counts as not passed)."""
    year = today.year + 1 if (month, day) < (today.month, today.day) else today.year
    return _make_date(year, month, day)


def _day_of_month(s: str, today: date) -> date | None:
    match = _DAY_OF_MONTH.fullmatch(s)
    if match is None:
        return None
    day = to_int(match["d"])
    if day is None:
        return None
    year, month = today.year, today.month
    prefix = match["pre"]
    if (prefix and prefix.startswith("下")) or (not prefix and day < today.day):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return _make_date(year, month, day)


def _relative(s: str, today: date, is_working_day: Callable[[date], bool] | None = None) -> date | None:
    match = _CN_RELATIVE.fullmatch(s)
    if match is None:
        return None
    return _shift(today, to_int(match["n"]), match["unit"], is_working_day)


def _en_relative(s: str, today: date) -> date | None:
    match = _EN_RELATIVE.fullmatch(s)
    if match is None:
        return None
    unit = match["unit"]
    if unit.startswith(("business", "working", "workday")):
        unit = "工作日"
    elif unit.startswith("w"):
        unit = "周"
    elif unit.startswith("month"):
        unit = "月"
    return _shift(today, to_int(match["n"]), unit)


def _shift(today: date, n: int | None, unit: str, is_working_day: Callable[[date], bool] | None = None) -> date:
    if n is None:
        raise DateParseError("没有看懂天数。")
    if unit == "月":
        if n > 120:
            raise DateParseError("时间太远了。")
        index = today.month - 1 + n
        year, month = today.year + index // 12, index % 12 + 1
        return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    days = n * 7 if unit in ("周", "星期", "礼拜") else n
    if days > _MAX_DAYS:
        raise DateParseError("时间太远了。")
    if unit == "工作日":
        return _add_workdays(today, n, is_working_day)
    return today + timedelta(days=days)


def _add_workdays(today: date, n: int, is_working_day: Callable[[date], bool] | None = None) -> date:
    """Working days by the team's calendar when the context has it, else Monday to Friday."""
    working = is_working_day or (lambda day: day.weekday() < 5)
    day = today
    while n > 0:
        day += timedelta(days=1)
        if working(day):
            n -= 1
    return day


def _en_weekday(s: str, today: date) -> date | None:
    match = _EN_WEEKDAY.fullmatch(s)
    if match is None:
        return None
    word = match["d"]
    for index, (full, short) in enumerate(_EN_WEEKDAYS):
        if word.startswith(short) and full.startswith(word):
            return _on_weekday(today, index, match["pre"])
    if word == "weds":
        return _on_weekday(today, 2, match["pre"])
    return None


def _en_month_day(s: str, today: date) -> date | None:
    match = _EN_MONTH_FIRST.fullmatch(s) or _EN_DAY_FIRST.fullmatch(s)
    if match is None:
        return None
    word = match["mon"]
    month = next((i + 1 for i, name in enumerate(_MONTHS) if len(word) >= 3 and name.startswith(word)), None)
    if month is None:
        return None
    day = int(match["d"])
    if match["y"]:
        year = int(match["y"])
        if not 2000 <= year <= 2099:
            raise DateParseError(f"{year}年不在可用范围内（2000–2099）。")
        return _make_date(year, month, day)
    return _next_occurrence(today, month, day)


def _make_date(year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise DateParseError(f"没有{month}月。")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise DateParseError(f"{year}年{month}月没有{day}日（这个月只有{last}天）。")
    return date(year, month, day)
