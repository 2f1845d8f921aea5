"""Message text with a width-folded twin, so structure is matched leniently but user words are kept.

`fold` maps every character to exactly one character (full-width ASCII to ASCII, any Unicode
space to " "), so an index found in the folded text is valid in the original too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Zero-width characters sneak in from copy-paste and would otherwise split keywords.
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

_FOLD: Final[dict[int, str]] = {
    **{c: " " for c in range(0x3001) if chr(c).isspace()},
    **{c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
}

# Punctuation that separates parts of a command; stripped from the edges of values.
SEPARATORS: Final = " ,;:、。"


def fold(text: str) -> str:
    return text.translate(_FOLD)


@dataclass(frozen=True, slots=True)
class Folded:
    orig: str
    fold: str

    @classmethod
    def of(cls, text: str) -> Folded:
        cleaned = text.translate(_INVISIBLE)
        return cls(cleaned, fold(cleaned))

    def cut(self, start: int, end: int | None = None) -> Folded:
        return Folded(self.orig[start:end], self.fold[start:end])

    def strip(self, chars: str = SEPARATORS) -> Folded:
        start = len(self.fold) - len(self.fold.lstrip(chars))
        end = len(self.fold.rstrip(chars))
        return self.cut(start, max(start, end))

    def __bool__(self) -> bool:
        return bool(self.fold)


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only: str.lower() can change the length of non-ASCII text."""
    return text.translate(_ASCII_LOWER)
