"""Neutral cards and texts as the console page draws them; mention tokens become @names."""

from __future__ import annotations

from typing import Any

from adapters.console.directory import ConsoleDirectory
from bot.core import Card
from bot.core.mentions import MENTION_TOKEN
from bot.core.serialize import card_to_dict


def render_text(text: str, directory: ConsoleDirectory) -> str:
    return MENTION_TOKEN.sub(lambda m: "@" + directory.name_of(m.group(1)), text)


def render_card(card: Card, directory: ConsoleDirectory) -> dict[str, Any]:
    data = card_to_dict(card)
    data["title"] = render_text(data["title"], directory)
    for element in data["elements"]:
        if "content" in element:
            element["content"] = render_text(element["content"], directory)
        if element["type"] == "fields":
            element["items"] = [[k, render_text(v, directory)] for k, v in element["items"]]
    return data
