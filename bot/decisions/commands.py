"""Answering a decision by message (拒绝 XZB… 原因 …) and listing what waits on you (待我处理).

Every workflow makes its answer words with `answer_command`; they all parse the same way:
`<word> <task code> [[卡点|风险|变更|验收|协作请求] #n] [@person] [原因|方案|意见 <text>] [可启动 <date>]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import KeyedFields, date_of, people_of, task_code, text_of
from bot.commands.model import Command, PersonRef, WorkflowCommand
from bot.commands.text import SEPARATORS, Folded


@dataclass(frozen=True, slots=True)
class AnswerDecision(WorkflowCommand):
    word: str
    code: str
    number: int | None = None
    # What kind of decision #n is (卡点, 变更 …), for a task with a 卡点 #1 and a 变更 #1 at once.
    noun: str | None = None
    text: str | None = None
    people: tuple[PersonRef, ...] = ()
    proposed: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShowWaiting(WorkflowCommand):
    pass


_NUMBER: Final = re.compile(r"(?:(?P<noun>[\u4e00-\u9fff]{2,6})\s*)?#\s*(?P<n>[0-9]{1,3})(?![0-9])")
_FIELDS: Final = KeyedFields({"可启动": "start", "可开始": "start", "启动时间": "start",
                              "原因": "text", "理由": "text", "方案": "text", "解决方案": "text",
                              "意见": "text", "说明": "text", "备注": "text", "reason": "text"})


def _answer(word: str) -> Builder:
    def build(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
        code, rest = task_code(spec, args)
        number, noun = None, None
        match = _NUMBER.match(rest.fold)
        if match is not None:
            number, noun = int(match["n"]), match["noun"]
            rest = rest.cut(match.end()).strip()
        head, values = _FIELDS.split(rest)
        people = people_of(head)
        # Free text before any key is the answer too (已解决 XZB… 已协调好预算), minus the people named.
        loose = re.sub(r"<@[^>]+>|@\S+", " ", head.orig).strip(SEPARATORS + " ")
        text = text_of(values.get("text")) or (" ".join(loose.split()) or None)
        return AnswerDecision(word=word, code=code, number=number, noun=noun, text=text, people=people,
                              proposed=date_of("可启动", values.get("start"), ctx))

    return build


def answer_from_card(typed: str, ctx: ParseContext) -> tuple[str | None, datetime | None]:
    """Text typed into a decision card's field: the answer, and a later start if it names one.

    Raises Rejected when it names a start that is not a date: the click is refused with the
    grammar's answer rather than deciding without the date the person meant to give.
    """
    head, values = _FIELDS.split(Folded.of(typed).strip())
    proposed = date_of("可启动", values.get("start"), ctx)
    text = text_of(values.get("text")) or text_of(head)
    return text, proposed


def answer_command(spec: CommandSpec) -> tuple[CommandSpec, Builder]:
    """`spec.name` (a button's label) as an answer typed as a message."""
    return spec, _answer(spec.name)


WAITING: Final = CommandSpec(
    "待我处理", "todo", ("待我处理", "待处理", "我的待办", "todo", "inbox"),
    "查看等你处理的事项：协作请求、卡点、风险、变更和验收（跨群）",
    "待我处理",
)


def _waiting(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    return ShowWaiting()


# 转交 is offered by every flow: the same word hands over a request, blocker, risk, change or review.
HAND_OVER: Final = answer_command(CommandSpec(
    "转交", "hand over", ("转交", "hand over", "handover"),
    "把等你处理的事（协作请求、卡点、风险、变更、验收）转交给其他同事，对方获得完整的答复时限"
    "（你请假时，提出人、你的上级、部门负责人或管理员可代为转交）",
    "转交 XZB20231001-01 @陈静",
))

# In the order 帮助 lists them.
GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = ((WAITING, _waiting), HAND_OVER)
