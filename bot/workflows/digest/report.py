"""What a weekly digest and a monthly review say, computed from the chat's tasks and decisions.

The rules, in one place:
- A task counts in a period when it is due in it (any task or subtask of the chat, 已取消 left out).
- It is done on time when it is 已完成 and was completed at or before its due time.
- The completion rate is done-on-time / due-in-period, rounded down: 24 of 28 is 85%.
- Delayed: due in the period and not done on time (finished late, or still open); with the last
  reason given (延期原因).
- A cross-department request is reported when a department refused it (拒绝) or answered after
  its deadline (or has not answered by the end of the period).
- Blockers count by the task's department (else the department of whoever raised them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories import DirectoryRepository, TaskRepository
from storage.repositories.decisions import chat_decisions
from storage.tables import Decision, Task, TaskStatus, User

DELAY_REASON_EVENT = "delay_reason"
CANCELLED = TaskStatus.CANCELLED


def rate(done: int, total: int) -> int | None:
    return done * 100 // total if total else None


def on_time(task: Task) -> bool:
    return (task.status == TaskStatus.DONE and task.completed_at is not None and task.due_at is not None
            and task.completed_at <= task.due_at)


def week_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    monday = day - timedelta(days=day.weekday())
    tz = ZoneInfo(timezone)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
    return start, start + timedelta(days=7)


def month_bounds(year: int, month: int, timezone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(timezone)
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start, end


@dataclass
class WeeklyDigest:
    start: datetime
    end: datetime
    due: int
    on_time: int
    done: list[Task]
    in_progress: list[Task]
    overdue: list[Task]
    issues: list[tuple[Decision, Task]]
    due_next: list[Task]
    owners: dict[int, User] = field(default_factory=dict)

    @property
    def rate(self) -> int | None:
        return rate(self.on_time, self.due)


@dataclass
class Delayed:
    task: Task
    reason: str | None


@dataclass
class RequestTrouble:
    decision: Decision
    task: Task
    what: str


@dataclass
class MonthlyReview:
    year: int
    month: int
    due: int
    on_time: int
    delayed: list[Delayed]
    requests: list[RequestTrouble]
    blockers: list[tuple[str, int, int]]
    owners: dict[int, User] = field(default_factory=dict)

    @property
    def rate(self) -> int | None:
        return rate(self.on_time, self.due)


class Reports:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.tasks = TaskRepository(session, tenant_id)
        self.directory = DirectoryRepository(session, tenant_id)

    async def _tasks_by_id(self, decisions: list[Decision]) -> dict[int, Task]:
        return await self.tasks.by_ids([d.task_id for d in decisions])

    async def weekly(self, chat_id: int, start: datetime, end: datetime, now: datetime) -> WeeklyDigest:
        until = min(now, end)
        due = [t for t in await self.tasks.due_between(chat_id, start, until) if t.status != CANCELLED]
        open_tasks = await self.tasks.in_chat(chat_id)
        issues = await chat_decisions(self.session, self.tenant_id, chat_id, ("blocker", "risk"), live=True)
        tasks = await self._tasks_by_id(issues)
        digest = WeeklyDigest(
            start=start, end=end, due=len(due), on_time=sum(1 for t in due if on_time(t)),
            done=await self.tasks.completed_between(chat_id, start, until),
            in_progress=[t for t in open_tasks if t.due_at is None or t.due_at > now],
            overdue=[t for t in open_tasks if t.due_at is not None and t.due_at <= now],
            issues=[(d, tasks[d.task_id]) for d in issues if d.task_id in tasks],
            due_next=[t for t in open_tasks if t.due_at is not None and end <= t.due_at < end + timedelta(days=7)],
        )
        digest.owners = await self.directory.users_by_ids(
            [t.owner_id for t in (*digest.done, *open_tasks) if t.owner_id is not None])
        return digest

    async def monthly(self, chat_id: int, year: int, month: int, timezone: str, now: datetime) -> MonthlyReview:
        start, end = month_bounds(year, month, timezone)
        until = min(end, now)
        due = [t for t in await self.tasks.due_between(chat_id, start, until) if t.status != CANCELLED]
        late = [t for t in due if not on_time(t)]
        reasons = await self.tasks.latest_events([t.id for t in late if t.id is not None], DELAY_REASON_EVENT)
        requests = await chat_decisions(self.session, self.tenant_id, chat_id, ("collaboration",), start=start,
                                        end=end)
        blockers = await chat_decisions(self.session, self.tenant_id, chat_id, ("blocker",), start=start, end=end)
        tasks = await self._tasks_by_id([*requests, *blockers])
        review = MonthlyReview(
            year=year, month=month, due=len(due), on_time=len(due) - len(late),
            delayed=[Delayed(t, reasons[t.id].detail if t.id in reasons else None) for t in late],
            requests=await self._troubled(requests, tasks, until),
            blockers=await self._by_department(blockers, tasks),
        )
        review.owners = await self.directory.users_by_ids([t.owner_id for t in late if t.owner_id is not None])
        return review

    async def _troubled(self, requests: list[Decision], tasks: dict[int, Task],
                        until: datetime) -> list[RequestTrouble]:
        departments = {d.id: d.name for d in await self.directory.departments()}
        found: list[RequestTrouble] = []
        for decision in requests:
            task = tasks.get(decision.task_id)
            if task is None:
                continue
            who = departments.get(decision.department_id or 0, "部门")
            if decision.outcome == "reject":
                found.append(RequestTrouble(decision, task, f"{who} 拒绝：{decision.answer or '未写原因'}"))
            elif decision.due_at is not None and decision.responded_at is not None \
                    and decision.responded_at > decision.due_at:
                hours = (decision.responded_at - decision.due_at).total_seconds() / 3600
                found.append(RequestTrouble(decision, task, f"{who} 超时答复（晚 {max(1, round(hours))} 小时）"))
            elif decision.due_at is not None and decision.responded_at is None and decision.due_at < until \
                    and decision.state in ("open", "acknowledged"):
                found.append(RequestTrouble(decision, task, f"{who} 超时未答复"))
        return found

    async def _by_department(self, blockers: list[Decision], tasks: dict[int, Task]) -> list[tuple[str, int, int]]:
        departments = {d.id: d.name for d in await self.directory.departments()}
        users = await self.directory.users_by_ids([d.requester_id for d in blockers if d.requester_id])
        counts: dict[str, list[int]] = {}
        for decision in blockers:
            task = tasks.get(decision.task_id)
            requester = users.get(decision.requester_id or 0)
            department_id = (task.department_id if task else None) or (requester.department_id if requester else None)
            name = departments.get(department_id or 0, "未分部门")
            entry = counts.setdefault(name, [0, 0])
            entry[0] += 1
            entry[1] += decision.state in ("open", "acknowledged")
        return sorted(((name, n, unresolved) for name, (n, unresolved) in counts.items()), key=lambda e: (-e[1], e[0]))
