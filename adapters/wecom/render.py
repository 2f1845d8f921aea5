"""Neutral cards and texts → WeCom template cards and messages.

Every card becomes a template card: `button_interaction` when it has buttons (each button's `key`
is our packed ActionPayload, `tj1|act|ref|arg`, which the click returns as `event_key`),
`text_notice` otherwise. WeCom's limits are kept by truncating, never by failing the send:
titles, ≤ 6 horizontal_content_list items (the rest go into the text), ≤ 6 buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core import Button, Buttons, Card, Divider, Fields, Image, Note, Text
from bot.core.mentions import MENTION_TOKEN

MAX_TITLE = 36
MAX_DESC = 44
MAX_SUB_TITLE = 1000
MAX_KEYNAME = 5
MAX_VALUE = 30
MAX_ROWS = 6
MAX_BUTTONS = 6
MAX_BUTTON_TEXT = 10
MAX_TEXT_BYTES = 2000
SOURCE = "推进"
# WeCom button styles 1–4; 1 is the emphasised one.
BUTTON_STYLE = {"primary": 1, "default": 2, "danger": 3}

NameOf = Callable[[str], str | None]


def _no_names(_user_id: str) -> str | None:
    return None


def with_names(text: str, name_of: NameOf = _no_names) -> str:
    """Our `<@USER_ID>` tokens as "@name" (the id when the name is not known)."""
    return MENTION_TOKEN.sub(lambda m: "@" + (name_of(m.group(1)) or m.group(1)), text)


def mentioned_ids(text: str) -> list[str]:
    return list(dict.fromkeys(MENTION_TOKEN.findall(text)))


def cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def cap_bytes(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def _plain(markdown: str) -> str:
    return markdown.replace("**", "")


def render_card(card: Card, task_id: str, name_of: NameOf = _no_names, *, buttons: bool = True,
                url: str = "https://work.weixin.qq.com/") -> dict[str, Any]:
    """The card as a template_card object (`buttons=False` for surfaces without callbacks)."""
    lines: list[str] = []
    rows: list[dict[str, str]] = []
    for el in card.elements:
        if isinstance(el, Text | Note):
            lines.append(_plain(with_names(el.content, name_of)))
        elif isinstance(el, Fields):
            for label, value in el.items:
                shown = _plain(with_names(value, name_of))
                if len(rows) < MAX_ROWS:
                    rows.append({"keyname": cap(label, MAX_KEYNAME), "value": cap(shown, MAX_VALUE)})
                else:
                    lines.append(f"{label}：{shown}")
        elif isinstance(el, Image):
            lines.append(f"[{el.alt}]")
        elif isinstance(el, Divider | Buttons):
            continue
    template: dict[str, Any] = {
        "source": {"desc": SOURCE},
        "main_title": {"title": cap(_plain(with_names(card.title, name_of)), MAX_TITLE)},
        "task_id": task_id,
    }
    if lines:
        template["sub_title_text"] = cap("\n".join(lines), MAX_SUB_TITLE)
    if rows:
        template["horizontal_content_list"] = rows
    pressable: list[Button] = list(card.buttons())[:MAX_BUTTONS] if buttons else []
    if pressable:
        template["card_type"] = "button_interaction"
        template["button_list"] = [
            {"text": cap(b.label, MAX_BUTTON_TEXT), "style": BUTTON_STYLE.get(b.style, 2), "key": b.action.pack()}
            for b in pressable
        ]
    else:
        template["card_type"] = "text_notice"
        template["card_action"] = {"type": 1, "url": url}
    return {"card_type": template.pop("card_type"), **template}


def render_text(text: str, name_of: NameOf = _no_names) -> tuple[str, list[str]]:
    """The text with @names, and the user ids it mentions (for `mentioned_list`)."""
    return cap_bytes(with_names(text, name_of), MAX_TEXT_BYTES), mentioned_ids(text)


def bot_text(text: str, name_of: NameOf = _no_names) -> dict[str, Any]:
    """An AI bot message body (respond / send): markdown, @names as text."""
    content, _ids = render_text(text, name_of)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def bot_card(template_card: dict[str, Any]) -> dict[str, Any]:
    return {"msgtype": "template_card", "template_card": template_card}


def hook_text(text: str, name_of: NameOf = _no_names) -> dict[str, Any]:
    """A group robot webhook text: @names in the text and the ids in mentioned_list (a real @)."""
    content, ids = render_text(text, name_of)
    body: dict[str, Any] = {"content": content}
    if ids:
        body["mentioned_list"] = ids
    return {"msgtype": "text", "text": body}


def update_answer(template_card: dict[str, Any]) -> dict[str, Any]:
    """The AI bot's answer to a card click that replaces the card."""
    return {"response_type": "update_template_card", "template_card": template_card}
