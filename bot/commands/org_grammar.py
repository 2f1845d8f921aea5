"""Builders of the organisation commands: 设置部门, 加入部门, 设置上级, 组织, 设置管理员, 绑定推送."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from bot.commands import messages
from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.fields import Field, split_fields
from bot.commands.grammar import _collect, _one_person, _Rejected
from bot.commands.model import (
    AddAdmin,
    BindPushHook,
    Command,
    JoinDepartment,
    ParseError,
    PersonRef,
    SetDepartmentHead,
    SetSuperior,
    ShowOrganisation,
)
from bot.commands.people import MENTION, parse_people
from bot.commands.text import SEPARATORS, Folded

_CREATE_WORDS: Final = ("新建", "创建", "new")


def _department_name(spec: CommandSpec, text: str) -> tuple[str, bool]:
    words = text.split()
    create = bool(words) and words[-1].lower() in _CREATE_WORDS
    name = " ".join(words[:-1] if create else words).strip(SEPARATORS)
    if not name:
        raise _Rejected(messages.missing_department(spec))
    return name, create


def _set_department(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    head, fields = split_fields(args)
    values = _collect(spec, fields, frozenset({Field.OWNER}))
    person = _one_person(spec, Field.OWNER, values.get(Field.OWNER))
    if person is None:
        # 设置部门 设计部 @李娜: the mention without the 负责人 key.
        mentioned = [PersonRef(user_id=m.group(1)) for m in MENTION.finditer(head.fold)]
        if len(mentioned) != 1:
            raise _Rejected(messages.missing_department_head(spec))
        person, head = mentioned[0], Folded.of(MENTION.sub(" ", head.orig))
    name, create = _department_name(spec, head.orig)
    return SetDepartmentHead(department=name, head=person, create=create)


def _join_department(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    # The department is what comes before the first person (a mention token or a typed @name).
    first_person = re.search(r"<@|@", args.fold)
    name_text = args.orig[: first_person.start()] if first_person else args.orig
    name, _ = _department_name(spec, name_text)
    people = parse_people(args.fold[len(name_text):])
    if not people:
        raise _Rejected(messages.missing_people(spec))
    return JoinDepartment(department=name, members=people)


def _set_superior(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    people = parse_people(args.fold)
    mentioned = [m.group(1) for m in MENTION.finditer(args.fold)]
    if len(mentioned) == 2 and mentioned[0] == mentioned[1]:
        raise _Rejected(messages.own_superior())
    if len(people) != 2:
        raise _Rejected(messages.two_people(spec))
    return SetSuperior(person=people[0], superior=people[1])


def _show_organisation(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    name = " ".join(args.orig.split()).strip(SEPARATORS)
    return ShowOrganisation(department=name or None)


def _add_admin(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    people = parse_people(args.fold)
    if len(people) != 1:
        raise _Rejected(messages.one_person(spec))
    return AddAdmin(person=people[0])


_HOOK_KEY: Final = re.compile(r"(?:[?&]key=)?([A-Za-z0-9][A-Za-z0-9_-]{7,127})$")
_UNBIND: Final = frozenset({"关闭", "解除", "取消", "off", "none"})


def _bind_push(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    value = " ".join(args.orig.split()).strip()
    if value.lower() in _UNBIND:
        return BindPushHook(key=None)
    found = _HOOK_KEY.search(value) if value and " " not in value else None
    if found is None:
        hint = f"请写群机器人 Webhook 地址里 key= 后面的那一串。\n例如：{spec.example}"
        raise _Rejected(ParseError("bad_value", hint))
    return BindPushHook(key=found.group(1))


ORGANISATION_BUILDERS: Final[dict[str, Callable[[CommandSpec, Folded, ParseContext], Command]]] = {
    "设置部门": _set_department,
    "加入部门": _join_department,
    "设置上级": _set_superior,
    "组织": _show_organisation,
    "设置管理员": _add_admin,
    "绑定推送": _bind_push,
}
