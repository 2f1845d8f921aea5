"""The scope of one inbound event: tenant, chat and acting user, created on first sight."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, bindparam
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.commands import ParseContext
from bot.config import Settings
from bot.core import ConversationRef, UserRef
from bot.engine.people import PeopleResolver
from bot.engine.tasks import TaskService
from bot.workdays import TeamCalendar, tenant_calendar
from bot.workdays.tenant import CalendarCache
from storage.driver import one_of, one_of_values
from storage.driver_rows import DriverQuery
from storage.repositories import DirectoryRepository, TenantRepository
from storage.repositories.directory import NAME_CHARS
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


# Past this many remembered rows the cache starts afresh rather than grow without bound.
MAX_REMEMBERED = 100_000


@dataclass
class KnownRows:
    """Per-process memory of row ids seen committed, so a known scope loads in one statement.

    Ids of tenant, chat and user rows never change and those rows are never deleted; a tenant
    that has an admin always will (admins are never revoked). Only what was read from committed
    rows is remembered. If a remembered row is missing anyway (a database restored from a
    backup, a test that emptied its tables), the scope is built the slow way and remembered again.
    """

    tenants: dict[tuple[str, str], int] = field(default_factory=dict)
    with_admin: set[int] = field(default_factory=set)
    chats: dict[tuple[int, str], int] = field(default_factory=dict)
    users: dict[tuple[int, str], int] = field(default_factory=dict)
    # A tenant's calendar as read while its row showed this calendar_version (bumped by every change).
    calendars: CalendarCache = field(default_factory=CalendarCache)

    def clear_if_full(self) -> None:
        if len(self.users) + len(self.chats) + len(self.tenants) > MAX_REMEMBERED:
            self.tenants.clear()
            self.with_admin.clear()
            self.chats.clear()
            self.users.clear()
            self.calendars.clear()


async def _load_known(
    session: AsyncSession, known: KnownRows, conversation: ConversationRef, uids: list[str],
) -> tuple[Tenant, Chat, dict[str, User]] | None:
    tenant_id = known.tenants.get((conversation.platform, conversation.tenant_key))
    if tenant_id is None or tenant_id not in known.with_admin:
        return None
    chat_id = known.chats.get((tenant_id, conversation.chat_id))
    user_ids = [known.users.get((tenant_id, uid)) for uid in uids]
    if chat_id is None or None in user_ids:
        return None
    rows = await _known_rows(len(user_ids)).rows(session, {
        "tenant_id": tenant_id, "chat_id": chat_id, **one_of_values("user", user_ids),
    })
    if len(rows) != len(uids):
        return None
    tenant, chat = rows[0][0], rows[0][1]
    users = {user.platform_user_id: user for _, _, user in rows}
    # SQLite may hand a rolled-back row's id to a later row: check the rows are the ones meant.
    if set(users) != set(uids) or chat.platform_chat_id != conversation.chat_id \
            or (tenant.platform, tenant.tenant_key) != (conversation.platform, conversation.tenant_key):
        return None
    return tenant, chat, users


@cache
def _known_rows(users: int) -> DriverQuery:
    """Built once per number of people (the actor and who is mentioned); the ids are bound per event."""
    def build(_dialect: str, tenant: tuple[Any, ...], chat: tuple[Any, ...], user: tuple[Any, ...]) -> Any:
        t, c, u = Tenant.__table__.c, Chat.__table__.c, User.__table__.c  # type: ignore[attr-defined]
        return (
            select_columns(*tenant, *chat, *user)
            .join_from(Tenant.__table__, Chat.__table__, c.tenant_id == t.id)  # type: ignore[attr-defined]
            .join_from(Tenant.__table__, User.__table__, u.tenant_id == t.id)  # type: ignore[attr-defined]
            .where(t.id == bindparam("tenant_id", type_=Integer), c.id == bindparam("chat_id", type_=Integer),
                   one_of(u.id, "user", users))
        )
    return DriverQuery(build, Tenant, Chat, User)


def _remember(known: KnownRows, conversation: ConversationRef, tenant: Tenant, chat: Chat,
              users: dict[str, User], has_admin: bool) -> None:
    assert tenant.id is not None and chat.id is not None
    known.clear_if_full()
    known.tenants[(conversation.platform, conversation.tenant_key)] = tenant.id
    if has_admin:
        known.with_admin.add(tenant.id)
    known.chats[(tenant.id, conversation.chat_id)] = chat.id
    for uid, user in users.items():
        if user.id is not None:
            known.users[(tenant.id, uid)] = user.id


async def open_scope(
    session: AsyncSession, conversation: ConversationRef, actor: UserRef, *, settings: Settings, clock: Clock,
    mentions: tuple[UserRef, ...] = (), known: KnownRows | None = None,
) -> Scope:
    """Run it first in the event's transaction. With `known`, a scope seen before loads in one statement."""
    names = {m.user_id: m.name for m in mentions}
    names[actor.user_id] = actor.name
    uids = sorted(names)
    loaded = await _load_known(session, known, conversation, uids) if known is not None else None
    if loaded is not None and known is not None:
        tenant, chat, users = loaded
        # What ensure_chat and ensure_user would have done for a known row: keep a newly learnt name.
        chat_name = conversation.chat_name[:NAME_CHARS] if conversation.chat_name else None
        if chat_name and chat.name != chat_name:
            chat.name = chat_name
        for uid, user in users.items():
            given = names[uid]
            name = given[:NAME_CHARS] if given else None
            if name and user.name != name:
                user.name = name
        return await _scope(session, conversation, tenant, chat, users, users[actor.user_id], settings=settings,
                            clock=clock, mentions=mentions, calendar=await known.calendars.get(session, tenant))
    tenant = await TenantRepository(session).ensure(
        conversation.platform, conversation.tenant_key, code_prefix=settings.task_code_prefix
    )
    assert tenant.id is not None
    directory = DirectoryRepository(session, tenant.id)
    # The first person to use the bot in a tenant administers it (and can name others). Until the
    # tenant has an admin, the tenant row is taken before any other row, so concurrent first
    # contacts queue here rather than deadlock on each other's user rows.
    had_admin = await directory.has_admin()
    needs_admin = not had_admin
    if needs_admin:
        await TenantRepository(session).lock(tenant.id)
        needs_admin = not await directory.has_admin()
    chat = await directory.ensure_chat(
        conversation.chat_id, name=conversation.chat_name, chat_type=conversation.chat_type,
        timezone=settings.timezone,
    )
    # Everyone in one order (by platform id), so two events naming the same people in different
    # orders cannot deadlock on their user rows.
    users = {uid: await directory.ensure_user(uid, names[uid]) for uid in uids}
    user = users[actor.user_id]
    if needs_admin:
        user.is_admin = True
    if known is not None:
        # Only the admin found committed at the start counts: this transaction's own may roll back,
        # and then the next event's slow path finds no such row and forgets nothing wrongly.
        _remember(known, conversation, tenant, chat, users, had_admin)
    return await _scope(session, conversation, tenant, chat, users, user, settings=settings, clock=clock,
                        mentions=mentions, calendar=await tenant_calendar(session, tenant.id))


async def _scope(session: AsyncSession, conversation: ConversationRef, tenant: Tenant, chat: Chat,
                 users: dict[str, User], user: User, *, settings: Settings, clock: Clock,
                 mentions: tuple[UserRef, ...], calendar: TeamCalendar) -> Scope:
    assert tenant.id is not None
    directory = DirectoryRepository(session, tenant.id)
    timezone = chat.timezone or settings.timezone
    workday_end = settings.workday_end
    if isinstance(chat.settings, dict) and chat.settings.get("workday_end"):
        workday_end = time.fromisoformat(str(chat.settings["workday_end"]))
    people = PeopleResolver(directory, {m.user_id: m.name for m in mentions}, known=users)
    service = TaskService(session, tenant, clock, people=people, timezone=timezone)
    return Scope(
        session=session, tenant=tenant, chat=chat, user=user, conversation=conversation, directory=directory,
        tasks=service, people=people, clock=clock, timezone=timezone, workday_end=workday_end,
        calendar=calendar, workday_start=settings.workday_start,
    )
