"""Splitting a workflow command at its own keys (部门 …, 背景 …, 原因 …) and the helpers its builder needs.

The task grammar has a fixed set of fields (bot/commands/fields.py); each workflow names its own
keys here and gets the same rules: a key starts a field only at a word boundary and when a value
follows, so words inside a title stay in the title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from bot.commands import messages
from bot.commands.catalog import CommandSpec
from bot.commands.context import ParseContext
from bot.commands.dates import DateParseError, parse_due
from bot.commands.fields import Field
from bot.commands.model import ParseError, PersonRef
from bot.commands.people import parse_people
from bot.commands.text import SEPARATORS, Folded


class Rejected(Exception):
    """Raised by a builder; the grammar answers with its ParseError."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


class KeyedFields:
    def __init__(self, keys: Mapping[str, str]) -> None:
        """`keys` maps every word that may start a field (its aliases included) to the field's name."""
        self.keys = {k.lower(): v for k, v in keys.items()}
        words = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
        self.pattern = re.compile(
            r"(?:^|(?<=[ ,;、。>]))(?P<key>" + words + r")"
            r"(?: *[:=：] *| +|(?=[@<])|$|(?<=[^\x00-\x7f])(?=[0-9])"
            r"|(?<=截止|截至|启动|开始)(?=[今明后周下本这昨前星礼]))",
            re.IGNORECASE,
        )

    def split(self, args: Folded) -> tuple[Folded, dict[str, Folded]]:
        """The text before the first key, then each field's value (a repeated key keeps the last)."""
        matches = list(self.pattern.finditer(args.fold))
        head_end = matches[0].start() if matches else len(args.fold)
        values: dict[str, Folded] = {}
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(args.fold)
            values[self.keys[match["key"].lower()]] = args.cut(match.end(), end).strip()
        return args.cut(0, head_end).strip(), values


def text_of(value: Folded | None) -> str | None:
    return " ".join(value.orig.split()).strip(SEPARATORS) or None if value else None


def date_of(label: str, value: Folded | None, ctx: ParseContext) -> datetime | None:
    if not value:
        return None
    try:
        return parse_due(value.fold, ctx)
    except DateParseError as error:
        raise Rejected(ParseError("bad_date", f"「{label}」{error.message}")) from None


def people_of(value: Folded | None) -> tuple[PersonRef, ...]:
    return parse_people(value.fold) if value else ()


def missing(spec: CommandSpec, what: str) -> Rejected:
    return Rejected(ParseError("missing_field", f"请写上{what}。例如：{spec.example}"))


def task_code(spec: CommandSpec, args: Folded) -> tuple[str, Folded]:
    """The task code the command starts with, and the rest."""
    from bot.commands.grammar import _leading_code, _Rejected

    try:
        return _leading_code(spec, args)
    except _Rejected as rejected:
        raise Rejected(rejected.error) from None


__all__ = ["Field", "KeyedFields", "Rejected", "date_of", "messages", "missing", "people_of", "task_code", "text_of"]
