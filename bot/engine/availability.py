"""Who is available to act for someone: the one rule every escalation follows when people are on leave.

When a decision or a late task goes up, it goes to the person's superior (设置上级, or the platform
directory). A superior on leave (请假) that day cannot act, so it goes on up the leader links to the
first one who is not on leave; when the whole chain is away (or ends), to the head of the person's
department, then to the tenant's admins. Whoever was passed over is named, with why, so the people
told know where it went. Leader links are followed at most once each: a cycle ends the walk.

Both sweeps (bot/scheduler/escalations.py and due_alerts.py) use `Availability`; each is bound to one
tenant (its repositories are) and to one day, the day of the sweep in the chat's timezone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.engine.task_views import display_name
from storage.repositories import DirectoryRepository, LeaveRepository
from storage.tables import User

# A leader chain longer than this is treated as ending there (no real organisation is this deep).
MAX_CHAIN = 32

Via = Literal["superior", "head", "admins", "none", "unset"]


@dataclass(frozen=True)
class Away:
    """Someone on leave on the day asked about, and the last day of that leave."""

    person: User
    until: date


@dataclass(frozen=True)
class StandIn:
    """Who acts above a person (empty when nobody can), how they were found, and who was passed over.

    `via`: "superior" (someone up the leader links), "head" (the department's head), "admins",
    "none" (everyone who could is on leave) or "unset" (the person has no superior at all; nobody
    was looked for, as before leave was considered: the admins are asked to set one).
    """

    acting: list[User]
    via: Via
    skipped: list[Away] = field(default_factory=list)

    def passed_over(self) -> str:
        """"王强 请假中，已转给 李娜", or "" when nobody was passed over."""
        if not self.skipped or not self.acting:
            return ""
        to = {"head": "部门负责人 ", "admins": "管理员 "}.get(self.via, "")
        return f"{away_names(self.skipped)} 请假中，已转给 {to}{'、'.join(display_name(u) for u in self.acting)}"

    def note(self) -> str:
        """"（王强 请假中，已转给 李娜）", or "" when nobody was passed over."""
        passed = self.passed_over()
        return f"（{passed}）" if passed else ""

    def nobody(self) -> str:
        """Why nobody can act, plainly: who is away and until when."""
        parts = [f"{display_name(a.person)} 请假至 {day_label(a.until)}" for a in self.skipped]
        said = "、".join(parts) if parts else "没有可联系的上级"
        return f"{said}，部门负责人和管理员也都不在，暂时没有人可以接手"


def away_names(away: list[Away]) -> str:
    return "、".join(display_name(a.person) for a in away)


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日"


class Availability:
    """Leave and leader links of one tenant, on one day; each person's leave is read once."""

    def __init__(self, directory: DirectoryRepository, leaves: LeaveRepository, day: date) -> None:
        assert directory.tenant_id == leaves.tenant_id
        self.directory = directory
        self.leaves = leaves
        self.day = day
        self._until: dict[int, date | None] = {}

    async def away(self, user: User | None) -> Away | None:
        """The person's leave on this day, if they are on leave."""
        if user is None or user.id is None:
            return None
        if user.id not in self._until:
            leave = (await self.leaves.away_on(self.day, [user.id])).get(user.id)
            self._until[user.id] = leave.end_day if leave is not None else None
        until = self._until[user.id]
        return Away(user, until) if until is not None else None

    async def above(self, person: User) -> StandIn:
        """Who acts for `person`'s superior: the first one up the leader links not on leave, else
        the department head, else the admins (never `person` themself)."""
        if person.leader_user_id is None:
            return StandIn([], "unset")
        skipped: list[Away] = []
        seen = {person.id}
        current: int | None = person.leader_user_id
        while current is not None and current not in seen and len(seen) <= MAX_CHAIN:
            seen.add(current)
            leader = await self.directory.user(current)
            if leader is None:
                break
            away = await self.away(leader)
            if away is None:
                return StandIn([leader], "superior", skipped)
            skipped.append(away)
            current = leader.leader_user_id
        passed = {a.person.id for a in skipped}
        department = await self.directory.department(person.department_id) if person.department_id else None
        head = await self.directory.user(department.head_user_id) if department and department.head_user_id else None
        if head is not None and head.id != person.id:
            away = await self.away(head)
            if away is None:
                return StandIn([head], "head", skipped)
            if head.id not in passed:
                skipped.append(away)
                passed.add(head.id)
        admins = [a for a in await self.directory.admins() if a.id != person.id]
        present = [a for a in admins if await self.away(a) is None]
        if present:
            return StandIn(present, "admins", skipped)
        return StandIn([], "none", skipped)


class Availabilities:
    """One tenant's `Availability` for each day a sweep asks about: a person's leave is read once
    per day however many decisions or late tasks name them."""

    def __init__(self, directory: DirectoryRepository, leaves: LeaveRepository) -> None:
        self.directory = directory
        self.leaves = leaves
        self._by_day: dict[date, Availability] = {}

    def on(self, day: date) -> Availability:
        if day not in self._by_day:
            self._by_day[day] = Availability(self.directory, self.leaves, day)
        return self._by_day[day]
