"""Decision clocks enforced: an unanswered decision is first a reminder, then goes to the decider's superior.

The rule (bot/workflows/clocks.py): a decision still `open` (not even 已知悉) at its due_at gets a
reminder mentioning the decider in the task's chat; still open one more equal period later (2
working days for requests, changes and reviews; 24 h for a blocker; 4 h for a high risk, 24 h for
another) it is escalated to the decider's superior and the person who asked is told. Each step is
claimed once per (decision, decider, due_at); a hand-over to someone else starts the steps again.
Nobody on leave that day is asked (bot/engine/availability.py): an escalation passes a superior on
leave for the next one up, the department head or the admins, and says so; a reminder for a decider
on leave goes to the person who asked, with how to hand it over.
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
from bot.decisions.cards import reference
from bot.decisions.flow import flow_for
from bot.delivery.outbox import Outbox
from bot.engine.availability import Availabilities, Availability, StandIn, day_label
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
    LeaveRepository,
    TaskRepository,
    TenantRepository,
)
from storage.repositories.decisions import open_decisions_due_by
from storage.tables import Decision, Task, Tenant, User

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
            tenants = await TenantRepository(session).by_ids(d.tenant_id for d in due)
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
        availabilities = Availabilities(directory, LeaveRepository(session, tenant.id))
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
            asker = await directory.user(decision.requester_id) if decision.requester_id else None
            if asker is not None and asker.id == decision.decider_id:
                asker = None
            available = availabilities.on(at.astimezone(ZoneInfo(timezone)).date())
            text = await self._text(step, decision, task, decider, asker, available, escalate, timezone)
            message = OutboundMessage(conversation_of(tenant, chat), idempotency_key=f"{step}:{target}:{period}",
                                      text=text)
            await self.outbox.enqueue(session, message, tenant_id=tenant.id, at=self.clock.now(),
                                      task_code=task.code)
            queued += 1
        return queued

    async def _text(self, step: str, decision: Decision, task: Task, decider: User | None, asker: User | None,
                    available: Availability, escalate: datetime | None, timezone: str) -> str:
        assert decision.due_at is not None
        flow = flow_for(decision.kind)
        what = flow.name(decision) if flow else decision.kind
        tz = ZoneInfo(timezone)
        subject = f"{what}（任务 {task.code} {task.title}）"
        away = await available.away(decider)
        # Who acts above the decider: only worked out when it is said (an escalation, or a reminder
        # to the asker because the decider is away).
        stand_in = (await available.above(decider) if decider is not None and (step == ESCALATE_KIND or away)
                    else StandIn([], "unset"))
        if step == REMIND_KIND:
            late = f"⏰ {subject} 已超过答复时限（{local_label(decision.due_at.astimezone(tz))}）"
            if away is None or decider is None:
                text = f"{late}，请 {mention(decider) if decider else '处理人'} 尽快处理。"
                if escalate is not None:
                    text += f"{local_label(escalate.astimezone(tz))} 前仍未答复将升级给上级。"
                return text
            # The decider is away: the reminder is for the person who asked, who can act on it.
            text = f"{late}，但 {display_name(decider)} 请假中（至 {day_label(away.until)}）。"
            who = mention(asker) if asker is not None else "发起人"
            if flow is not None and any(o.hands_over for o in flow.options):
                text += f"{who} 可发送「转交 {reference(decision, task)} @某人」交给其他人处理。"
            else:
                text += f"{who} 可先联系其他负责人协调。"
            if escalate is not None:
                then = local_label(escalate.astimezone(tz))
                if stand_in.acting:
                    names = "、".join(display_name(u) for u in stand_in.acting)
                    text += f"{then} 前仍未答复将升级给 {names}。"
                else:
                    text += f"{then} 前仍未答复将升级给上级。"
            return text
        name = display_name(decider)
        if away is not None:
            name += f"（请假至 {day_label(away.until)}）"
        if stand_in.via == "unset":
            text = (f"🔺 升级：{subject} {name} 超时未答复，但未设置其上级，"
                    f"请管理员发送「设置上级 @{display_name(decider)} @上级」。")
        elif not stand_in.acting:
            text = f"🔺 升级：{subject} {name} 超时未答复；{stand_in.nobody()}。"
            if asker is not None:
                return text + f"{mention(asker)} 请另找人协调，或等其销假后再跟进。"
            return text
        else:
            role = {"superior": "其上级", "head": "部门负责人", "admins": "管理员"}[stand_in.via]
            whom = "、".join(mention(u) for u in stand_in.acting)
            text = f"🔺 升级：{subject} {name} 超时未答复，请{role} {whom} 协调处理{stand_in.note()}。"
        if asker is not None:
            text += f"{mention(asker)} 知悉。"
        return text


async def _fresh(session: AsyncSession, decision: Decision) -> Decision | None:
    """The decision as it is now, inside this tenant's transaction (it may have been answered meanwhile)."""
    return await DecisionRepository(session, decision.tenant_id).by_id(decision.id or 0)
