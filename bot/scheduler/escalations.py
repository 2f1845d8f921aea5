"""Decision clocks enforced: an unanswered decision is first a reminder, then goes to the decider's superior.

The rule (bot/workflows/clocks.py): a decision still `open` (not even 已知悉) at its due_at gets a
reminder mentioning the decider in the task's chat; still open one more equal period later (2
working days for requests, changes and reviews; 24 h for a blocker; 4 h for a high risk, 24 h for
another) it is escalated to the decider's superior and the person who asked is told. Each step is
claimed once per (decision, decider, due_at); a hand-over to someone else starts the steps again.
Pushes wait for working time in the chat's timezone and the tenant's calendar, as reminders do.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.core import OutboundMessage
from bot.decisions.flow import flow_for
from bot.delivery.outbox import Outbox
from bot.engine.people import mention
from bot.engine.task_views import display_name
from bot.scheduler.pushes import conversation_of, local_label, per_tenant
from bot.workdays import tenant_calendar
from bot.workflows.clocks import escalation_at
from storage.db import Database
from storage.repositories import (
    DecisionRepository,
    DirectoryRepository,
    DispatchRepository,
    TaskRepository,
    TenantRepository,
)
from storage.repositories.decisions import open_decisions_due_by
from storage.tables import Decision, Tenant

REMIND_KIND, ESCALATE_KIND = "decision_remind", "decision_escalate"
# How far back a deadline may lie and still be acted on: the longest second period (2 working days,
# up to a week with a holiday between) and a long outage fit well inside it.
LOOK_BACK = timedelta(days=21)


class Escalations:
    def __init__(self, db: Database, settings: Settings, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.clock = clock

    async def run(self, at: datetime) -> int:
        # One indexed read across tenants: only what is already past its deadline is looked at.
        async with self.db.session() as session:
            # Every step of a decision falls within a few days of its deadline: older ones are done with.
            due = await open_decisions_due_by(session, at, since=at - LOOK_BACK)
            tenants = {t.id: t for t in await TenantRepository(session).all()} if due else {}
        by_tenant: dict[int, list[Decision]] = defaultdict(list)
        for decision in due:
            by_tenant[decision.tenant_id].append(decision)

        async def work(session: AsyncSession, tenant: Tenant) -> int:
            return await self._run_tenant(session, tenant, by_tenant[tenant.id or 0], at)

        queued = await per_tenant(self.db, "escalations", [tenants[t] for t in by_tenant if t in tenants], work)
        if queued:
            self.outbox.wake()
        return queued

    async def _run_tenant(self, session: AsyncSession, tenant: Tenant, decisions: list[Decision],
                          at: datetime) -> int:
        assert tenant.id is not None
        calendar = await tenant_calendar(session, tenant.id)
        directory = DirectoryRepository(session, tenant.id)
        tasks = TaskRepository(session, tenant.id)
        claims = DispatchRepository(session)
        escalated = await claims.already_claimed(
            (ESCALATE_KIND, f"decision:{d.id}", f"{d.decider_id}:{d.due_at.isoformat()}")
            for d in decisions if d.due_at is not None)
        queued = 0
        for stale in decisions:
            if stale.due_at is None or (ESCALATE_KIND, f"decision:{stale.id}",
                                        f"{stale.decider_id}:{stale.due_at.isoformat()}") in escalated:
                continue  # both steps taken: one read for all of them, nothing per row
            decision = await _fresh(session, stale)
            if decision is None or decision.state != "open" or decision.due_at is None or decision.due_at > at:
                continue
            task = await tasks.by_id(decision.task_id)
            chat_id = (task.chat_id if task else None) or decision.chat_id
            chat = await directory.chat(chat_id) if chat_id is not None else None
            if task is None or chat is None:
                continue
            timezone = chat.timezone or self.settings.timezone
            if not calendar.is_working_time(at, timezone, self.settings.workday_start, self.settings.workday_end):
                continue  # quiet hours: the next sweep in working time sends it
            escalate = escalation_at(decision, calendar, timezone, self.settings.workday_end)
            target, period = f"decision:{decision.id}", f"{decision.decider_id}:{decision.due_at.isoformat()}"
            step = ESCALATE_KIND if escalate is not None and at >= escalate else REMIND_KIND
            if step == ESCALATE_KIND:
                # A reminder not sent yet (downtime) is folded into the escalation, never sent after it.
                await claims.claim(REMIND_KIND, target, period, at)
            if not await claims.claim(step, target, period, at):
                continue
            decider = await directory.user(decision.decider_id)
            flow = flow_for(decision.kind)
            what = flow.name(decision) if flow else decision.kind
            tz = ZoneInfo(timezone)
            subject = f"{what}（任务 {task.code} {task.title}）"
            who = mention(decider) if decider else "处理人"
            if step == REMIND_KIND:
                text = (f"⏰ {subject} 已超过答复时限（{local_label(decision.due_at.astimezone(tz))}），"
                        f"请 {who} 尽快处理。")
                if escalate is not None:
                    text += f"{local_label(escalate.astimezone(tz))} 前仍未答复将升级给上级。"
            else:
                leader = await directory.user(decider.leader_user_id) if decider and decider.leader_user_id else None
                asker = await directory.user(decision.requester_id) if decision.requester_id else None
                if leader is not None:
                    text = (f"🔺 升级：{subject} {display_name(decider)} 超时未答复，"
                            f"请其上级 {mention(leader)} 协调处理。")
                else:
                    text = (f"🔺 升级：{subject} {display_name(decider)} 超时未答复，但未设置其上级，"
                            f"请管理员发送「设置上级 @{display_name(decider)} @上级」。")
                if asker is not None and asker.id != decision.decider_id:
                    text += f"{mention(asker)} 知悉。"
            message = OutboundMessage(conversation_of(tenant, chat), idempotency_key=f"{step}:{target}:{period}",
                                      text=text)
            await self.outbox.enqueue(session, message, tenant_id=tenant.id, at=self.clock.now(),
                                      task_code=task.code)
            queued += 1
        return queued


async def _fresh(session: AsyncSession, decision: Decision) -> Decision | None:
    """The decision as it is now, inside this tenant's transaction (it may have been answered meanwhile)."""
    return await DecisionRepository(session, decision.tenant_id).by_id(decision.id or 0)
