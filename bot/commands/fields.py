"""Field keys of 新建任务 / 子任务 (负责人 @张三 截止 周五 ...) and splitting a message at them."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from bot.commands.text import Folded


class Field(StrEnum):
    OWNER = "负责人"
    DUE = "截止时间"
    PRIORITY = "优先级"
    STANDARD = "交付标准"
    COLLABORATORS = "协作人"
    APPROVER = "审批人"
    CONSULTED = "咨询人"
    INFORMED = "知会人"
    RESOURCES = "资源"
    DESCRIPTION = "描述"
    START = "开始时间"


FIELD_KEYS: Final[dict[str, Field]] = {
    "负责人": Field.OWNER, "owner": Field.OWNER,
    "截止": Field.DUE, "截止时间": Field.DUE, "截止日期": Field.DUE,
    "截至": Field.DUE, "截至时间": Field.DUE, "截至日期": Field.DUE,
    "due": Field.DUE, "deadline": Field.DUE,
    "优先级": Field.PRIORITY, "priority": Field.PRIORITY,
    "交付标准": Field.STANDARD, "standard": Field.STANDARD,
    "协作人": Field.COLLABORATORS, "协作者": Field.COLLABORATORS,
    "support": Field.COLLABORATORS, "collaborators": Field.COLLABORATORS, "collaborator": Field.COLLABORATORS,
    "审批人": Field.APPROVER, "approver": Field.APPROVER,
    "咨询人": Field.CONSULTED, "consulted": Field.CONSULTED,
    "知会人": Field.INFORMED, "informed": Field.INFORMED,
    "资源": Field.RESOURCES, "所需资源": Field.RESOURCES, "resources": Field.RESOURCES,
    "描述": Field.DESCRIPTION, "说明": Field.DESCRIPTION, "desc": Field.DESCRIPTION,
    "description": Field.DESCRIPTION,
    "开始": Field.START, "开始时间": Field.START, "开始日期": Field.START, "start": Field.START,
}

MULTI_PERSON: Final = frozenset({Field.COLLABORATORS, Field.CONSULTED, Field.INFORMED})
SUBTASK_FIELDS: Final = frozenset(
    {Field.OWNER, Field.DUE, Field.PRIORITY, Field.STANDARD, Field.COLLABORATORS, Field.RESOURCES}
)

_KEYS: Final = "|".join(re.escape(k) for k in sorted(FIELD_KEYS, key=len, reverse=True))
# A key starts a field only at a boundary and when followed by a separator, a mention or the end,
# so that words inside a title (资源整合方案, 开始准备年会) stay part of the title. Chinese keys may
# also run straight into a number or a priority word (截止10月15日, 优先级高).
_KEY: Final = re.compile(
    r"(?:^|(?<=[ ,;、。>]))(?P<key>" + _KEYS + r")"
    r"(?: *[:=] *| +|(?=[@<])|$|(?<=[^\x00-\x7f])(?=[0-9])|(?<=级)(?=[高中低](?:[ ,;、。]|$))"
    # A date word right after 截止/开始 (截止周五, 开始明天): people type these without a space.
    r"|(?<=截止|截至|开始)(?=[今明后周下本这昨前星礼]))",
    re.IGNORECASE | re.ASCII,
)


def split_fields(args: Folded) -> tuple[Folded, list[tuple[Field, Folded]]]:
    """The text before the first key (the title), then each key with its value, in order."""
    matches = list(_KEY.finditer(args.fold))
    head_end = matches[0].start() if matches else len(args.fold)
    fields: list[tuple[Field, Folded]] = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(args.fold)
        key = match["key"]
        field = FIELD_KEYS.get(key) or FIELD_KEYS[key.lower()]
        fields.append((field, args.cut(match.end(), end).strip()))
    return args.cut(0, head_end).strip(), fields
