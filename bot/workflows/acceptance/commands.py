"""提交验收, and the reviewer's answers 通过 / 不通过 typed as messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import KeyedFields, missing, task_code, text_of
from bot.commands.model import Command, WorkflowCommand
from bot.commands.text import Folded
from bot.decisions.commands import answer_command


@dataclass(frozen=True, slots=True)
class SubmitForReview(WorkflowCommand):
    code: str
    deliverable: str
    self_check: str


SUBMIT: Final = CommandSpec(
    "提交验收", "submit", ("提交验收", "验收", "submit for review", "submit"),
    "提交成果验收：写明交付物（文字或链接）和自检情况；审批人在2个工作日内验收",
    "提交验收 XZB20231001-02 交付物 https://pan.example.com/q4-video 自检 2条短视频均已按交付标准完成",
)
_FIELDS: Final = KeyedFields({"交付物": "deliverable", "成果": "deliverable", "deliverable": "deliverable",
                              "自检": "check", "自检情况": "check", "check": "check"})


def _submit(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = task_code(spec, args)
    _, values = _FIELDS.split(rest)
    deliverable, check = text_of(values.get("deliverable")), text_of(values.get("check"))
    if deliverable is None or check is None:
        raise missing(spec, "交付物和自检情况（交付物 …… 自检 ……）")
    return SubmitForReview(code=code, deliverable=deliverable, self_check=check)


PASS: Final = answer_command(CommandSpec(
    "通过", "pass", ("通过", "验收通过", "pass"),
    "验收通过：任务完成并归档",
    "通过 XZB20231001-02",
))
FAIL: Final = answer_command(CommandSpec(
    "不通过", "fail", ("不通过", "验收不通过", "fail"),
    "验收不通过：必须写修改意见，任务退回进行中",
    "不通过 XZB20231001-02 意见 第二条视频时长超过30秒",
))

# In the order 帮助 lists them.
GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = (
    (SUBMIT, _submit),
    PASS,
    FAIL,
)
