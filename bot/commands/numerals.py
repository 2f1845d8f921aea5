"""Small integers written in Arabic or Chinese numerals (三, 十五, 二十三, 两)."""

from __future__ import annotations

from typing import Final

_DIGITS: Final = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_UNITS: Final = {"十": 10, "百": 100}

# Regex fragment for a number in either script; lengths are capped so int() never sees huge input.
NUMBER: Final = r"(?:[0-9]{1,4}|[零〇一二两三四五六七八九十百]{1,5})"


def to_int(text: str) -> int | None:
    """The value of `text`, or None when it is not a number this module understands."""
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 6 else None
    total = 0
    pending: int | None = None
    for ch in text:
        if ch in _DIGITS:
            if pending is not None:
                return None
            pending = _DIGITS[ch]
        elif ch in _UNITS:
            total += (1 if pending is None else pending) * _UNITS[ch]
            pending = None
        else:
            return None
    return total + (pending or 0)
