"""What the parser needs to know about "now" to resolve relative dates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time


@dataclass(frozen=True, slots=True)
class ParseContext:
    """`now` must be timezone-aware and already converted to the team's timezone."""

    now: datetime
    workday_end: time = time(18, 0)
    # The team's calendar, for 3个工作日后; without it only weekends are days off.
    is_working_day: Callable[[date], bool] | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("ParseContext.now must be timezone-aware")
