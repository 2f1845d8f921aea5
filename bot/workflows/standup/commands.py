"""站会: its settings (时间, 成员, 提醒, 汇总, 关闭) and the members' answers (昨天 … 今天 … 障碍 …)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Final

from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.grammar import Builder
from bot.commands.keyed import Rejected, text_of
from bot.commands.model import Command, ParseError, PersonRef, WorkflowCommand
from bot.commands.people import parse_people
from bot.commands.text import Folded


@dataclass(frozen=True, slots=True)
class ConfigureStandup(WorkflowCommand):
    """One setting at a time; `show` alone shows the settings."""

    prompt: time | None = None
    remind: time | None = None
    summary: time | None = None
    members: tuple[PersonRef, ...] = ()
    close: bool = False
    show: bool = False


@dataclass(frozen=True, slots=True)
class AnswerStandup(WorkflowCommand):
    yesterday: str | None = None
    today: str | None = None
    blockers: str | None = None


STANDUP: Final = CommandSpec(
    "站会", "standup", ("站会", "每日站会", "standup", "stand-up"),
    "每日站会：设置（时间/成员/提醒/汇总/关闭，管理员），或回答：站会 昨天 … 今天 … 障碍 …",
    "站会 昨天 完成海报初稿 今天 修改海报 障碍 无",
)
_TIME: Final = re.compile(r"^(?P<h>[01]?\d|2[0-3])\s*[:：点]\s*(?P<m>[0-5]\d)?\s*(?:分)?$")
_SETTING: Final = re.compile(
    r"^(?P<word>时间|提醒|汇总|成员|关闭|停止|time|remind|summary|members|off)(?=\s|$|[0-9@<])", re.IGNORECASE)
_PARTS: Final = {
    "昨天": "yesterday", "昨日": "yesterday", "yesterday": "yesterday",
    "今天": "today", "今日": "today", "today": "today",
    "障碍": "blockers", "阻碍": "blockers", "困难": "blockers", "问题": "blockers", "卡点": "blockers",
    "blockers": "blockers", "blocker": "blockers",
}
# Loosely: a part starts at the beginning or after a separator, with or without a colon or a space
# after it ("昨天完成海报，今天改稿" as well as "昨天：… 今天：…").
_ANSWER: Final = re.compile(
    r"(?:^|(?<=[\s,，;；。、!！]))(?P<key>" + "|".join(sorted(_PARTS, key=len, reverse=True)) + r")\s*[:：]?\s*",
    re.IGNORECASE)
_NONE: Final = frozenset({"无", "没有", "暂无", "none", "no", "-", "无障碍"})


def parse_time(text: str, example: str) -> time:
    match = _TIME.match(text.strip())
    if match is None:
        raise Rejected(ParseError("bad_value", f"请写时间，例如：{example}"))
    return time(int(match["h"]), int(match["m"] or 0))


def _split_answer(args: Folded) -> tuple[Folded, dict[str, Folded]]:
    matches = list(_ANSWER.finditer(args.fold))
    head_end = matches[0].start() if matches else len(args.fold)
    values: dict[str, Folded] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(args.fold)
        values[_PARTS[match["key"].lower()]] = args.cut(match.end(), end)
    return args.cut(0, head_end), values


def _clean(value: Folded | None) -> str | None:
    text = text_of(value)
    return text.strip(" ,，;；。、") or None if text else None


def _standup(spec: CommandSpec, args: Folded, ctx: ParseContext) -> Command:
    text = args.fold.strip()
    if not text:
        return ConfigureStandup(show=True)
    setting = _SETTING.match(text)
    if setting is not None:
        word, rest = setting["word"].lower(), text[setting.end():].strip()
        if word in ("关闭", "停止", "off"):
            return ConfigureStandup(close=True)
        if word in ("成员", "members"):
            people = parse_people(rest)
            if not people:
                raise Rejected(ParseError("missing_field", "请 @ 参加站会的成员。例如：站会 成员 @赵磊 @陈静"))
            return ConfigureStandup(members=people)
        moment = parse_time(rest, f"站会 {setting['word']} 09:30")
        if word in ("时间", "time"):
            return ConfigureStandup(prompt=moment)
        if word in ("提醒", "remind"):
            return ConfigureStandup(remind=moment)
        return ConfigureStandup(summary=moment)
    head, values = _split_answer(args)
    yesterday, today, blockers = (_clean(values.get(k)) for k in ("yesterday", "today", "blockers"))
    if text_of(head) and today is None:
        # A plain sentence (or what comes before the first part) is what one does today.
        today = text_of(head)
    if blockers is not None and blockers.lower() in _NONE:
        blockers = ""  # said there are none: clears an earlier one
    if yesterday is None and today is None and blockers is None:
        raise Rejected(ParseError("missing_field", f"请写上昨天、今天和障碍。例如：{spec.example}"))
    return AnswerStandup(yesterday=yesterday, today=today, blockers=blockers)


GRAMMAR: Final[tuple[tuple[CommandSpec, Builder], ...]] = ((STANDUP, _standup),)
