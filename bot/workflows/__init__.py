"""The decision workflows and the cadence (calendar, delays, stand-up, digest), one package each.

Adding a workflow means adding its package and its name below; nothing else changes. Its
`commands` module lists its words and their builders (GRAMMAR), registered here in this order;
its `handlers` module registers its decision flow and holds its router.
"""

from __future__ import annotations

from importlib import import_module

from bot.router import Router

WORKFLOWS = ("collaboration", "issues", "changes", "acceptance", "delays", "calendar", "standup", "digest")


_loaded = False


def load_commands() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from bot.commands.grammar import register_command

    modules = ["bot.decisions.commands", *(f"bot.workflows.{name}.commands" for name in WORKFLOWS)]
    for module in modules:
        for spec, builder in import_module(module).GRAMMAR:
            register_command(spec, builder)


def routers() -> list[Router]:
    load_commands()
    found: list[Router] = [import_module("bot.decisions.handlers").router]
    for name in WORKFLOWS:
        found.append(import_module(f"bot.workflows.{name}.handlers").router)
    return found
