"""The scope of one inbound event: tenant, chat and acting user, created on first sight."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.commands import ParseContext
from bot.config import Settings
from bot.core import ConversationRef, UserRef
from bot.engine.people import PeopleResolver
from bot.engine.tasks import TaskService
from bot.workdays import TeamCalendar, tenant_calendar
from storage.repositories import DirectoryRepository, TenantRepository
from storage.tables import Chat, Tenant, User


@dataclass
class Scope:
    session: AsyncSession
    tenant: Tenant
    chat: Chat
    user: User
    conversation: ConversationRef
    directory: DirectoryRepository
    tasks: TaskService
    people: PeopleResolver
    clock: Clock
    timezone: str
    workday_end: time
    # Text typed into a card's field and submitted with the pressed button (form values).
    inputs: dict[str, str] = field(default_factory=dict)
    # The tenant's calendar (national holidays and 调休, with its admins' 假期 and 调休 on top).
    calendar: TeamCalendar = field(default_factory=TeamCalendar)
    workday_start: time = time(9, 0)

    def parse_context(self) -> ParseContext:
        return ParseContext(now=self.clock.now().astimezone(ZoneInfo(self.timezone)), workday_end=self.workday_end,
                            is_working_day=self.calendar.is_working_day)


async def open_scope(
    session: AsyncSession, conversation: ConversationRef, actor: UserRef, *, settings: Settings, clock: Clock,
    mentions: tuple[UserRef, ...] = (),
) -> Scope:
    tenant = await TenantRepository(session).ensure(
        conversation.platform, conversation.tenant_key, code_prefix=settings.task_code_prefix
    )
    assert tenant.id is not None
    directory = DirectoryRepository(session, tenant.id)
    # The first person to use the bot in a tenant administers it (and can name others). Until the
    # tenant has an admin, the tenant row is taken before any other row, so concurrent first
    # contacts queue here rather than deadlock on each other's user rows.
    needs_admin = not await directory.has_admin()
    if needs_admin:
        await TenantRepository(session).lock(tenant.id)
        needs_admin = not await directory.has_admin()
    chat = await directory.ensure_chat(
        conversation.chat_id, name=conversation.chat_name, chat_type=conversation.chat_type,
        timezone=settings.timezone,
    )
    # Everyone in one order (by platform id), so two events naming the same people in different
    # orders cannot deadlock on their user rows.
    names = {m.user_id: m.name for m in mentions}
    names[actor.user_id] = actor.name
    users = {uid: await directory.ensure_user(uid, names[uid]) for uid in sorted(names)}
    user = users[actor.user_id]
    if needs_admin:
        user.is_admin = True
    timezone = chat.timezone or settings.timezone
    workday_end = settings.workday_end
    if isinstance(chat.settings, dict) and chat.settings.get("workday_end"):
        workday_end = time.fromisoformat(str(chat.settings["workday_end"]))
    people = PeopleResolver(directory, {m.user_id: m.name for m in mentions})
    service = TaskService(session, tenant, clock, people=people, timezone=timezone)
    return Scope(
        session=session, tenant=tenant, chat=chat, user=user, conversation=conversation, directory=directory,
        tasks=service, people=people, clock=clock, timezone=timezone, workday_end=workday_end,
        calendar=await tenant_calendar(session, tenant.id), workday_start=settings.workday_start,
    )
