"""The weekly digest (Friday 17:00, with a 15:00 nudge to update progress) and the monthly review.

When, in the team's calendar and at each chat's local time (its timezone; TUIJIN_TIMEZONE for
chats that keep none), so a chat abroad gets its digest at its own 17:00:
- the week's digest goes at 17:00 on its last working day from Monday to Friday (Friday, or
  Thursday when Friday is a holiday); the nudge at 15:00 the same day, to the owners of open tasks
  not updated for a day (and not on leave);
- the month's review (of the month before) goes at 10:00 on the month's first working day.
After downtime a digest is caught up in working time until the end of the next working day, and a
review within 5 working days; either is then marked 补发. A nudge is never caught up after 17:00.
Each push is claimed per (kind, chat, period); once a tenant's chats in one timezone are all done,
a marker claim per (kind, tenant and timezone, period) lets every later minute skip them with one
read. Each minute the sweep reads which timezones each tenant's chats keep (one statement across
tenants) and works out from each tenant's calendar, per timezone, whether anything is due, before
it opens a transaction; a tenant's chats are then read one timezone at a time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.core import Card, OutboundMessage
from bot.delivery.outbox import Outbox
from bot.scheduler.pushes import conversation_of, per_tenant
from bot.workdays import TeamCalendar
from bot.workdays.tenant import CalendarCache
from bot.workflows.digest.cards import monthly_card, nudge_text, weekly_card
from bot.workflows.digest.report import Reports, week_bounds
from storage.db import Database
from storage.repositories import (
    DirectoryRepository,
    DispatchRepository,
    LeaveRepository,
    TaskRepository,
    TenantRepository,
)
from storage.repositories.directory import chat_timezones_by_tenant
from storage.repositories.reviews import ReviewRepository
from storage.tables import Chat, Tenant

NUDGE_KIND, WEEKLY_KIND, MONTHLY_KIND = "weekly_nudge", "weekly_digest", "monthly_review"
NUDGE_AT, WEEKLY_AT, MONTHLY_AT = time(15, 0), time(17, 0), time(10, 0)
LATE_AFTER = timedelta(minutes=30)
# Digests built per minute across tenants: ten thousand chats take a few minutes instead of one
# long sweep that would hold back every other reminder; the rest follow in the next minutes.
PER_SWEEP = 500
REVIEW_CATCH_UP_WORKING_DAYS = 5
STALE_PROGRESS = timedelta(hours=24)

Content = tuple[str | None, Card | None]
# A timezone the chats of a tenant are in, and the values their rows hold for it ('' means the default).
Zones = dict[str, list[str]]


class Window(NamedTuple):
    """A push whose window the sweep's instant is in, for the chats of one timezone."""

    kind: str
    period: str
    scheduled: datetime
    # The period's anchor day: the week's Monday, or a day of the month reviewed.
    anchor: date


def digest_day(calendar: TeamCalendar, monday: date) -> date | None:
    """The week's last working day from Monday to Friday, or None for a week off."""
    for offset in range(4, -1, -1):
        day = monday + timedelta(days=offset)
        if calendar.is_working_day(day):
            return day
    return None


class Digests:
    def __init__(self, db: Database, settings: Settings, outbox: Outbox, clock: Clock, *,
                 per_sweep: int = PER_SWEEP) -> None:
        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.clock = clock
        self.per_sweep = per_sweep
        self._budget = per_sweep
        self._calendars = CalendarCache()

    async def run(self, at: datetime) -> int:
        # Most minutes no digest is due anywhere: that is decided from each tenant's calendar, kept
        # in this process while the tenant's calendar_version stays, and the timezones its chats
        # keep, without a transaction per tenant.
        windows: dict[int, list[tuple[str, Window]]] = {}
        zones: dict[int, Zones] = {}
        tenants: list[Tenant] = []
        async with self.db.session() as session:
            kept = {tenant_id: self._zones(names)
                    for tenant_id, names in (await chat_timezones_by_tenant(session)).items()}
            if not any(self._in_hours(at, timezone) for tenant_zones in kept.values() for timezone in tenant_zones):
                return 0  # outside working hours everywhere nothing is sent: no need to read more
            for tenant in await TenantRepository(session).all():
                tenant_zones = kept.get(tenant.id or 0, {})
                if not any(self._in_hours(at, timezone) for timezone in tenant_zones):
                    continue
                calendar = await self._calendars.get(session, tenant)
                due = [(timezone, window) for timezone in tenant_zones
                       for window in self._windows(calendar, at, timezone)]
                if due:
                    windows[tenant.id or 0], zones[tenant.id or 0] = due, tenant_zones
                    tenants.append(tenant)
        self._budget = self.per_sweep

        async def work(session: AsyncSession, tenant: Tenant) -> int:
            return await self._run_tenant(session, tenant, at, windows[tenant.id or 0], zones[tenant.id or 0])

        queued = await per_tenant(self.db, "digests", tenants, work)
        if queued:
            self.outbox.wake()
        return queued

    def _zones(self, names: set[str]) -> Zones:
        zones: Zones = {}
        for name in sorted(names):
            zones.setdefault(name or self.settings.timezone, []).append(name)
        return zones

    def _in_hours(self, at: datetime, timezone: str) -> bool:
        local = at.astimezone(ZoneInfo(timezone)).time()
        return self.settings.workday_start <= local < self.settings.workday_end

    def _windows(self, calendar: TeamCalendar, at: datetime, timezone: str) -> list[Window]:
        """The pushes whose window `at` is in, for chats in `timezone`."""
        settings = self.settings
        tz = ZoneInfo(timezone)
        today = at.astimezone(tz).date()
        if not calendar.is_working_time(at, timezone, settings.workday_start, settings.workday_end):
            return []
        found: list[Window] = []
        this_monday = today - timedelta(days=today.weekday())
        for monday in (this_monday, this_monday - timedelta(days=7)):
            day = digest_day(calendar, monday)
            if day is None:
                continue
            weekly_at = datetime.combine(day, WEEKLY_AT, tzinfo=tz)
            nudge_at = datetime.combine(day, NUDGE_AT, tzinfo=tz)
            catch_up_end = datetime.combine(calendar.next_working_day(day), settings.workday_end, tzinfo=tz)
            if nudge_at <= at < weekly_at:
                found.append(Window(NUDGE_KIND, monday.isoformat(), nudge_at, monday))
            if weekly_at <= at < catch_up_end:
                found.append(Window(WEEKLY_KIND, monday.isoformat(), weekly_at, monday))
        first = calendar.first_working_day_of_month(today.year, today.month)
        review_at = datetime.combine(first, MONTHLY_AT, tzinfo=tz)
        review_end = datetime.combine(calendar.add_working_days(first, REVIEW_CATCH_UP_WORKING_DAYS),
                                      settings.workday_end, tzinfo=tz)
        if review_at <= at < review_end:
            previous = first.replace(day=1) - timedelta(days=1)
            found.append(Window(MONTHLY_KIND, f"{previous.year}-{previous.month:02d}", review_at, previous))
        return found

    async def _run_tenant(self, session: AsyncSession, tenant: Tenant, at: datetime,
                          windows: list[tuple[str, Window]], zones: Zones) -> int:
        """The pushes of `windows` (timezone, window: what `run` found due) to this tenant's chats."""
        assert tenant.id is not None
        # Per timezone its own marker: the chats of one are done hours before (or after) those of another.
        due = [(timezone, f"tenant:{tenant.id}:{timezone}", window) for timezone, window in windows]
        claims = DispatchRepository(session)
        done = await claims.already_claimed((f"{window.kind}_done", marker, window.period)
                                            for _, marker, window in due)
        directory = DirectoryRepository(session, tenant.id)
        tasks = TaskRepository(session, tenant.id)
        queued = 0
        for timezone, marker, (kind, period, scheduled, anchor) in due:
            if (f"{kind}_done", marker, period) in done:
                continue
            since = datetime.combine(anchor.replace(day=1) if kind == MONTHLY_KIND else anchor, time(0),
                                     tzinfo=ZoneInfo(timezone))
            chat_ids = await tasks.active_chats(since, timezones=zones[timezone])
            sent = await claims.already_claimed((kind, f"chat:{chat_id}", period) for chat_id in chat_ids)
            pending = [c for c in chat_ids if (kind, f"chat:{c}", period) not in sent]
            if len(pending) > self._budget:
                pending, unfinished = pending[:self._budget], True
            else:
                unfinished = False
            self._budget -= len(pending)
            chats = await directory.chats_by_ids(pending)
            for chat_id in pending:
                chat = chats.get(chat_id)
                if chat is None or not await claims.claim(kind, f"chat:{chat_id}", period, at):
                    continue
                build = self._builders()[kind]
                content = await build(session, tenant, chat, anchor, at, at - scheduled > LATE_AFTER)
                if content is None:
                    continue
                text, card = content
                await self.outbox.enqueue(session, OutboundMessage(
                    conversation_of(tenant, chat), idempotency_key=f"{kind}:{chat_id}:{period}", text=text, card=card,
                ), tenant_id=tenant.id, at=self.clock.now())
                queued += 1
            if unfinished:
                break  # the next minute goes on where this one stopped
            await claims.claim(f"{kind}_done", marker, period, at)
        return queued

    def _builders(self) -> dict[str, Callable[[AsyncSession, Tenant, Chat, date, datetime, bool],
                                              Awaitable[Content | None]]]:
        return {NUDGE_KIND: self._nudge, WEEKLY_KIND: self._weekly, MONTHLY_KIND: self._monthly}

    def _tz(self, chat: Chat) -> str:
        return chat.timezone or self.settings.timezone

    async def _nudge(self, session: AsyncSession, tenant: Tenant, chat: Chat, monday: date, at: datetime,
                     late: bool) -> Content | None:
        assert tenant.id is not None
        open_tasks = await TaskRepository(session, tenant.id).in_chat(chat.id or 0)
        stale = [t.owner_id for t in open_tasks if t.owner_id is not None and t.updated_at < at - STALE_PROGRESS]
        today = at.astimezone(ZoneInfo(self._tz(chat))).date()
        away = await LeaveRepository(session, tenant.id).away_on(today, list(dict.fromkeys(stale)))
        users = await DirectoryRepository(session, tenant.id).users_by_ids([i for i in stale if i not in away])
        owners = [users[i] for i in dict.fromkeys(stale) if i in users]
        return (nudge_text(owners), None) if owners else None

    async def _weekly(self, session: AsyncSession, tenant: Tenant, chat: Chat, monday: date, at: datetime,
                      late: bool) -> Content | None:
        start, end = week_bounds(monday, self._tz(chat))
        digest = await Reports(session, tenant.id or 0).weekly(chat.id or 0, start, end, min(at, end))
        return None, weekly_card(digest, self._tz(chat), at, late=late)

    async def _monthly(self, session: AsyncSession, tenant: Tenant, chat: Chat, month_day: date, at: datetime,
                       late: bool) -> Content | None:
        review = await Reports(session, tenant.id or 0).monthly(chat.id or 0, month_day.year, month_day.month,
                                                                self._tz(chat), at)
        note = await ReviewRepository(session, tenant.id or 0).last(chat.id or 0)
        return None, monthly_card(review, self._tz(chat), note, late=late)
