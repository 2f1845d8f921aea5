"""Neutral cards and texts → DingTalk message content.

Cards are DingTalk's StandardCard JSON (the built-in card the official SDK sends; no template to
build in the card platform): `config`, `header.title`, and `contents` of markdown, divider, image
and action elements. Buttons are `actionType: "request"`, which call back to us; each button's
`id` is our packed ActionPayload (`tj1|act|ref|arg`), which the callback returns in
`cardPrivateData.actionIds`, and its `value` carries the same for callbacks that return params.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from bot.core import Button, Buttons, Card, CardElement, Divider, Fields, Image, Note, Text
from bot.core.mentions import MENTION_TOKEN

MAX_TEXT = 3000
MAX_TITLE = 100
MAX_BUTTON_LABEL = 30
# DingTalk's button styles: blue (primary), grey (normal), red (warning).
BUTTON_STATUS = {"primary": "primary", "default": "normal", "danger": "warning"}

NameOf = Callable[[str], str | None]


def _no_names(_user_id: str) -> str | None:
    return None


def with_names(text: str, name_of: NameOf = _no_names) -> str:
    """Our `<@USER_ID>` tokens as "@name" (the id when the name is not known)."""
    return MENTION_TOKEN.sub(lambda m: "@" + (name_of(m.group(1)) or m.group(1)), text)


def mentioned_ids(text: str) -> list[str]:
    return list(dict.fromkeys(MENTION_TOKEN.findall(text)))


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def render_text(text: str, name_of: NameOf = _no_names) -> tuple[str, dict[str, str]]:
    """msgKey and msgParam for a plain text robot message."""
    return "sampleText", {"content": _cap(with_names(text, name_of), MAX_TEXT)}


def _button(button: Button) -> dict[str, Any]:
    packed = button.action.pack()
    return {
        "type": "button",
        "label": {"type": "text", "text": button.label[:MAX_BUTTON_LABEL]},
        "actionType": "request",
        "status": BUTTON_STATUS.get(button.style, "normal"),
        "value": packed,
        "id": packed,
    }


def _element(el: CardElement, index: int, name_of: NameOf) -> dict[str, Any] | None:
    eid = f"e{index}"
    if isinstance(el, Text):
        return {"type": "markdown", "text": _cap(with_names(el.content, name_of), MAX_TEXT), "id": eid}
    if isinstance(el, Note):
        return {"type": "text", "text": _cap(with_names(el.content, name_of), MAX_TEXT), "id": eid}
    if isinstance(el, Fields):
        lines = [f"**{label}**：{with_names(value, name_of)}" for label, value in el.items]
        return {"type": "markdown", "text": _cap("\n\n".join(lines), MAX_TEXT), "id": eid}
    if isinstance(el, Divider):
        return {"type": "divider", "id": eid}
    if isinstance(el, Image):
        if el.source.startswith("@"):  # a DingTalk media id
            return {"type": "image", "image": el.source, "id": eid}
        if el.source.startswith(("http://", "https://")):
            return {"type": "markdown", "text": f"![{el.alt}]({el.source})", "id": eid}
        return {"type": "markdown", "text": f"[{el.alt}]", "id": eid}
    if isinstance(el, Buttons):
        if not el.buttons:
            return None
        return {"type": "action", "actions": [_button(b) for b in el.buttons], "id": eid}
    return None


def render_card(card: Card, name_of: NameOf = _no_names) -> dict[str, Any]:
    """The card as StandardCard JSON."""
    contents = [part for i, el in enumerate(card.elements) if (part := _element(el, i, name_of)) is not None]
    return {
        "config": {"autoLayout": True, "enableForward": True},
        "header": {"title": {"type": "text", "text": _cap(with_names(card.title, name_of), MAX_TITLE)}},
        "contents": contents,
    }


def card_param_map(card_json: Mapping[str, Any]) -> dict[str, str]:
    """StandardCard takes the whole card as one string variable (cardParamMap values are strings)."""
    return {"sys_full_json_obj": json.dumps(card_json, ensure_ascii=False, separators=(",", ":"))}


def card_callback_answer(card_json: Mapping[str, Any] | None) -> dict[str, Any]:
    """The answer to a card callback: the new card data, which DingTalk puts on the card at once."""
    if card_json is None:
        return {}
    return {"cardData": {"cardParamMap": card_param_map(card_json)}}
