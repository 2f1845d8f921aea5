"""Time zones as people name them: a city (伦敦, 东京) or an IANA name (Europe/London)."""

from __future__ import annotations

import re
from functools import cache
from typing import Final
from zoneinfo import available_timezones

CITIES: Final[dict[str, str]] = {
    "北京": "Asia/Shanghai", "上海": "Asia/Shanghai", "深圳": "Asia/Shanghai", "广州": "Asia/Shanghai",
    "成都": "Asia/Shanghai", "杭州": "Asia/Shanghai", "中国": "Asia/Shanghai", "北京时间": "Asia/Shanghai",
    "香港": "Asia/Hong_Kong", "澳门": "Asia/Macau", "台北": "Asia/Taipei",
    "东京": "Asia/Tokyo", "首尔": "Asia/Seoul", "新加坡": "Asia/Singapore", "吉隆坡": "Asia/Kuala_Lumpur",
    "曼谷": "Asia/Bangkok", "雅加达": "Asia/Jakarta", "胡志明市": "Asia/Ho_Chi_Minh", "河内": "Asia/Ho_Chi_Minh",
    "马尼拉": "Asia/Manila", "新德里": "Asia/Kolkata", "孟买": "Asia/Kolkata", "迪拜": "Asia/Dubai",
    "利雅得": "Asia/Riyadh", "伊斯坦布尔": "Europe/Istanbul", "莫斯科": "Europe/Moscow",
    "伦敦": "Europe/London", "巴黎": "Europe/Paris", "柏林": "Europe/Berlin", "法兰克福": "Europe/Berlin",
    "阿姆斯特丹": "Europe/Amsterdam", "马德里": "Europe/Madrid", "罗马": "Europe/Rome",
    "纽约": "America/New_York", "华盛顿": "America/New_York", "多伦多": "America/Toronto",
    "芝加哥": "America/Chicago", "洛杉矶": "America/Los_Angeles", "旧金山": "America/Los_Angeles",
    "西雅图": "America/Los_Angeles", "墨西哥城": "America/Mexico_City", "圣保罗": "America/Sao_Paulo",
    "悉尼": "Australia/Sydney", "墨尔本": "Australia/Melbourne", "奥克兰": "Pacific/Auckland",
    "协调世界时": "UTC", "UTC": "UTC", "GMT": "UTC",
}


_OFFSET: Final = re.compile(r"^(?:UTC|GMT)\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?00)?$", re.IGNORECASE)


@cache
def _iana() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def resolve_zone(text: str) -> str | None:
    """The IANA name for a city or zone name as typed (伦敦, 伦敦时间, europe/london, UTC+8), None when none."""
    word = text.strip()
    for candidate in (word, word.removesuffix("时间").strip()):
        if candidate in CITIES:
            return CITIES[candidate]
    offset = _OFFSET.match(word)
    if offset is not None and int(offset["hours"]) <= 14:
        hours = int(offset["hours"])
        # POSIX reverses the sign: Etc/GMT-8 is eight hours ahead of UTC.
        return "UTC" if hours == 0 else f"Etc/GMT{'-' if offset['sign'] == '+' else '+'}{hours}"
    return _iana().get(word.lower().replace(" ", "_"))
