"""Small formatting helpers shared by the cards."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

WEEKDAYS = "一二三四五六日"


def local_due(at: datetime | None, timezone: str) -> str:
    if at is None:
        return "未设置"
    local = at.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M}（周{WEEKDAYS[local.weekday()]}）"


def short_due(at: datetime | None, timezone: str, as_of: datetime | None = None) -> str:
    if at is None:
        return "无截止"
    local = at.astimezone(ZoneInfo(timezone))
    # The year only when it is not the current one: lists stay short, and next year's 10月15日 is not misread.
    this_year = as_of.astimezone(ZoneInfo(timezone)).year if as_of is not None else local.year
    year = f"{local.year}年" if local.year != this_year else ""
    return f"{year}{local.month}月{local.day}日 {local:%H:%M}"


def progress_bar(percent: int, width: int = 10) -> str:
    filled = max(0, min(width, round(percent * width / 100)))
    return "▓" * filled + "░" * (width - filled) + f" {percent}%"
