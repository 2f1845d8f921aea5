"""Turning what a user typed (a mention, a name) into a user of the tenant."""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands import PersonRef
from bot.core.mentions import EVERYONE_IDS, mention_token
from bot.engine.errors import DomainError
from storage.repositories import DirectoryRepository
from storage.tables import User


class PeopleResolver:
    def __init__(self, directory: DirectoryRepository, mention_names: Mapping[str, str | None],
                 known: Mapping[str, User] | None = None) -> None:
        self.directory = directory
        self.mention_names = mention_names
        # Rows this transaction already holds for the people mentioned (the scope ensured them).
        self.known = known or {}

    async def resolve(self, person: PersonRef) -> User:
        if person.user_id is not None:
            # Only a mention the platform's event carried names a person; anything else is text.
            if person.user_id in EVERYONE_IDS or person.user_id not in self.mention_names:
                raise DomainError("这里要 @ 一位具体的成员（在输入框里输入 @ 再选人），不能 @所有人。")
            known = self.known.get(person.user_id)
            if known is not None:
                return known
            return await self.directory.ensure_user(person.user_id, self.mention_names.get(person.user_id))
        name = (person.name or "").strip()
        matches = await self.directory.users_named(name)
        if not matches:
            raise DomainError(f"找不到成员「{name}」。请在输入框里输入 @ 再从列表中选择对方。")
        if len(matches) > 1:
            raise DomainError(f"有 {len(matches)} 位成员叫「{name}」，请用 @ 提及具体的人。")
        return matches[0]

    async def resolve_all(self, people: tuple[PersonRef, ...]) -> list[User]:
        resolved: list[User] = []
        for person in people:
            user = await self.resolve(person)
            if all(u.id != user.id for u in resolved):
                resolved.append(user)
        return resolved


def mention(user: User) -> str:
    """The neutral mention token every adapter renders as a real @."""
    return mention_token(user.platform_user_id)
