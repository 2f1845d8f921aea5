"""help_entries (name, English alias, description, example) and a plain-text help."""

from __future__ import annotations

from typing import Final, NamedTuple

from bot.commands.catalog import NEW_SUBTASK, NEW_TASK, all_commands, find_command
from bot.commands.dates import ACCEPTED_FORMS


class HelpEntry(NamedTuple):
    name: str
    alias: str
    description: str
    example: str


def help_entries() -> tuple[HelpEntry, ...]:
    return tuple(HelpEntry(spec.name, spec.english, spec.description, spec.example) for spec in all_commands())


_TASK_FIELDS: Final = (
    "可写的项 / fields：负责人 owner、截止 due、优先级 priority（高/中/低）、交付标准 standard、"
    "协作人 support（可多人）、审批人 approver、咨询人 consulted、知会人 informed（可多人）、"
    "资源 resources、描述 desc、开始 start"
)
_SUBTASK_FIELDS: Final = (
    "可写的项 / fields：负责人、截止、优先级、交付标准、协作人、资源（负责人、截止、优先级不写则沿用主任务）"
)


def _line(entry: HelpEntry) -> str:
    return f"{entry.name} / {entry.alias}：{entry.description}\n  例：{entry.example}"


def help_text(topic: str | None = None) -> str:
    """Every command, or just `topic` (a command name or alias) with its fields and the date forms."""
    spec = find_command(topic) if topic else None
    if spec is None:
        intro = "没有找到这个命令，下面是全部命令。\n" if topic and topic.strip() else ""
        lines = "\n".join(_line(entry) for entry in help_entries())
        return (
            f"{intro}推进 Tuijin 命令 / commands：\n{lines}\n"
            f"日期{ACCEPTED_FORMS}\n发送「帮助 新建任务」查看单个命令的用法。"
        )
    entry = next(e for e in help_entries() if e.name == spec.name)
    parts = [_line(entry), "也可以写 / aliases：" + "、".join(spec.aliases)]
    if spec is NEW_TASK:
        parts += [_TASK_FIELDS, f"日期{ACCEPTED_FORMS}"]
    elif spec is NEW_SUBTASK:
        parts += [_SUBTASK_FIELDS, f"日期{ACCEPTED_FORMS}"]
    return "\n".join(parts)
