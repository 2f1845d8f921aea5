"""What the parser needs to know about "now" to resolve relative dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time


@dataclass(frozen=True, slots=True)
class ParseContext:
    """`now` must be timezone-aware and already converted to the team's timezone."""

    now: datetime
    workday_end: time = time(18, 0)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("ParseContext.now must be timezone-aware")
