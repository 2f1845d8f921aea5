"""Finding a command by any word that names it, as typed: case and spacing do not matter."""

from __future__ import annotations

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
