"""延期原因 <code> <reason> [新截止 <date>]."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import KeyedFields, date_of, missing, task_code, text_of
from bot.commands.model import Command, WorkflowCommand
from bot.commands.text import Folded


@dataclass(frozen=True, slots=True)
class ExplainDelay(WorkflowCommand):
    code: str
    reason: str
    due: datetime | None = None


DELAY: Final = CommandSpec(
    "延期原因", "delay reason", ("延期原因", "延期说明", "delay reason", "delay"),
    "说明任务延期的原因，可附新的截止日期（经变更确认后生效）；记入任务记录和月度复盘",
    "延期原因 XZB20231001-01 素材未到 新截止 10月20日",
)
_FIELDS: Final = KeyedFields({"新截止": "due", "新截止日期": "due", "新的截止": "due", "new due": "due"})


def _delay(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = task_code(spec, args)
    head, values = _FIELDS.split(rest)
    reason = text_of(head)
    if reason is None:
        raise missing(spec, "延期的原因")
    return ExplainDelay(code=code, reason=reason, due=date_of("新截止", values.get("due"), ctx))


GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = ((DELAY, _delay),)
