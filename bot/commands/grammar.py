"""parse_command: one chat message (bot mention already removed) to a typed command or a ParseError.

Never raises. Internally a builder may raise _Rejected, which always carries the ParseError to return.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Final

from bot.commands import messages
from bot.commands.catalog import SYNONYMS, CommandSpec, add_command, derived, find_command
from bot.commands.context import ParseContext
from bot.commands.dates import DateParseError, parse_due
from bot.commands.fields import MULTI_PERSON, SUBTASK_FIELDS, Field, split_fields
from bot.commands.keyed import Rejected
from bot.commands.model import (
    CODE_PATTERN,
    AssignTask,
    Command,
    CompleteTask,
    ListChatTasks,
    ListMyTasks,
    NameTaskPeople,
    NewSubtask,
    NewTask,
    ParseError,
    PersonRef,
    Priority,
    ReportProgress,
    SetDeadline,
    SetTaskText,
    ShowHelp,
    ShowTask,
    TaskRole,
)
from bot.commands.people import MENTION, parse_people
from bot.commands.text import SEPARATORS, Folded, ascii_lower


class _Rejected(Exception):
    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


def parse_command(text: str, ctx: ParseContext) -> Command | ParseError:
    result = _parse(text, ctx)
    if isinstance(result, ParseError) and not _written_in_english(text):
        return ParseError(result.kind, messages.chinese_only(result.message))
    return result


def _written_in_english(text: str) -> bool:
    """Whether the command word was English (new task, done …): then replies keep their English part."""
    head = text.strip().lstrip("/").strip()
    return bool(head) and head[0].isascii() and head[0].isalpha()


def _parse(text: str, ctx: ParseContext) -> Command | ParseError:
    source = Folded.of(text).strip(" ")
    if source.fold.startswith("/"):
        source = source.cut(1).strip(" ")
    if not source:
        return messages.empty()
    found = _match_command(source.fold)
    if found is None:
        return messages.unknown(_suggest(source.fold))
    spec, end = found
    try:
        return _BUILDERS[spec.name](spec, source.cut(end).strip(), ctx)
    except (_Rejected, Rejected) as rejected:
        return rejected.error


_CJK: Final = "\u3400-\u9fff"


def _alias_pattern(alias: str, spec: CommandSpec) -> str:
    body = " +".join(re.escape(word) for word in alias.split())
    if alias.isascii() and alias[-1].isalnum():
        return body + r"(?![A-Za-z0-9_])"
    if spec.free_text or alias.isascii():
        return body
    return body + f"(?![{_CJK}])"


def _build_table(commands: tuple[CommandSpec, ...]) -> tuple[list[tuple[str, CommandSpec]], re.Pattern[str]]:
    """Every alias, longest first, and one pattern matching any."""
    aliases = sorted(((a, s) for s in commands for a in s.aliases), key=lambda pair: len(pair[0]), reverse=True)
    pattern = re.compile("|".join(_alias_pattern(a, s) for a, s in aliases), re.IGNORECASE | re.ASCII)
    return aliases, pattern


# Rebuilt when a workflow adds commands.
_command_table = derived(_build_table)


Builder = Callable[[CommandSpec, Folded, ParseContext], Command]


def register_command(spec: CommandSpec, builder: Builder) -> None:
    """A workflow's command: its words join the grammar, its builder parses what follows them."""
    add_command(spec)
    _BUILDERS[spec.name] = builder


def _match_command(head: str) -> tuple[CommandSpec, int] | None:
    match = _command_table()[1].match(head)
    if match is None:
        return None
    spec = find_command(match.group())
    return None if spec is None else (spec, match.end())


_FIRST_WORD: Final = re.compile(f"[{_CJK}]+|[A-Za-z]+")


def _suggest(head: str) -> str | None:
    match = _FIRST_WORD.match(head)
    if match is None:
        return None
    word = ascii_lower(match.group())
    if word in SYNONYMS:
        return SYNONYMS[word]
    def main_name(spec: CommandSpec) -> str:
        # The command's own name, in the language the user typed, never a secondary alias.
        return spec.english if word.isascii() else spec.name

    aliases = _command_table()[0]
    for alias, spec in aliases:
        if len(alias) >= 2 and (word.startswith(alias) or (len(word) >= 2 and alias.startswith(word))):
            return main_name(spec)
    close = difflib.get_close_matches(word, [alias for alias, _ in aliases], n=1, cutoff=0.6)
    if not close:
        return None
    named = find_command(close[0])
    return main_name(named) if named else close[0]


# --- task codes -----------------------------------------------------------------------------------

_LEADING_CODE: Final = re.compile(r"#?(?P<code>[A-Za-z0-9][A-Za-z0-9_-]*)", re.ASCII)
_ANY_CODE: Final = re.compile(r"(?<![A-Za-z0-9_@#-])#?(?P<code>[A-Za-z0-9][A-Za-z0-9_-]*)", re.ASCII)


def _valid_code(spec: CommandSpec, token: str) -> str:
    code = token.upper()
    if CODE_PATTERN.fullmatch(code) is None:
        raise _Rejected(messages.bad_code(spec))
    return code


def _leading_code(spec: CommandSpec, args: Folded) -> tuple[str, Folded]:
    match = _LEADING_CODE.match(args.fold)
    if match is None:
        raise _Rejected(messages.missing_code(spec))
    return _valid_code(spec, match["code"]), args.cut(match.end()).strip()


# --- field values ---------------------------------------------------------------------------------

_PRIORITIES: Final[dict[str, Priority]] = {
    "高": "high", "中": "medium", "低": "low", "紧急": "high", "重要": "high", "普通": "medium", "一般": "medium",
    "中等": "medium", "high": "high", "h": "high", "medium": "medium", "med": "medium", "m": "medium",
    "normal": "medium", "low": "low", "l": "low", "p0": "high", "p1": "high", "p2": "medium", "p3": "low",
}


def _collect(spec: CommandSpec, fields: list[tuple[Field, Folded]], allowed: frozenset[Field]) -> dict[Field, Folded]:
    values: dict[Field, Folded] = {}
    for field, value in fields:
        if field not in allowed:
            raise _Rejected(messages.not_for_subtask(field))
        if field in values:
            if field not in MULTI_PERSON:
                raise _Rejected(messages.duplicate_field(spec, field))
            before = values[field]
            value = Folded(f"{before.orig} {value.orig}", f"{before.fold} {value.fold}")
        values[field] = value
    return values


def _one_person(spec: CommandSpec, field: Field, value: Folded | None) -> PersonRef | None:
    people = parse_people(value.fold) if value else ()
    if len(people) > 1:
        raise _Rejected(messages.one_person_only(spec, field))
    return people[0] if people else None


def _people(value: Folded | None) -> tuple[PersonRef, ...]:
    return parse_people(value.fold) if value else ()


def _priority(spec: CommandSpec, value: Folded | None) -> Priority | None:
    if not value:
        return None
    priority = _PRIORITIES.get(ascii_lower(value.fold.strip(SEPARATORS + "!?")))
    if priority is None:
        raise _Rejected(messages.bad_priority(spec))
    return priority


def _parse_date(field: Field, value: Folded, ctx: ParseContext) -> datetime:
    try:
        return parse_due(value.fold, ctx)
    except DateParseError as error:
        raise _Rejected(messages.bad_date(field, error.message)) from None


def _date(field: Field, value: Folded | None, ctx: ParseContext) -> datetime | None:
    return _parse_date(field, value, ctx) if value else None


def _text(value: Folded | None) -> str | None:
    return value.orig.strip() or None if value else None


def _title(value: Folded) -> str:
    return " ".join(value.orig.split())


# --- builders -------------------------------------------------------------------------------------


def _new_task(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    head, fields = split_fields(args)
    values = _collect(spec, fields, frozenset(Field))
    owner = _one_person(spec, Field.OWNER, values.get(Field.OWNER))
    due_text = values.get(Field.DUE)
    if not head or owner is None or not due_text:
        missing = [f for f, present in ((Field.OWNER, owner), (Field.DUE, due_text)) if not present]
        raise _Rejected(messages.missing_task_fields(spec, not head, missing))
    due = _parse_date(Field.DUE, due_text, ctx)
    return NewTask(
        title=_title(head),
        owner=owner,
        due=due,
        priority=_priority(spec, values.get(Field.PRIORITY)) or "medium",
        delivery_standard=_text(values.get(Field.STANDARD)),
        collaborators=_people(values.get(Field.COLLABORATORS)),
        approver=_one_person(spec, Field.APPROVER, values.get(Field.APPROVER)),
        consulted=_people(values.get(Field.CONSULTED)),
        informed=_people(values.get(Field.INFORMED)),
        resources=_text(values.get(Field.RESOURCES)),
        description=_text(values.get(Field.DESCRIPTION)),
        start=_date(Field.START, values.get(Field.START), ctx),
    )


def _new_subtask(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    parent, rest = _leading_code(spec, args)
    head, fields = split_fields(rest)
    values = _collect(spec, fields, SUBTASK_FIELDS)
    if not head:
        raise _Rejected(messages.missing_task_fields(spec, True, []))
    return NewSubtask(
        parent_code=parent,
        title=_title(head),
        owner=_one_person(spec, Field.OWNER, values.get(Field.OWNER)),
        due=_date(Field.DUE, values.get(Field.DUE), ctx),
        priority=_priority(spec, values.get(Field.PRIORITY)),
        delivery_standard=_text(values.get(Field.STANDARD)),
        collaborators=_people(values.get(Field.COLLABORATORS)),
        resources=_text(values.get(Field.RESOURCES)),
    )


_ASSIGN_TO: Final = re.compile(r"^(?:交给|给|to |->|→)", re.IGNORECASE | re.ASCII)


def _assign(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    # The code may come before or after the person (指派 @王五 XZB20231001-01), so look past mentions.
    masked = MENTION.sub(lambda m: " " * len(m.group()), args.fold)
    tokens = list(_ANY_CODE.finditer(masked))
    chosen = next((t for t in tokens if CODE_PATTERN.fullmatch(t["code"].upper())), None)
    if chosen is None:
        if any(any(c.isdigit() for c in t["code"]) for t in tokens):
            raise _Rejected(messages.bad_code(spec))
        raise _Rejected(messages.missing_code(spec))
    people_text = (args.fold[: chosen.start()] + " " + args.fold[chosen.end() :]).strip(SEPARATORS)
    people = parse_people(_ASSIGN_TO.sub("", people_text))
    if not people:
        raise _Rejected(messages.missing_assignee())
    if len(people) > 1:
        raise _Rejected(messages.one_assignee())
    return AssignTask(code=chosen["code"].upper(), assignee=people[0])


_PERCENT: Final = re.compile(r"(?P<sign>[-+])?(?P<n>[0-9]+(?:\.[0-9]+)?)(?: *%|(?=[ ,;:、。!]|$))", re.ASCII)


def _progress(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _leading_code(spec, args)
    match = _PERCENT.match(rest.fold)
    if match is None:
        if rest.fold[:1] in set("0123456789-"):
            raise _Rejected(messages.bad_percent())
        raise _Rejected(messages.missing_percent())
    digits = match["n"]
    if match["sign"] == "-" or not digits.isdigit() or len(digits) > 3 or int(digits) > 100:
        raise _Rejected(messages.bad_percent())
    return ReportProgress(code=code, percent=int(digits), note=rest.cut(match.end()).strip().orig.strip())


def _complete(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _leading_code(spec, args)
    others = [m["code"].upper() for m in _ANY_CODE.finditer(rest.fold) if CODE_PATTERN.fullmatch(m["code"].upper())]
    if others:
        raise _Rejected(messages.one_code_at_a_time(spec, [code, *others]))
    return CompleteTask(code=code)


def _show(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    return ShowTask(code=_leading_code(spec, args)[0])


def _my_tasks(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    return ListMyTasks()


def _chat_tasks(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    return ListChatTasks()


# --- RACI and the five elements after creation -----------------------------------------------------

_ROLES: Final[dict[str, TaskRole]] = {
    "协作人": "collaborator", "审批人": "approver", "咨询人": "consulted", "知会人": "informed",
}


def _name_people(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _leading_code(spec, args)
    people = parse_people(rest.fold)
    if not people:
        raise _Rejected(messages.missing_people(spec))
    role = _ROLES[spec.name]
    if role == "approver" and len(people) > 1:
        raise _Rejected(messages.one_person(spec))
    return NameTaskPeople(code=code, role=role, people=people)


def _set_text(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _leading_code(spec, args)
    text = rest.orig.strip(SEPARATORS + " ")
    if not text:
        raise _Rejected(messages.missing_text(spec))
    return SetTaskText(code=code, field="resources" if spec.name == "资源" else "delivery_standard", text=text)


def _set_deadline(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = _leading_code(spec, args)
    if not rest:
        raise _Rejected(messages.missing_text(spec))
    return SetDeadline(code=code, due=_parse_date(Field.DUE, rest, ctx))


def _help(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    if not args:
        return ShowHelp(topic=None)
    named = find_command(args.fold)
    return ShowHelp(topic=named.name if named else " ".join(args.orig.split()))


_BUILDERS: Final[dict[str, Callable[[CommandSpec, Folded, ParseContext], Command]]] = {
    "新建任务": _new_task,
    "子任务": _new_subtask,
    "指派": _assign,
    "进度": _progress,
    "完成": _complete,
    "我的任务": _my_tasks,
    "本群任务": _chat_tasks,
    "任务": _show,
    "协作人": _name_people,
    "审批人": _name_people,
    "咨询人": _name_people,
    "知会人": _name_people,
    "资源": _set_text,
    "交付标准": _set_text,
    "截止": _set_deadline,
    "帮助": _help,
}


# Feature modules add their builders here; they import this module's helpers, so they come last.
from bot.commands.goal_grammar import GOAL_BUILDERS  # noqa: E402
from bot.commands.org_grammar import ORGANISATION_BUILDERS  # noqa: E402

_BUILDERS.update(GOAL_BUILDERS)
_BUILDERS.update(ORGANISATION_BUILDERS)
