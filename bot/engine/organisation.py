"""The organisation (部门运营): departments with a head and members, each person's superior, admins.

Filled from the platform directory where it says (bot/directory_sync.py) and overridable by
admins' commands; what an admin sets is kept even when the directory later says otherwise.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.commands import PersonRef
from bot.core.messages import PUSH_HOOK_SETTING
from bot.engine.errors import DomainError
from bot.engine.people import PeopleResolver
from bot.engine.policy import may_manage_organisation
from bot.engine.task_views import display_name
from storage.repositories import DirectoryRepository
from storage.tables import Chat, Department, User

# How many superiors up a chain we follow, far more than any company has levels.
MAX_CHAIN = 30


@dataclass(frozen=True)
class MemberView:
    name: str
    superior: str | None
    is_head: bool


@dataclass(frozen=True)
class DepartmentView:
    name: str
    head: str | None
    members: tuple[MemberView, ...]


@dataclass(frozen=True)
class OrganisationView:
    departments: tuple[DepartmentView, ...]
    admins: tuple[str, ...]
    unassigned: tuple[MemberView, ...] = ()


def closest(name: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return found[0] if found else None


class OrganisationService:
    def __init__(self, directory: DirectoryRepository, people: PeopleResolver) -> None:
        self.directory = directory
        self.people = people

    async def _require_admin(self, actor: User) -> None:
        if may_manage_organisation(actor.is_admin):
            return
        admins = "、".join(display_name(a) for a in await self.directory.admins()) or "（暂无）"
        raise DomainError(
            f"只有管理员可以修改组织架构。当前管理员：{admins}。请联系他们，或请他们发送「设置管理员 @你」。"
        )

    async def _department(self, name: str) -> Department:
        department = await self.directory.department_named(name)
        if department is not None:
            return department
        names = [d.name for d in await self.directory.departments()]
        guess = closest(name, names)
        hint = f"你是不是想写「{guess}」？" if guess else "发送「组织」查看已有部门。"
        raise DomainError(f"没有找到部门「{name}」。{hint}")

    async def set_head(self, name: str, head_ref: PersonRef, *, create: bool, actor: User) -> tuple[Department, bool]:
        """The department (created when `create` or when nothing like it exists) and whether it is new."""
        await self._require_admin(actor)
        department = await self.directory.department_named(name)
        created = False
        if department is None:
            guess = closest(name, [d.name for d in await self.directory.departments()])
            if guess is not None and not create:
                raise DomainError(
                    f"没有部门「{name}」，你是不是想写「{guess}」？"
                    f"如果要新建「{name}」，请发送：设置部门 {name} 新建 负责人 @某人"
                )
            department = await self.directory.ensure_department(name)
            created = True
        head = await self.people.resolve(head_ref)
        department.head_user_id = head.id
        head.department_id = department.id
        head.org_set_by_command = True
        return department, created

    async def join(self, name: str, refs: tuple[PersonRef, ...], *, actor: User) -> tuple[Department, list[User]]:
        await self._require_admin(actor)
        department = await self._department(name)
        members = await self.people.resolve_all(refs)
        for member in members:
            member.department_id = department.id
            member.org_set_by_command = True
        return department, members

    async def set_superior(self, person_ref: PersonRef, superior_ref: PersonRef, *, actor: User) -> tuple[User, User]:
        await self._require_admin(actor)
        person = await self.people.resolve(person_ref)
        superior = await self.people.resolve(superior_ref)
        if person.id == superior.id:
            raise DomainError("一个人不能是自己的上级。")
        # Refuse a loop: the new superior must not report (up the chain) to this person.
        current: User | None = superior
        for _ in range(MAX_CHAIN):
            if current is None or current.leader_user_id is None:
                break
            if current.leader_user_id == person.id:
                raise DomainError(
                    f"{display_name(superior)} 的上级链里已经有 {display_name(person)}，不能形成循环汇报。"
                )
            current = await self.directory.user(current.leader_user_id)
        person.leader_user_id = superior.id
        person.org_set_by_command = True
        return person, superior

    async def add_admin(self, ref: PersonRef, *, actor: User) -> tuple[User, bool]:
        await self._require_admin(actor)
        person = await self.people.resolve(ref)
        if person.is_admin:
            return person, False
        person.is_admin = True
        return person, True

    async def bind_push_hook(self, chat: Chat, key: str | None, *, actor: User) -> str | None:
        """Store (or clear) the group robot webhook key pushes to this chat may use."""
        await self._require_admin(actor)
        if chat.chat_type == "p2p":
            raise DomainError("推送绑定只用于群聊：请在要接收提醒的群里发送。")
        settings = {k: v for k, v in (chat.settings or {}).items() if k != PUSH_HOOK_SETTING}
        if key:
            settings[PUSH_HOOK_SETTING] = key
        chat.settings = settings  # a new dict, so the JSON column is written
        return key

    async def view(self, department_name: str | None) -> OrganisationView:
        departments = await self.directory.departments()
        if department_name is not None:
            departments = [await self._department(department_name)]
        users = {u.id: u for u in await self.directory.all_users() if u.id is not None}

        def member(user: User, head_id: int | None) -> MemberView:
            superior = users.get(user.leader_user_id) if user.leader_user_id is not None else None
            return MemberView(display_name(user), display_name(superior) if superior else None, user.id == head_id)

        views = []
        for department in departments:
            people = sorted((u for u in users.values() if u.department_id == department.id),
                            key=lambda u: (u.id != department.head_user_id, u.id or 0))
            head = users.get(department.head_user_id) if department.head_user_id is not None else None
            views.append(DepartmentView(department.name, display_name(head) if head else None,
                                        tuple(member(u, department.head_user_id) for u in people)))
        admins = tuple(display_name(u) for u in users.values() if u.is_admin)
        unassigned: tuple[MemberView, ...] = ()
        if department_name is None:
            unassigned = tuple(member(u, None) for u in users.values() if u.department_id is None)
        return OrganisationView(tuple(views), admins, unassigned)
