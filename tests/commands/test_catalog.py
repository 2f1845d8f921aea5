"""Finding a command by any word that names it, as typed: case and spacing do not matter."""

from __future__ import annotations

import pytest

from bot.commands import catalog
from bot.commands.catalog import ADD_ADMIN, HELP, NEW_TASK, CommandSpec, all_commands, find_command


def _first_naming(word: str) -> CommandSpec | None:
    return next((spec for spec in all_commands() if word in (spec.name, spec.english, *spec.aliases)), None)


def test_every_word_of_every_command_finds_the_first_command_it_names() -> None:
    words = {word for spec in all_commands() for word in (spec.name, spec.english, *spec.aliases)}
    assert len(words) > 100  # the workflows' commands are there too
    for word in words:
        assert find_command(word) is _first_naming(word), word


def test_case_and_spacing_are_ignored_and_unknown_words_find_nothing() -> None:
    assert find_command("  New   TASK ") is NEW_TASK
    assert find_command("HELP") is HELP
    assert find_command("Add Admin") is ADD_ADMIN
    assert find_command("新建 任务") is None
    assert find_command("") is None


def test_what_is_derived_from_the_commands_is_built_once_and_again_when_a_command_is_added(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    all_commands()  # the workflows' commands are loaded
    # The added command lives only in this test: the module's state comes back afterwards.
    monkeypatch.setattr(catalog, "_ADDED", list(catalog._ADDED))
    monkeypatch.setattr(catalog, "_ALL", ())
    monkeypatch.setattr(catalog, "_DERIVED", {})
    builds: list[int] = []

    def count(commands: tuple[CommandSpec, ...]) -> int:
        builds.append(len(commands))
        return len(commands)

    counted = catalog.derived(count)
    assert counted() == counted() == len(all_commands())
    assert len(builds) == 1
    catalog.add_command(CommandSpec("试用命令", "trial command", ("试用命令",), "试用", "试用命令"))
    assert counted() == builds[0] + 1 and len(builds) == 2
    found = find_command("trial command")
    assert found is not None and found.name == "试用命令"
    assert all_commands()[-1] is HELP  # help stays last
