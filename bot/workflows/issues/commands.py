"""卡点, 风险 and 问题, and the receiver's answers 已知悉 / 已解决 typed as messages (转交 is every flow's)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import KeyedFields, Rejected, missing, people_of, task_code, text_of
from bot.commands.model import Command, ParseError, PersonRef, WorkflowCommand
from bot.commands.text import Folded
from bot.decisions.commands import answer_command
from storage.tables import RiskLevel

# What people write for a risk's level (严重 and 紧急 are high): the stored codes.
LEVELS: Final = {"高": RiskLevel.HIGH, "严重": RiskLevel.HIGH, "紧急": RiskLevel.HIGH, "high": RiskLevel.HIGH,
                 "中": RiskLevel.MEDIUM, "medium": RiskLevel.MEDIUM, "低": RiskLevel.LOW, "low": RiskLevel.LOW}


@dataclass(frozen=True, slots=True)
class RaiseBlocker(WorkflowCommand):
    code: str
    description: str
    receiver: PersonRef | None = None
    impact: str | None = None


@dataclass(frozen=True, slots=True)
class RaiseRisk(WorkflowCommand):
    code: str
    level: RiskLevel
    description: str
    impact: str
    suggestion: str


@dataclass(frozen=True, slots=True)
class ShowIssues(WorkflowCommand):
    code: str


BLOCKER: Final = CommandSpec(
    "卡点", "blocker", ("卡点", "阻塞", "blocker", "blocked"),
    "上报卡点：需要谁处理（不写则交给发起人），24小时内必须答复",
    "卡点 XZB20231001-01 视频素材版权未确认 需要 @王强 影响 短视频无法按时交付",
)
RISK: Final = CommandSpec(
    "风险", "risk", ("风险", "risk"),
    "上报风险（高/中/低）给发起人：高风险4小时内答复，其余24小时",
    "风险 高 XZB20231001 主视觉供应商可能延期 影响 海报延期3天 建议 启用备选供应商",
)
SHOW: Final = CommandSpec(
    "问题", "issues", ("问题", "问题列表", "issues"),
    "查看任务的卡点和风险，以及各自的处理时限",
    "问题 XZB20231001",
)
_BLOCKER_FIELDS: Final = KeyedFields({"需要": "receiver", "接收人": "receiver", "处理人": "receiver",
                                      "影响": "impact", "impact": "impact"})
_RISK_FIELDS: Final = KeyedFields({"影响": "impact", "impact": "impact", "建议": "suggestion",
                                   "suggestion": "suggestion"})
_LEVEL: Final = re.compile(r"(?P<level>高|中|低|严重|紧急|high|medium|low)(?:风险)?(?=\s|$)", re.IGNORECASE)


def _blocker(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    code, rest = task_code(spec, args)
    head, values = _BLOCKER_FIELDS.split(rest)
    description = text_of(head)
    if description is None:
        raise missing(spec, "卡点的描述")
    receivers = people_of(values.get("receiver"))
    if len(receivers) > 1:
        raise Rejected(ParseError("bad_value", "「需要」只能写一个人。例如：需要 @王强"))
    return RaiseBlocker(code=code, description=description, receiver=receivers[0] if receivers else None,
                        impact=text_of(values.get("impact")))


def _risk(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    level = _LEVEL.match(args.fold)
    if level is None:
        raise Rejected(ParseError("bad_value", f"请先写风险级别：高、中 或 低。例如：{spec.example}"))
    code, rest = task_code(spec, args.cut(level.end()).strip())
    head, values = _RISK_FIELDS.split(rest)
    description, impact, suggestion = text_of(head), text_of(values.get("impact")), text_of(values.get("suggestion"))
    if description is None or impact is None or suggestion is None:
        raise missing(spec, "风险描述、影响和建议（影响 …… 建议 ……）")
    return RaiseRisk(code=code, level=LEVELS[level["level"].lower()], description=description, impact=impact,
                     suggestion=suggestion)


def _show(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    return ShowIssues(code=task_code(spec, args)[0])


ACKNOWLEDGE: Final = answer_command(CommandSpec(
    "已知悉", "ack", ("已知悉", "知悉", "收到", "ack"),
    "卡点或风险的处理人表示已知悉（停止答复计时）",
    "已知悉 XZB20231001-01",
))
RESOLVE: Final = answer_command(CommandSpec(
    "已解决", "resolved", ("已解决", "resolved", "resolve"),
    "卡点或风险已解决，必须写解决方案；结果同步到群和任务记录",
    "已解决 XZB20231001-01 方案 已与版权方签署授权",
))

# In the order 帮助 lists them.
GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = (
    (BLOCKER, _blocker),
    (RISK, _risk),
    (SHOW, _show),
    ACKNOWLEDGE,
    RESOLVE,
)
