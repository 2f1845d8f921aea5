"""Changing the team calendar and recording leave; the rules of who may do which are in policy.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.commands import PersonRef
from bot.engine.errors import DomainError
from bot.engine.policy import may_manage_organisation, may_record_leave
from bot.engine.task_views import display_name
from bot.scope import Scope
from bot.workdays import tenant_calendar
from bot.workflows.calendar.commands import EndLeave, SetHoliday, SetTimezone, SetWorkday, TakeLeave
from bot.workflows.standup.schedule import next_due
from storage.repositories import CalendarRepository, LeaveRepository
from storage.repositories.standups import StandupRepository
from storage.tables import Leave, User


@dataclass(frozen=True)
class LeaveView:
    person: User
    start: date
    end: date


class CalendarService:
    def __init__(self, scope: Scope) -> None:
        assert scope.tenant.id is not None
        self.scope = scope
        self.days = CalendarRepository(scope.session, scope.tenant.id)
        self.leaves = LeaveRepository(scope.session, scope.tenant.id)

    def today(self) -> date:
        return self.scope.clock.now().astimezone(ZoneInfo(self.scope.timezone)).date()

    async def _require_admin(self, what: str = "公司日历") -> None:
        if may_manage_organisation(self.scope.user.is_admin):
            return
        admins = "、".join(display_name(a) for a in await self.scope.directory.admins()) or "（暂无）"
        raise DomainError(f"只有管理员可以修改{what}。当前管理员：{admins}。")

    async def set_timezone(self, command: SetTimezone) -> bool:
        """The chat's own time zone, its stand-up rescheduled by it; False when it was that already."""
        assert command.timezone is not None
        await self._require_admin("本群的时区")
        if self.scope.timezone == command.timezone:
            return False
        self.scope.chat.timezone = command.timezone
        self.scope.timezone = command.timezone
        standup = await StandupRepository(self.scope.session, self.scope.tenant.id or 0).for_chat(
            self.scope.chat.id or 0)
        if standup is not None and standup.enabled:
            standup.next_at = next_due(standup, self.scope.clock.now(), self.scope.calendar, command.timezone)
        return True

    async def _reload(self) -> None:
        """The new calendar for this command, and every stand-up of the tenant rescheduled by it."""
        self.scope.calendar = await tenant_calendar(self.scope.session, self.scope.tenant.id or 0)
        now = self.scope.clock.now()
        for standup in await StandupRepository(self.scope.session, self.scope.tenant.id or 0).enabled():
            chat = await self.scope.directory.chat(standup.chat_id)
            timezone = (chat.timezone if chat else None) or self.scope.timezone
            standup.next_at = next_due(standup, now, self.scope.calendar, timezone)

    async def set_holiday(self, command: SetHoliday) -> list[date]:
        await self._require_admin()
        days = [command.start + timedelta(days=n) for n in range((command.end - command.start).days + 1)]
        await self.days.set_days(days, workday=False, name=command.name or "假期", by=self.scope.user.id,
                                 at=self.scope.clock.now())
        await self._reload()
        return days

    async def set_workday(self, command: SetWorkday) -> bool:
        """False when the day was a working day already (nothing to change)."""
        await self._require_admin()
        calendar = self.scope.calendar
        if calendar.is_working_day(command.day) and command.day not in calendar.overrides.days_off:
            return False
        await self.days.set_days([command.day], workday=True, name=command.name or "调休上班", by=self.scope.user.id,
                                 at=self.scope.clock.now())
        await self._reload()
        return True

    async def _subject(self, person: PersonRef | None) -> User:
        actor = self.scope.user
        if person is None:
            return actor
        subject = await self.scope.people.resolve(person)
        if subject.id == actor.id:
            return subject
        department = await self.scope.directory.department(subject.department_id) if subject.department_id else None
        head_id = department.head_user_id if department else None
        if not may_record_leave(actor.id or 0, actor.is_admin, subject.id or 0, subject.leader_user_id, head_id):
            raise DomainError(f"只有 {display_name(subject)} 本人、其上级、部门负责人或管理员可以为其登记请假或销假。")
        return subject

    async def take_leave(self, command: TakeLeave) -> LeaveView:
        subject = await self._subject(command.person)
        today = self.today()
        start = command.start or today
        if command.end < today:
            raise DomainError("请假的结束日期已经过去了。例如：请假 至 周五")
        # A new leave replaces what it overlaps: the last word on one's days away counts.
        for leave in await self.leaves.current_or_future(subject.id or 0, start):
            if leave.start_day <= command.end:
                await self.leaves.remove(leave)
        await self.leaves.add(Leave(tenant_id=self.scope.tenant.id or 0, user_id=subject.id or 0, start_day=start,
                                    end_day=command.end, set_by_id=self.scope.user.id,
                                    created_at=self.scope.clock.now()))
        return LeaveView(subject, start, command.end)

    async def end_leave(self, command: EndLeave) -> tuple[User, bool]:
        subject = await self._subject(command.person)
        today = self.today()
        ended = False
        for leave in await self.leaves.current_or_future(subject.id or 0, today):
            ended = True
            if leave.start_day < today:
                leave.end_day = today - timedelta(days=1)
            else:
                await self.leaves.remove(leave)
        return subject, ended

    async def leave_in(self, first: date, last: date) -> list[LeaveView]:
        found = await self.leaves.overlapping(first, last)
        users = await self.scope.directory.users_by_ids([leave.user_id for leave in found])
        return [LeaveView(users[leave.user_id], max(leave.start_day, first), min(leave.end_day, last))
                for leave in found if leave.user_id in users]
