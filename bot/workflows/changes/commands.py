"""变更, and the deciders' answers 同意 / 驳回 typed as messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import KeyedFields, Rejected, date_of, missing, people_of, task_code, text_of
from bot.commands.model import Command, ParseError, PersonRef, WorkflowCommand
from bot.commands.text import Folded
from bot.decisions.commands import answer_command


@dataclass(frozen=True, slots=True)
class RequestChange(WorkflowCommand):
    code: str
    reason: str
    due: datetime | None = None
    owner: PersonRef | None = None
    objective: str | None = None
    deliverables: str | None = None


REQUEST: Final = CommandSpec(
    "变更", "change", ("变更", "变更申请", "change request", "change"),
    "申请变更任务的截止时间、负责人、目标或交付物（必须写原因）；所有协作部门负责人和审批人同意后生效",
    "变更 XZB20231001 截止 10月18日 交付物 3张海报和3条短视频 原因 新增一条产品演示视频",
)
_FIELDS: Final = KeyedFields({
    "截止": "due", "截止时间": "due", "截止日期": "due", "due": "due",
    "负责人": "owner", "owner": "owner",
    "目标": "objective", "goal": "objective",
    "交付物": "deliverables", "deliverables": "deliverables",
    "原因": "reason", "理由": "reason", "reason": "reason",
})


def _request(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = task_code(spec, args)
    _, values = _FIELDS.split(rest)
    reason = text_of(values.get("reason"))
    if reason is None:
        raise missing(spec, "变更原因（原因 ……）")
    owners = people_of(values.get("owner"))
    if len(owners) > 1:
        raise Rejected(ParseError("bad_value", "「负责人」只能写一个人。例如：负责人 @赵磊"))
    command = RequestChange(code=code, reason=reason, due=date_of("截止", values.get("due"), ctx),
                            owner=owners[0] if owners else None, objective=text_of(values.get("objective")),
                            deliverables=text_of(values.get("deliverables")))
    if not (command.due or command.owner or command.objective or command.deliverables):
        raise missing(spec, "要变更什么：截止、负责人、目标或交付物")
    return command


APPROVE: Final = answer_command(CommandSpec(
    "同意", "approve", ("同意", "approve", "agree"),
    "同意一项变更（所有人同意后自动生效）",
    "同意 XZB20231001",
))
VETO: Final = answer_command(CommandSpec(
    "驳回", "veto", ("驳回", "veto"),
    "驳回一项变更，必须写原因；变更随即取消",
    "驳回 XZB20231001 原因 上市时间不能再推迟",
))

# In the order 帮助 lists them.
GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = (
    (REQUEST, _request),
    APPROVE,
    VETO,
)
