"""The fixed "now" every command test is pinned to."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.commands import ParseContext

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday, mid-morning.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
CTX = ParseContext(now=NOW)


def at(year: int, month: int, day: int, hour: int = 18, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
