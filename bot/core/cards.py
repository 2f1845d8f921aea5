"""A neutral card: what the core says, before any platform decides how it looks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.core.actions import ActionPayload

Template = Literal["blue", "green", "yellow", "red", "grey", "orange", "purple"]
ButtonStyle = Literal["primary", "default", "danger"]


@dataclass(frozen=True)
class Text:
    """A paragraph; `**bold**` and line breaks are the only markup the renderers promise."""

    content: str


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown as a compact grid."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Image:
    """`source` is a URL or a platform image key the adapter uploaded earlier."""

    source: str
    alt: str


@dataclass(frozen=True)
class Button:
    label: str
    action: ActionPayload
    style: ButtonStyle = "default"


@dataclass(frozen=True)
class Input:
    """A one-line text field; its value arrives with the click as `form_values[name]`."""

    name: str
    placeholder: str


@dataclass(frozen=True)
class Buttons:
    """A row of buttons; with `input`, a text field submitted together with whichever is pressed.

    Surfaces whose cards have no forms show the buttons only, and the card's text says what to
    send instead.
    """

    buttons: tuple[Button, ...]
    input: Input | None = None


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Note:
    """Small grey text at the bottom: timestamps, hints."""

    content: str


CardElement = Text | Fields | Image | Buttons | Divider | Note


@dataclass(frozen=True)
class Card:
    title: str
    elements: tuple[CardElement, ...] = field(default_factory=tuple)
    template: Template = "blue"

    def buttons(self) -> tuple[Button, ...]:
        return tuple(b for el in self.elements if isinstance(el, Buttons) for b in el.buttons)

    def plain_text(self) -> str:
        """A text fallback for surfaces that cannot show cards."""
        lines = [self.title]
        for el in self.elements:
            if isinstance(el, Text | Note):
                lines.append(el.content)
            elif isinstance(el, Fields):
                lines.extend(f"{k}：{v}" for k, v in el.items)
            elif isinstance(el, Image):
                lines.append(f"[{el.alt}]")
        return "\n".join(lines)
