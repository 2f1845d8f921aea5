"""The daily stand-up sweep: prompt, reminder and summary per chat, on the team's working days.

Only stand-ups whose `next_at` has come are read (index ix_standup_next), so the cost follows
what is due, not the number of chats. Each step is claimed once per (step, chat, day) in the
transaction that queues it; the rules for late sweeps are in bot/workflows/standup/schedule.py.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.core import Card, OutboundMessage
from bot.delivery.outbox import Outbox
from bot.scheduler.pushes import conversation_of, per_tenant
from bot.workdays import tenant_calendar
from bot.workflows.standup.cards import prompt_card, reminder_text, summary_card
from bot.workflows.standup.schedule import PROMPT, PROMPT_GRACE, REMIND, SUMMARY, SUMMARY_LATE, next_due, phases
from bot.workflows.standup.service import away_on, members_of
from storage.db import Database
from storage.repositories import DirectoryRepository, DispatchRepository, TenantRepository
from storage.repositories.standups import StandupRepository, standups_due_by
from storage.tables import Standup, Tenant


class Standups:
    def __init__(self, db: Database, settings: Settings, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.clock = clock

    async def run(self, at: datetime) -> int:
        async with self.db.session() as session:
            due = await standups_due_by(session, at)
            tenants = await TenantRepository(session).by_ids(s.tenant_id for s in due)
        by_tenant: dict[int, list[int]] = defaultdict(list)
        for standup in due:
            by_tenant[standup.tenant_id].append(standup.chat_id)

        async def work(session: AsyncSession, tenant: Tenant) -> int:
            queued = 0
            for chat_id in by_tenant[tenant.id or 0]:
                queued += await self._run_chat(session, tenant, chat_id, at)
            return queued

        queued = await per_tenant(self.db, "standups", [tenants[t] for t in by_tenant if t in tenants], work)
        if queued:
            self.outbox.wake()
        return queued

    async def _run_chat(self, session: AsyncSession, tenant: Tenant, chat_id: int, at: datetime) -> int:
        assert tenant.id is not None
        standup = await StandupRepository(session, tenant.id).for_chat(chat_id, lock=True)
        if standup is None or not standup.enabled or standup.next_at is None or standup.next_at > at:
            return 0  # another sweep has done it, or it was changed meanwhile
        directory = DirectoryRepository(session, tenant.id)
        chat = await directory.chat(chat_id)
        if chat is None:
            return 0
        timezone = chat.timezone or self.settings.timezone
        calendar = await tenant_calendar(session, tenant.id)
        day = at.astimezone(ZoneInfo(timezone)).date()
        queued = 0
        if calendar.is_working_day(day):
            claims = DispatchRepository(session)
            target, period = f"chat:{chat_id}", day.isoformat()
            steps = [(kind, instant) for kind, instant in phases(standup, day, timezone) if instant <= at]
            kinds = {kind for kind, _ in steps}
            sent_prompt = False
            for kind, instant in steps:
                late = at - instant
                if kind == PROMPT and late > PROMPT_GRACE:
                    continue  # a stand-up asked hours late helps nobody: skipped
                asked = bool(await claims.already_claimed([(PROMPT, target, period)]))
                if kind != PROMPT and not asked:
                    continue  # nobody was asked today: nothing to remind of or sum up
                if kind == REMIND and (SUMMARY in kinds or late > PROMPT_GRACE or sent_prompt):
                    continue  # no reminder in the same breath as the prompt or the summary
                if not await claims.claim(kind, target, period, at):
                    continue
                sent_prompt = sent_prompt or kind == PROMPT
                content = await self._message(session, tenant, standup, kind, day, at, late > SUMMARY_LATE)
                if content is not None:
                    text, card = content
                    await self.outbox.enqueue(session, OutboundMessage(
                        conversation_of(tenant, chat), idempotency_key=f"{kind}:{chat_id}:{period}", text=text,
                        card=card,
                    ), tenant_id=tenant.id, at=self.clock.now())
                    queued += 1
        # A replay of a future instant (tuijin tick --at) leaves what is due before it to the real minutes.
        standup.next_at = next_due(standup, min(at, self.clock.now()), calendar, timezone)
        return queued

    async def _message(self, session: AsyncSession, tenant: Tenant, standup: Standup, kind: str, day: date,
                       at: datetime, late: bool) -> tuple[str | None, Card | None] | None:
        assert tenant.id is not None
        members, tasks = await members_of(session, tenant.id, standup)
        away = await away_on(session, tenant.id, day, members)
        chat = await DirectoryRepository(session, tenant.id).chat(standup.chat_id)
        timezone = (chat.timezone if chat else None) or self.settings.timezone
        if kind == PROMPT:
            return None, prompt_card(day, members, tasks, away, standup.summary_time, timezone, at)
        answers = {a.user_id: a for a in await StandupRepository(session, tenant.id).answers(standup.chat_id, day)}
        if kind == REMIND:
            missing = [m for m in members if m.id not in answers and m.id not in away]
            return (reminder_text(missing), None) if missing else None
        users = await DirectoryRepository(session, tenant.id).users_by_ids(list(answers))
        return None, summary_card(day, members, answers, users, away, late=late)
