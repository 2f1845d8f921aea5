"""Users, departments and chats of one tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select

from storage.tables import Chat, Department, User
from storage.upsert import insert_for

# Display names from a platform are kept, cut to what the column holds.
NAME_CHARS = 200


class DirectoryRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def ensure_user(self, platform_user_id: str, name: str | None = None) -> User:
        """The user row for a platform id, created on first sight; a newly learnt name is kept."""
        name = name[:NAME_CHARS] if name else name
        existing = await self.user_by_platform_id(platform_user_id)
        if existing is not None:
            if name and existing.name != name:
                existing.name = name
            return existing
        stmt = (
            insert_for(self.session, User)
            .values(tenant_id=self.tenant_id, platform_user_id=platform_user_id, name=name or "")
            .on_conflict_do_nothing(index_elements=["tenant_id", "platform_user_id"])
        )
        await self.session.execute(stmt)
        user = await self.user_by_platform_id(platform_user_id)
        assert user is not None
        if name and user.name != name:
            user.name = name
        return user

    async def user_by_platform_id(self, platform_user_id: str) -> User | None:
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id, User.platform_user_id == platform_user_id)
        )
        return result.scalar_one_or_none()

    async def user(self, user_id: int) -> User | None:
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id, User.id == user_id)
        )
        return result.scalar_one_or_none()

    async def users_by_ids(self, ids: Sequence[int]) -> dict[int, User]:
        users = self._held(ids)
        missing = set(ids) - users.keys()
        if not missing:
            return users
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id, col(User.id).in_(missing))
        )
        users.update((u.id, u) for u in result.scalars() if u.id is not None)
        return users

    def _held(self, ids: Sequence[int]) -> dict[int, User]:
        """Users the session already holds, loaded and current: a SELECT would hand back these same objects."""
        held: dict[int, User] = {}
        for user_id in set(ids):
            user = self.session.identity_map.get(identity_key(User, user_id))
            if isinstance(user, User) and user.tenant_id == self.tenant_id and not inspect(user).expired_attributes:
                held[user_id] = user
        return held

    async def users_named(self, name: str) -> list[User]:
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id, User.name == name)
        )
        return list(result.scalars())

    async def all_users(self) -> list[User]:
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id).order_by(User.id)  # type: ignore[arg-type]
        )
        return list(result.scalars())

    async def ensure_department(self, name: str, *, platform_department_id: str | None = None) -> Department:
        stmt = (
            insert_for(self.session, Department)
            .values(tenant_id=self.tenant_id, name=name, platform_department_id=platform_department_id)
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
        )
        await self.session.execute(stmt)
        result = await self.session.execute(
            select(Department).where(Department.tenant_id == self.tenant_id, Department.name == name)
        )
        return result.scalar_one()

    async def department_named(self, name: str) -> Department | None:
        result = await self.session.execute(
            select(Department).where(Department.tenant_id == self.tenant_id, Department.name == name)
        )
        return result.scalar_one_or_none()

    async def members_of(self, department_id: int) -> list[User]:
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id, User.department_id == department_id)
            .order_by(User.id)  # type: ignore[arg-type]
        )
        return list(result.scalars())

    async def has_admin(self) -> bool:
        result = await self.session.execute(
            select(User.id).where(User.tenant_id == self.tenant_id, User.is_admin == True).limit(1)  # noqa: E712
        )
        return result.first() is not None

    async def admins(self) -> list[User]:
        result = await self.session.execute(
            select(User).where(User.tenant_id == self.tenant_id, User.is_admin == True)  # noqa: E712
            .order_by(User.id)  # type: ignore[arg-type]
        )
        return list(result.scalars())

    async def departments(self) -> list[Department]:
        result = await self.session.execute(
            select(Department).where(Department.tenant_id == self.tenant_id).order_by(Department.id)  # type: ignore[arg-type]
        )
        return list(result.scalars())

    async def department(self, department_id: int) -> Department | None:
        result = await self.session.execute(
            select(Department).where(Department.tenant_id == self.tenant_id, Department.id == department_id)
        )
        return result.scalar_one_or_none()

    async def record_directory_sync(
        self, user: User, *, department: Department | None, leader: User | None, at: datetime,
        platform_admin: bool = False,
    ) -> None:
        user.directory_synced_at = at
        if platform_admin:
            user.is_admin = True  # the company's own admins administer the bot; never revoked here
        if user.org_set_by_command:
            return  # an admin's word wins over what the platform directory says
        if department is not None:
            user.department_id = department.id
        if leader is not None:
            user.leader_user_id = leader.id

    async def ensure_chat(
        self, platform_chat_id: str, *, name: str | None = None, chat_type: str = "group",
        timezone: str = "Asia/Shanghai", settings: dict[str, Any] | None = None,
    ) -> Chat:
        name = name[:NAME_CHARS] if name else name
        existing = await self.chat_by_platform_id(platform_chat_id)
        if existing is not None:
            if name and existing.name != name:
                existing.name = name
            return existing
        stmt = (
            insert_for(self.session, Chat)
            .values(
                tenant_id=self.tenant_id, platform_chat_id=platform_chat_id, name=name or "",
                chat_type=chat_type, timezone=timezone, settings=settings or {},
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "platform_chat_id"])
        )
        await self.session.execute(stmt)
        chat = await self.chat_by_platform_id(platform_chat_id)
        assert chat is not None
        if name and chat.name != name:
            chat.name = name
        return chat

    async def chat_by_platform_id(self, platform_chat_id: str) -> Chat | None:
        result = await self.session.execute(
            select(Chat).where(Chat.tenant_id == self.tenant_id, Chat.platform_chat_id == platform_chat_id)
        )
        return result.scalar_one_or_none()

    async def chat(self, chat_id: int) -> Chat | None:
        result = await self.session.execute(
            select(Chat).where(Chat.tenant_id == self.tenant_id, Chat.id == chat_id)
        )
        return result.scalar_one_or_none()

    async def chats_by_ids(self, chat_ids: Sequence[int]) -> dict[int, Chat]:
        wanted = list(set(chat_ids))
        found: dict[int, Chat] = {}
        for start in range(0, len(wanted), 1000):
            result = await self.session.execute(
                select(Chat).where(Chat.tenant_id == self.tenant_id, col(Chat.id).in_(wanted[start:start + 1000]))
            )
            found.update((c.id or 0, c) for c in result.scalars())
        return found

    async def chat_timezones(self) -> set[str]:
        result = await self.session.execute(select(Chat.timezone).where(Chat.tenant_id == self.tenant_id).distinct())
        return {str(tz) for tz in result.scalars()}

    async def all_chats(self) -> list[Chat]:
        result = await self.session.execute(
            select(Chat).where(Chat.tenant_id == self.tenant_id).order_by(Chat.id)  # type: ignore[arg-type]
        )
        return list(result.scalars())


async def chat_timezones_by_tenant(session: AsyncSession) -> dict[int, set[str]]:
    """The timezones each tenant's chats keep, across tenants, in one statement: a sweep's first read."""
    result = await session.execute(select(Chat.tenant_id, Chat.timezone).distinct())
    zones: dict[int, set[str]] = {}
    for tenant_id, timezone in result.all():
        zones.setdefault(int(tenant_id), set()).add(str(timezone))
    return zones
