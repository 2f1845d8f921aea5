"""Working days: China's statutory holidays and make-up workdays (调休), with per-team overrides."""

from bot.workdays.calendar import CalendarOverrides, TeamCalendar
from bot.workdays.statutory import ChinaStatutoryCalendar, StatutoryCalendar

__all__ = ["CalendarOverrides", "ChinaStatutoryCalendar", "StatutoryCalendar", "TeamCalendar"]
