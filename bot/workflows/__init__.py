"""The decision workflows, one package each: its commands, its flow, its service and its cards.

Adding a workflow means adding its package and its name below; nothing else changes. Its
`commands` module registers its words with the grammar; its `handlers` module registers its
decision flow and holds its router.
"""

from __future__ import annotations

from importlib import import_module

from bot.router import Router

WORKFLOWS = ("collaboration", "issues", "changes", "acceptance")


def load_commands() -> None:
    import_module("bot.decisions.commands")
    for name in WORKFLOWS:
        import_module(f"bot.workflows.{name}.commands")


def routers() -> list[Router]:
    load_commands()
    found: list[Router] = [import_module("bot.decisions.handlers").router]
    for name in WORKFLOWS:
        found.append(import_module(f"bot.workflows.{name}.handlers").router)
    return found
