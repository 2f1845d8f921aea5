"""Due-soon and overdue reminders, each pushed once per (task, due date) or (task, day)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, FrozenClock
from bot.config import Settings
from bot.core import OutboundMessage
from bot.delivery.outbox import Outbox
from bot.engine.people import mention
from bot.engine.task_views import TaskViewBuilder, display_name
from bot.presentation.task_cards import task_card
from bot.scheduler.errors import SweepIncomplete
from bot.scheduler.pushes import conversation_of
from bot.workdays import TeamCalendar, tenant_calendar
from bot.workflows.clocks import overdue_working_days
from storage.db import Database
from storage.repositories import DirectoryRepository, DispatchRepository, TaskRepository, TenantRepository
from storage.tables import Chat, Task, Tenant

log = logging.getLogger(__name__)

DUE_SOON = timedelta(hours=24)
DUE_SOON_KIND, OVERDUE_KIND, OVERDUE_ESCALATE_KIND = "due_soon", "overdue", "overdue_escalate"


class DueAlerts:
    def __init__(self, db: Database, settings: Settings, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.clock = clock

    async def run(self, at: datetime) -> int:
        """Queue the reminders due at instant `at`; returns how many were queued.

        Each tenant is its own transaction: one tenant's bad row never rolls back the others'.
        """
        async with self.db.session() as session:
            tenants = await TenantRepository(session).all()
        queued = failed = 0
        for tenant in tenants:
            try:
                async with self.db.transaction() as session:
                    queued += await self._run_tenant(session, tenant, at)
            except Exception:
                failed += 1
                log.exception("due reminders failed for a tenant", extra={"tenant_id": tenant.id})
        if queued:
            log.info("due reminders queued", extra={"count": queued})
            self.outbox.wake()
        if failed:
            raise SweepIncomplete(f"{failed} of {len(tenants)} tenants failed", done=queued)
        return queued

    async def _run_tenant(self, session: AsyncSession, tenant: Tenant, at: datetime) -> int:
        assert tenant.id is not None
        tasks = TaskRepository(session, tenant.id)
        directory = DirectoryRepository(session, tenant.id)
        calendar = await tenant_calendar(session, tenant.id)
        chats: dict[int, Chat | None] = {}
        due: list[tuple[Task, Chat, str, str]] = []
        for task in await tasks.open_due_by(at + DUE_SOON):
            if task.chat_id is None:
                continue
            if task.chat_id not in chats:
                chats[task.chat_id] = await directory.chat(task.chat_id)
            chat = chats[task.chat_id]
            reminder = self._reminder(task, chat, at, calendar) if chat is not None else None
            if chat is not None and reminder is not None:
                due.append((task, chat, *reminder))
                if reminder[0] == OVERDUE_KIND and task.due_at is not None and overdue_working_days(
                    task.due_at, at, calendar, chat.timezone or self.settings.timezone,
                ) >= self.settings.overdue_escalate_working_days:
                    # Still late after N working days: once per due date, to the approver and the owner's superior.
                    due.append((task, chat, OVERDUE_ESCALATE_KIND, task.due_at.isoformat()))
        claims = DispatchRepository(session)
        taken = await claims.already_claimed((kind, f"task:{t.id}", period) for t, _, kind, period in due)
        # A replay of a past or future instant (tuijin tick --at) is sent now, not at that instant.
        send_at = self.clock.now()
        queued = 0
        for task, chat, kind, period in due:
            if (kind, f"task:{task.id}", period) in taken:
                continue
            if not await claims.claim(kind, f"task:{task.id}", period, at):
                continue
            if kind == OVERDUE_ESCALATE_KIND:
                message = await self._escalation(tenant, chat, task, period, at, directory, calendar)
            else:
                message = await self._message(tenant, chat, task, kind, period, at, tasks, directory)
            await self.outbox.enqueue(session, message, tenant_id=tenant.id, at=send_at, task_code=task.code)
            queued += 1
        return queued

    def _reminder(self, task: Task, chat: Chat, at: datetime, calendar: TeamCalendar) -> tuple[str, str] | None:
        assert task.due_at is not None
        timezone = chat.timezone or self.settings.timezone
        local = at.astimezone(ZoneInfo(timezone))
        if not calendar.is_working_time(at, timezone, self.settings.workday_start, self.settings.workday_end):
            return None
        if task.due_at <= at:
            return OVERDUE_KIND, local.date().isoformat()
        # A task created already inside the window needs no "due soon": its owner just took it on.
        if task.created_at >= task.due_at - DUE_SOON:
            return None
        return DUE_SOON_KIND, task.due_at.isoformat()

    async def _message(
        self, tenant: Tenant, chat: Chat, task: Task, kind: str, period: str, at: datetime,
        tasks: TaskRepository, directory: DirectoryRepository,
    ) -> OutboundMessage:
        timezone = chat.timezone or self.settings.timezone
        view = await TaskViewBuilder(tasks, directory, FrozenClock(at), timezone).build(task)
        owner = await directory.user(task.owner_id) if task.owner_id else None
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
        calendar: TeamCalendar,
    ) -> OutboundMessage:
        assert task.due_at is not None
        days = overdue_working_days(task.due_at, at, calendar, chat.timezone or self.settings.timezone)
        owner = await directory.user(task.owner_id) if task.owner_id else None
        superior = await directory.user(owner.leader_user_id) if owner and owner.leader_user_id else None
        approver = await directory.user(task.approver_id) if task.approver_id else None
        asked = list({u.id: u for u in (approver, superior) if u is not None}.values())
        who = "、".join(mention(u) for u in asked) if asked else "管理员（请为负责人设置上级或为任务设置审批人）"
        reason = await TaskRepository(directory.session, tenant.id or 0).latest_event(task.id or 0, "delay_reason")
        said = f"负责人说明：{reason.detail}" if reason is not None else "负责人尚未说明原因"
        text = (f"🔺 任务 {task.code} {task.title} 已延期 {days} 个工作日（负责人 {display_name(owner)}），"
                f"{said}。请 {who} 关注并协调。")
        key = f"{OVERDUE_ESCALATE_KIND}:{task.id}:{period}"
        return OutboundMessage(conversation_of(tenant, chat), idempotency_key=key, text=text)
