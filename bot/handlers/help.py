"""帮助 / help: every command with an example."""

from __future__ import annotations

from functools import cache

from bot.commands import ShowHelp, help_entries
from bot.commands.help import HelpEntry
from bot.core import Card, Divider, Note, Text
from bot.router import Reply, Router
from bot.scope import Scope

router = Router("help")


def help_card(topic: str | None = None) -> Card:
    if not topic:
        return _whole_help()
    entries = list(help_entries())
    chosen = [e for e in entries if topic.lower() in (e[0].lower(), e[1].lower())]
    return _card(chosen or entries)


@cache
def _whole_help() -> Card:
    """The card most help requests get, built once: the commands are fixed once loaded, a Card is frozen."""
    return _card(list(help_entries()))


def _card(entries: list[HelpEntry]) -> Card:
    lines = [f"**{name}** / {alias}　{desc}\n　例：`{example}`" for name, alias, desc, example in entries]
    return Card(
        title="推进 Tuijin · 命令帮助",
        elements=(
            Text("在群里 @我 并发送命令即可。"),
            Divider(),
            Text("\n".join(lines)),
            Note("日期可以写：今天、明天、周五、下周一、10月15日、3天后、18点、下班前"),
        ),
        template="blue",
    )


@router.command(ShowHelp)
async def show_help(command: ShowHelp, scope: Scope) -> Reply:
    return Reply(card=help_card(command.topic))
