"""发起协作 and 协作, and the heads' answers 接受 / 拒绝 typed as messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import KeyedFields, Rejected, date_of, missing, task_code, text_of
from bot.commands.model import Command, ParseError, WorkflowCommand
from bot.commands.text import Folded
from bot.decisions.commands import answer_command

PRIORITIES: Final = {"高": "high", "中": "medium", "低": "low", "紧急": "high", "high": "high", "medium": "medium",
                     "low": "low"}


@dataclass(frozen=True, slots=True)
class RequestCollaboration(WorkflowCommand):
    title: str
    departments: tuple[str, ...]
    due: datetime
    background: str
    objective: str
    priority: str = "medium"
    deliverables: str | None = None
    start: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShowCollaboration(WorkflowCommand):
    code: str


REQUEST: Final = CommandSpec(
    "发起协作", "collab", ("发起协作", "协作请求", "跨部门协作", "collab request", "collab"),
    "向其他部门发起协作请求，各部门负责人在卡片上接受或拒绝（2个工作日内）",
    "发起协作 Q4新品宣传物料 部门 设计部,品牌部 截止 10月15日 背景 新品10月20日上市 目标 完成全套宣传物料 "
    "优先级 高 交付物 3张海报和2条短视频 启动 10月8日",
    free_text=True,
)
SHOW: Final = CommandSpec(
    "协作", "collab status", ("协作", "协作详情", "协作进度", "collab status"),
    "查看协作请求和每个部门的答复",
    "协作 XZB20231001",
)
_FIELDS: Final = KeyedFields({
    "部门": "departments", "协作部门": "departments", "departments": "departments",
    "截止": "due", "截止时间": "due", "截止日期": "due", "due": "due",
    "背景": "background", "background": "background",
    "目标": "objective", "goal": "objective",
    "优先级": "priority", "priority": "priority",
    "交付物": "deliverables", "deliverables": "deliverables",
    "启动": "start", "开始": "start", "启动时间": "start", "start": "start",
})
_LIST: Final = re.compile(r"[,，、;；/和与\s]+")


def _request(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    head, values = _FIELDS.split(args)
    title = text_of(head)
    if title is None:
        raise missing(spec, "协作的标题")
    departments = tuple(d for d in _LIST.split(text_of(values.get("departments")) or "") if d)
    if not departments:
        raise missing(spec, "要协作的部门（部门 设计部,品牌部）")
    due = date_of("截止", values.get("due"), ctx)
    if due is None:
        raise missing(spec, "截止时间（截止 10月15日）")
    background, objective = text_of(values.get("background")), text_of(values.get("objective"))
    if background is None or objective is None:
        raise missing(spec, "背景和目标（背景 …… 目标 ……）")
    priority = PRIORITIES.get((text_of(values.get("priority")) or "中").lower())
    if priority is None:
        raise Rejected(ParseError("bad_value", "优先级请写 高、中 或 低。例如：优先级 高"))
    return RequestCollaboration(title=title, departments=departments, due=due, background=background,
                                objective=objective, priority=priority,
                                deliverables=text_of(values.get("deliverables")),
                                start=date_of("启动", values.get("start"), ctx))


def _show(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    return ShowCollaboration(code=task_code(spec, args)[0])


ACCEPT: Final = answer_command(CommandSpec(
    "接受", "accept", ("接受", "accept"),
    "部门负责人接受协作请求，可同时指定本部门的负责人",
    "接受 XZB20231001 @赵磊",
))
REFUSE: Final = answer_command(CommandSpec(
    "拒绝", "decline", ("拒绝", "decline", "refuse"),
    "部门负责人拒绝协作请求，必须写原因，可提出可启动日期",
    "拒绝 XZB20231001 原因 当前人力饱和 可启动 10月20日",
))

# In the order 帮助 lists them.
GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = (
    (REQUEST, _request),
    (SHOW, _show),
    ACCEPT,
    REFUSE,
)
