"""Due-soon and overdue reminders, each pushed once per (task, due date) or (task, day)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, FrozenClock
from bot.config import Settings
from bot.core import OutboundMessage
from bot.core.serialize import message_to_dict
from bot.delivery.outbox import Outbox
from bot.engine.availability import Availabilities, StandIn
from bot.engine.people import mention
from bot.engine.task_views import TaskViewBuilder, display_name
from bot.engine.views import TaskView
from bot.presentation.task_cards import task_card
from bot.scheduler.errors import SweepIncomplete
from bot.scheduler.pushes import conversation_of
from bot.workdays import TeamCalendar, tenant_calendar
from bot.workflows.clocks import overdue_working_days
from storage.db import Database
from storage.repositories import (
    DirectoryRepository,
    DispatchRepository,
    LeaveRepository,
    OutboxRepository,
    TaskRepository,
    TenantRepository,
)
from storage.tables import Chat, Task, Tenant, User

log = logging.getLogger(__name__)

DUE_SOON = timedelta(hours=24)
# A pass this recent lets the next one read only what changed; a longer gap (downtime, a missed
# minute) reads everything due again. Reminders are claimed once, so reading more never sends twice.
INCREMENTAL_GAP = timedelta(minutes=5)
# Reminders built per batch of reads (views, owners).
CHUNK = 500
# Tenants swept at once on PostgreSQL (each holds a pooled connection meanwhile).
TENANTS_AT_ONCE = 3
# Reminders a sweep queues, about at most: once past it, the tenants not yet swept wait for the
# next minute, and go first then. A backlog (the first sweep after a start or an outage, a company
# importing its tasks) is spread over minutes instead of one long sweep holding connections and
# memory; it loses no time, as it is still more than Feishu lets one app send in a minute (50/s).
PER_SWEEP = 8_000
DUE_SOON_KIND, OVERDUE_KIND, OVERDUE_ESCALATE_KIND = "due_soon", "overdue", "overdue_escalate"


class DueAlerts:
    def __init__(self, db: Database, settings: Settings, outbox: Outbox, clock: Clock, *,
                 per_sweep: int = PER_SWEEP) -> None:
        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.clock = clock
        self.per_sweep = per_sweep
        # When this process last finished each tenant's pass: the next minute reads only what changed.
        self._passes: dict[int, datetime] = {}
        # Tenants a full sweep left for the next minute: swept first then.
        self._deferred: set[int] = set()

    async def run(self, at: datetime) -> int:
        """Queue the reminders due at instant `at`; returns how many were queued.

        Each tenant is its own transaction: one tenant's bad row never rolls back the others'.
        Past `per_sweep` reminders the remaining tenants are left for the next minute (whole
        tenants: one tenant's reminders are never split).
        """
        async with self.db.session() as session:
            tenants = await TenantRepository(session).all()
        tenants.sort(key=lambda tenant: (tenant.id or 0) not in self._deferred)
        self._deferred = set()
        queued = failed = 0
        # A few tenants at a time on a server database: while one waits for its inserts, the next
        # builds its reminders, so the first sweep after a start is not the sum of both.
        turns = asyncio.Semaphore(1 if self.db.is_sqlite else TENANTS_AT_ONCE)

        async def one(tenant: Tenant) -> None:
            nonlocal queued, failed
            async with turns:
                if queued >= self.per_sweep:
                    # Its next pass reads everything due again (no incremental read from an old pass).
                    self._deferred.add(tenant.id or 0)
                    self._passes.pop(tenant.id or 0, None)
                    return
                try:
                    async with self.db.transaction() as session:
                        count = await self._run_tenant(session, tenant, at)
                    # Added after the await: `queued += await …` would read `queued` before it.
                    queued += count
                    self._passes[tenant.id or 0] = at
                except Exception:
                    failed += 1
                    self._passes.pop(tenant.id or 0, None)
                    log.exception("due reminders failed for a tenant", extra={"tenant_id": tenant.id})

        await asyncio.gather(*(one(tenant) for tenant in tenants))
        if self._deferred:
            log.info("due reminders: tenants left for the next minute", extra={"count": len(self._deferred)})
        if queued:
            log.info("due reminders queued", extra={"count": queued})
            self.outbox.wake()
        if failed:
            raise SweepIncomplete(f"{failed} of {len(tenants)} tenants failed", done=queued)
        return queued

    async def _incremental_since(self, tenant_id: int, at: datetime, calendar: TeamCalendar,
                                 directory: DirectoryRepository) -> datetime | None:
        """The last pass this process made for the tenant, when only what changed since needs reading.

        None (read everything due) after a restart, a gap, a replay of another instant, or when
        working time began or ended, or the day changed, in any of the tenant's chats' timezones:
        then reminders held back in quiet hours and the day's 🔴 alerts fall due all at once.
        """
        last = self._passes.get(tenant_id)
        if last is None or not timedelta(0) < at - last <= INCREMENTAL_GAP:
            return None
        start, end = self.settings.workday_start, self.settings.workday_end
        for timezone in await directory.chat_timezones() or {self.settings.timezone}:
            tz = ZoneInfo(timezone)
            working = (calendar.is_working_time(moment, timezone, start, end) for moment in (last, at))
            if last.astimezone(tz).date() != at.astimezone(tz).date() or len(set(working)) > 1:
                return None
        return last

    async def _run_tenant(self, session: AsyncSession, tenant: Tenant, at: datetime) -> int:
        assert tenant.id is not None
        tasks = TaskRepository(session, tenant.id)
        directory = DirectoryRepository(session, tenant.id)
        calendar = await tenant_calendar(session, tenant.id)
        since = await self._incremental_since(tenant.id, at, calendar, directory)
        candidates = (await tasks.open_due_by(at + DUE_SOON) if since is None
                      else await tasks.open_newly_due(since, at, DUE_SOON))
        chats = await directory.chats_by_ids([t.chat_id for t in candidates if t.chat_id is not None])
        working = {tz: calendar.is_working_time(at, tz, self.settings.workday_start, self.settings.workday_end)
                   for tz in {c.timezone or self.settings.timezone for c in chats.values()}}
        due: list[tuple[Task, Chat, str, str]] = []
        for task in candidates:
            chat = chats.get(task.chat_id) if task.chat_id is not None else None
            in_hours = chat is not None and working[chat.timezone or self.settings.timezone]
            reminder = self._reminder(task, chat, at) if chat is not None and in_hours else None
            if chat is None or reminder is None:
                continue
            due.append((task, chat, *reminder))
            if reminder[0] == OVERDUE_KIND and task.due_at is not None and overdue_working_days(
                task.due_at, at, calendar, chat.timezone or self.settings.timezone,
            ) >= self.settings.overdue_escalate_working_days:
                # Still late after N working days: once per due date, to the approver and the owner's superior.
                due.append((task, chat, OVERDUE_ESCALATE_KIND, task.due_at.isoformat()))
        # Claimed in one go: what this pass gets is exactly what was not sent before.
        got = await DispatchRepository(session).claim_many(
            ((kind, f"task:{t.id}", period) for t, _, kind, period in due), at)
        fresh = [d for d in due if (d[2], f"task:{d[0].id}", d[3]) in got]
        # A replay of a past or future instant (tuijin tick --at) is sent now, not at that instant.
        send_at = self.clock.now()
        rows: list[dict[str, object]] = []
        availabilities = Availabilities(directory, LeaveRepository(session, tenant.id))
        for start in range(0, len(fresh), CHUNK):
            rows.extend(await self._messages(tenant, fresh[start:start + CHUNK], at, tasks, directory, calendar,
                                             availabilities))
        return await OutboxRepository(session).enqueue_many(rows, send_at)

    async def _messages(
        self, tenant: Tenant, due: list[tuple[Task, Chat, str, str]], at: datetime, tasks: TaskRepository,
        directory: DirectoryRepository, calendar: TeamCalendar, availabilities: Availabilities,
    ) -> list[dict[str, object]]:
        """Outbox rows for a chunk of reminders: their views and owners read in a few queries."""
        views: dict[int, TaskView] = {}
        reminders = [d for d in due if d[2] != OVERDUE_ESCALATE_KIND]
        for timezone in {chat.timezone or self.settings.timezone for _, chat, _, _ in reminders}:
            group = list({t.id: t for t, chat, _, _ in reminders
                          if (chat.timezone or self.settings.timezone) == timezone}.values())
            built = await TaskViewBuilder(tasks, directory, FrozenClock(at), timezone).build_many(group)
            views.update((t.id or 0, v) for t, v in zip(group, built, strict=True))
        owners = await directory.users_by_ids([t.owner_id for t, _, _, _ in due if t.owner_id is not None])
        rows: list[dict[str, object]] = []
        for task, chat, kind, period in due:
            if kind == OVERDUE_ESCALATE_KIND:
                message = await self._escalation(tenant, chat, task, period, at, directory, calendar,
                                                 availabilities)
            else:
                message = self._message(tenant, chat, task, kind, period, views[task.id or 0],
                                        owners.get(task.owner_id or 0))
            conv = message.conversation
            rows.append({"tenant_id": tenant.id, "platform": conv.platform, "tenant_key": conv.tenant_key,
                         "chat_id": conv.chat_id, "idempotency_key": message.idempotency_key,
                         "payload": message_to_dict(message), "task_code": task.code})
        return rows

    def _reminder(self, task: Task, chat: Chat, at: datetime) -> tuple[str, str] | None:
        """Which reminder the task is due at `at` (in working time: the caller checks), if any."""
        assert task.due_at is not None
        local = at.astimezone(ZoneInfo(chat.timezone or self.settings.timezone))
        if task.due_at <= at:
            return OVERDUE_KIND, local.date().isoformat()
        # A task created already inside the window needs no "due soon": its owner just took it on.
        if task.created_at >= task.due_at - DUE_SOON:
            return None
        return DUE_SOON_KIND, task.due_at.isoformat()

    def _message(self, tenant: Tenant, chat: Chat, task: Task, kind: str, period: str, view: TaskView,
                 owner: User | None) -> OutboundMessage:
        who = mention(owner) if owner else "负责人"
        if kind == OVERDUE_KIND:
            headline = (f"🔴 任务已延期，请 {who} 说明原因并给出新的完成日期，"
                        f"例如：延期原因 {task.code} 素材未到 新截止 下周三")
        else:
            headline = f"⏰ 任务即将到期，请 {who} 关注。"
        return OutboundMessage(conversation_of(tenant, chat), idempotency_key=f"{kind}:{task.id}:{period}",
                               card=task_card(view, headline=headline))

    async def _escalation(
        self, tenant: Tenant, chat: Chat, task: Task, period: str, at: datetime, directory: DirectoryRepository,
        calendar: TeamCalendar, availabilities: Availabilities,
    ) -> OutboundMessage:
        assert task.due_at is not None
        days = overdue_working_days(task.due_at, at, calendar, chat.timezone or self.settings.timezone)
        owner = await directory.user(task.owner_id) if task.owner_id else None
        tz = ZoneInfo(chat.timezone or self.settings.timezone)
        available = availabilities.on(at.astimezone(tz).date())
        # The owner's superior, or whoever acts for them while they are on leave (bot/engine/availability.py).
        stand_in = await available.above(owner) if owner is not None else StandIn([], "unset")
        approver = await directory.user(task.approver_id) if task.approver_id else None
        skipped = list(stand_in.skipped)
        approver_away = await available.away(approver)
        if approver_away is not None:
            approver = None
            if all(a.person.id != approver_away.person.id for a in skipped):
                skipped.insert(0, approver_away)
        asked = list({u.id: u for u in (approver, *stand_in.acting) if u is not None}.values())
        reason = await TaskRepository(directory.session, tenant.id or 0).latest_event(task.id or 0, "delay_reason")
        said = f"负责人说明：{reason.detail}" if reason is not None else "负责人尚未说明原因"
        text = f"🔺 任务 {task.code} {task.title} 已延期 {days} 个工作日（负责人 {display_name(owner)}），{said}。"
        if asked:
            who = "、".join(mention(u) for u in asked)
            notes = [f"审批人 {display_name(approver_away.person)} 请假中"] if approver_away is not None else []
            if passed := stand_in.passed_over():
                notes.append(passed)
            if notes:
                who += f"（{'；'.join(notes)}）"
            text += f"请 {who} 关注并协调。"
        elif skipped:
            # Everyone who could act is on leave: said plainly, to the person who set the task.
            initiator = await directory.user(task.initiator_id) if task.initiator_id else None
            told = mention(initiator) if initiator is not None and initiator.id != task.owner_id else "发起人"
            text += f"{StandIn([], 'none', skipped).nobody()}，请 {told} 另找人跟进。"
        else:
            text += "请 管理员（请为负责人设置上级或为任务设置审批人） 关注并协调。"
        key = f"{OVERDUE_ESCALATE_KIND}:{task.id}:{period}"
        return OutboundMessage(conversation_of(tenant, chat), idempotency_key=key, text=text)
