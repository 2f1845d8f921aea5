"""Builders of the goal commands: 目标, 阶段目标, KR, KR进度, 关联, 目标树."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from bot.commands import messages
from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.fields import Field, split_fields
from bot.commands.grammar import _collect, _date, _leading_code, _one_person, _Rejected, _title
from bot.commands.model import (
    Command,
    LinkTask,
    NewGoal,
    NewKeyResult,
    NewStage,
    ShowGoalTree,
    UpdateKeyResult,
)
from bot.commands.text import SEPARATORS, Folded

_GOAL_CODE: Final = re.compile(r"#?(?P<code>O[0-9]{7}(?:-S[0-9]{1,2})?(?:-KR[0-9]{1,2})?)(?![A-Za-z0-9])",
                               re.IGNORECASE | re.ASCII)
_NUMBER: Final = r"[0-9]+(?:\.[0-9]+)?"
_TARGET: Final = re.compile(rf"目标值\s*[:：]?\s*(?P<n>{_NUMBER})\s*(?P<unit>[^\s0-9]{{0,8}})", re.ASCII)
_CURRENT: Final = re.compile(rf"当前(?:值)?\s*[:：]?\s*(?P<n>{_NUMBER})\s*[^\s0-9]{{0,8}}", re.ASCII)
_GOAL_FIELDS: Final = frozenset({Field.OWNER, Field.DUE})


def _goal_code(spec: CommandSpec, args: Folded) -> tuple[str, Folded]:
    match = _GOAL_CODE.match(args.fold)
    if match is None:
        raise _Rejected(messages.missing_goal_code(spec))
    return match["code"].upper(), args.cut(match.end()).strip()


def _new_goal(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    head, fields = split_fields(args)
    values = _collect(spec, fields, _GOAL_FIELDS)
    if not head:
        raise _Rejected(messages.missing_title(spec))
    return NewGoal(title=_title(head), due=_date(Field.DUE, values.get(Field.DUE), ctx),
                   owner=_one_person(spec, Field.OWNER, values.get(Field.OWNER)))


def _new_stage(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _goal_code(spec, args)
    head, fields = split_fields(rest)
    values = _collect(spec, fields, _GOAL_FIELDS)
    if not head:
        raise _Rejected(messages.missing_title(spec))
    return NewStage(goal_code=code, title=_title(head), due=_date(Field.DUE, values.get(Field.DUE), ctx),
                    owner=_one_person(spec, Field.OWNER, values.get(Field.OWNER)))


def _new_key_result(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _goal_code(spec, args)
    target = _TARGET.search(rest.fold)
    if target is None:
        raise _Rejected(messages.missing_target(spec))
    current = _CURRENT.search(rest.fold)
    first = min(m.start() for m in (target, current) if m is not None)
    title = " ".join(rest.orig[:first].split()).strip(SEPARATORS)
    if not title:
        raise _Rejected(messages.missing_title(spec))
    return NewKeyResult(goal_code=code, title=title, target=float(target["n"]), unit=target["unit"],
                        current=float(current["n"]) if current else 0.0)


def _update_key_result(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _goal_code(spec, args)
    number = re.match(_NUMBER, rest.fold)
    if "-KR" not in code or number is None:
        raise _Rejected(messages.missing_kr_value(spec))
    return UpdateKeyResult(code=code, current=float(number.group()))


def _link(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    task_code, rest = _leading_code(spec, args)
    target, _ = _goal_code(spec, rest)
    return LinkTask(task_code=task_code, target_code=target)


def _goal_tree(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    if not args:
        return ShowGoalTree()
    return ShowGoalTree(code=_goal_code(spec, args)[0])


GOAL_BUILDERS: Final[dict[str, Callable[[CommandSpec, Folded, ParseContext], Command]]] = {
    "目标": _new_goal,
    "阶段目标": _new_stage,
    "KR": _new_key_result,
    "KR进度": _update_key_result,
    "关联": _link,
    "目标树": _goal_tree,
}
