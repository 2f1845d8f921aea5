"""Working days: China's statutory holidays and make-up workdays (调休), with per-team overrides."""

from bot.workdays.calendar import CalendarOverrides, TeamCalendar
from bot.workdays.statutory import ChinaStatutoryCalendar, StatutoryCalendar
from bot.workdays.tenant import tenant_calendar

__all__ = ["CalendarOverrides", "ChinaStatutoryCalendar", "StatutoryCalendar", "TeamCalendar", "tenant_calendar"]
