"""The replies behind every ParseError.

They never echo what the user typed: echoing could re-broadcast `<@all>`-style mention tokens to the
group, and each message already shows a correct example to copy.
"""

from __future__ import annotations

import re
from typing import Final

from bot.commands.catalog import ASSIGN, NEW_SUBTASK, PROGRESS, CommandSpec
from bot.commands.fields import SUBTASK_FIELDS, Field
from bot.commands.model import ParseError

HELP_POINTER: Final = "发送「帮助」查看所有命令 / send 'help'"
CODE_FORMAT: Final = (
    "任务编号是字母加数字，子任务再加 -01、-02，例如 XZB20231001 或 XZB20231001-01"
    " / task code like XZB20231001-01"
)


def empty() -> ParseError:
    return ParseError("empty", f"请发送一条命令，例如「我的任务」。{HELP_POINTER}")


def unknown(suggestion: str | None) -> ParseError:
    if suggestion:
        return ParseError("unknown_command", f"没有这个命令。你是不是想输入「{suggestion}」？\n{HELP_POINTER}")
    return ParseError("unknown_command", f"没有看懂这条命令。{HELP_POINTER}")


def _example(spec: CommandSpec) -> str:
    return f"例如 / e.g.：{spec.example}"


def missing_code(spec: CommandSpec) -> ParseError:
    return ParseError("bad_value", f"请写上任务编号。{CODE_FORMAT}\n{_example(spec)}")


def bad_code(spec: CommandSpec) -> ParseError:
    return ParseError("bad_value", f"任务编号格式不对。{CODE_FORMAT}\n{_example(spec)}")


_ENGLISH: Final = {
    Field.OWNER: "owner", Field.DUE: "due", Field.PRIORITY: "priority", Field.STANDARD: "standard",
    Field.COLLABORATORS: "collaborators", Field.APPROVER: "approver", Field.CONSULTED: "consulted",
    Field.INFORMED: "informed", Field.RESOURCES: "resources", Field.DESCRIPTION: "description",
    Field.START: "start",
}


def missing_fields(spec: CommandSpec, missing: list[str], english: list[str]) -> ParseError:
    return ParseError(
        "missing_field",
        f"{spec.name}还缺少：{'、'.join(missing)} / missing: {', '.join(english)}。\n{_example(spec)}",
    )


def missing_task_fields(spec: CommandSpec, title: bool, fields: list[Field]) -> ParseError:
    missing = (["任务标题"] if title else []) + [str(f) for f in fields]
    english = (["title"] if title else []) + [_ENGLISH[f] for f in fields]
    return missing_fields(spec, missing, english)


def empty_field(spec: CommandSpec, field: Field) -> ParseError:
    return ParseError("missing_field", f"「{field}」后面需要写内容 / {_ENGLISH[field]} is empty。\n{_example(spec)}")


def duplicate_field(spec: CommandSpec, field: Field) -> ParseError:
    return ParseError("bad_value", f"「{field}」只能写一次 / {_ENGLISH[field]} given twice。\n{_example(spec)}")


def one_person_only(spec: CommandSpec, field: Field) -> ParseError:
    hint = "其他人请写在「协作人」里。" if field is Field.OWNER else ""
    return ParseError(
        "bad_value", f"「{field}」只能写一个人。{hint}/ only one {_ENGLISH[field]}。\n{_example(spec)}"
    )


def bad_priority(spec: CommandSpec) -> ParseError:
    return ParseError(
        "bad_value",
        "优先级只能是 高、中、低（也可写 P0–P3 或 high/medium/low）/ priority: high, medium or low。"
        f"\n{_example(spec)}",
    )


def bad_date(field: Field, detail: str) -> ParseError:
    return ParseError("bad_date", f"{field}没有看懂：{detail}")


def not_for_subtask(field: Field) -> ParseError:
    allowed = "、".join(str(f) for f in Field if f in SUBTASK_FIELDS)
    return ParseError(
        "bad_value",
        f"子任务不能设置「{field}」，可以设置：{allowed} / not available on subtasks。\n{_example(NEW_SUBTASK)}",
    )


def missing_assignee() -> ParseError:
    return ParseError("missing_field", f"请写上要指派给谁 / who should own it?\n{_example(ASSIGN)}")


def one_assignee() -> ParseError:
    return ParseError("bad_value", f"一次只能指派给一个人 / assign to one person。\n{_example(ASSIGN)}")


def missing_percent() -> ParseError:
    return ParseError("missing_field", f"请写上进度百分比（0–100）/ percent missing。\n{_example(PROGRESS)}")


def bad_percent() -> ParseError:
    return ParseError(
        "bad_value", f"进度要写 0 到 100 之间的整数 / percent must be a whole number 0–100。\n{_example(PROGRESS)}"
    )



def missing_department(spec: CommandSpec) -> ParseError:
    return ParseError("missing_field", f"请写上部门名称。\n{_example(spec)}")


def missing_department_head(spec: CommandSpec) -> ParseError:
    return ParseError("missing_field", f"请 @ 部门负责人（一位）。\n{_example(spec)}")


def missing_people(spec: CommandSpec) -> ParseError:
    return ParseError("missing_field", f"请 @ 要加入的成员，可以多位。\n{_example(spec)}")


def two_people(spec: CommandSpec) -> ParseError:
    return ParseError("bad_value", f"请依次 @ 两个人：先写本人，再写他的上级。\n{_example(spec)}")


def one_person(spec: CommandSpec) -> ParseError:
    return ParseError("bad_value", f"请 @ 一位成员。\n{_example(spec)}")


def own_superior() -> ParseError:
    return ParseError("bad_value", "一个人不能是自己的上级。请先 @ 本人，再 @ 他的上级。")


def missing_text(spec: CommandSpec) -> ParseError:
    return ParseError("missing_field", f"请在任务编号后面写上内容。\n{_example(spec)}")


GOAL_CODE_FORMAT: Final = "目标编号像 O2026001，阶段目标 O2026001-S1，关键结果 O2026001-KR1"


def missing_goal_code(spec: CommandSpec) -> ParseError:
    return ParseError("bad_value", f"请写上目标编号。{GOAL_CODE_FORMAT}。\n{_example(spec)}")


def missing_title(spec: CommandSpec) -> ParseError:
    return ParseError("missing_field", f"请写上标题。\n{_example(spec)}")


def missing_target(spec: CommandSpec) -> ParseError:
    return ParseError("missing_field", f"请写上目标值（数字，可带单位）。\n{_example(spec)}")


def missing_kr_value(spec: CommandSpec) -> ParseError:
    return ParseError("bad_value", f"请写关键结果编号和当前值（数字）。\n{_example(spec)}")


def one_code_at_a_time(spec: CommandSpec, codes: list[str]) -> ParseError:
    each = "、".join(f"「{spec.name} {code}」" for code in codes[:5])
    return ParseError("bad_value", f"一次只能{spec.name}一个任务，请分开发送：{each}。")


# A slash right after a letter joins words (high/medium/low, Europe/London); it starts no English half.
_ENGLISH_TAIL: Final = re.compile(r"\s*(?<![A-Za-z])/\s*(?:[A-Za-z][^。\n]*)")


def chinese_only(message: str) -> str:
    """The reply without its English half, for someone who wrote in Chinese."""
    return _ENGLISH_TAIL.sub("", message.replace("例如 / e.g.：", "例如："))
