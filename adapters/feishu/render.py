"""Neutral cards and texts → Feishu message content (card JSON 2.0, text messages).

Card JSON 2.0 rejects unknown properties, so only documented fields are emitted: config has
`update_multi` (2.0's only allowed value is true) and no 1.0-era `wide_screen_mode`; buttons
sit in `body.elements` (no `action` module) with a `behaviors` callback; 2.0 has no `note`
component, so a note is small grey markdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from bot.core import Button, Buttons, Card, CardElement, Divider, Fields, Image, Note, Text
from bot.core.mentions import MENTION_TOKEN
from storage.json import dumps

# Feishu rejects cards over 30 KB; keep a margin for the JSON-string escaping of `content`.
CARD_LIMIT_BYTES = 30 * 1024
CARD_BUDGET_BYTES = 26 * 1024
# Feishu allows at most 200 components and elements in one 2.0 card.
MAX_CARD_COMPONENTS = 200
MAX_BUTTON_LABEL = 100
MAX_TITLE = 200
TRUNCATED_NOTE = "内容过长，已截断 (truncated)"

_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!])")
_IMAGE_KEY = re.compile(r"^img_[A-Za-z0-9_\-]+$")


def is_image_key(source: str) -> bool:
    return bool(_IMAGE_KEY.match(source))


def image_sources_to_upload(card: Card) -> tuple[str, ...]:
    """Image sources (URLs, paths) the adapter must upload before rendering, without repeats."""
    sources = (el.source for el in card.elements if isinstance(el, Image) and not is_image_key(el.source))
    return tuple(dict.fromkeys(sources))


def card_markdown(text: str) -> str:
    """Our `<@open_id>` tokens become card mentions; any other tag-like `<` is neutralised so
    text from users cannot inject `<at id=all>` or other card HTML."""
    parts = []
    last = 0
    for match in MENTION_TOKEN.finditer(text):
        parts.append(_TAG_LIKE.sub("&lt;", text[last:match.start()]))
        parts.append(f"<at id={match.group(1)}></at>")
        last = match.end()
    parts.append(_TAG_LIKE.sub("&lt;", text[last:]))
    return "".join(parts)


def render_text(text: str) -> dict[str, str]:
    """Content for msg_type "text"; our mention tokens become `<at user_id=...>`."""
    parts = []
    last = 0
    for match in MENTION_TOKEN.finditer(text):
        # A zero-width space keeps a literal "<at" typed by a user from becoming a mention.
        parts.append(re.sub(r"<(?=at\b)", "<\u200b", text[last:match.start()], flags=re.IGNORECASE))
        parts.append(f'<at user_id="{match.group(1)}"></at>')
        last = match.end()
    parts.append(re.sub(r"<(?=at\b)", "<\u200b", text[last:], flags=re.IGNORECASE))
    return {"text": "".join(parts)}


def _plain(content: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": content}


def _markdown(content: str) -> dict[str, Any]:
    return {"tag": "markdown", "content": card_markdown(content)}


def _column(elements: list[dict[str, Any]], width: str) -> dict[str, Any]:
    column: dict[str, Any] = {"tag": "column", "width": width, "vertical_align": "top", "elements": elements}
    if width == "weighted":
        column["weight"] = 1
    return column


def _button(button: Button) -> dict[str, Any]:
    return {
        "tag": "button",
        "text": _plain(button.label[:MAX_BUTTON_LABEL]),
        "type": button.style,
        "behaviors": [{"type": "callback", "value": button.action.to_value()}],
    }


def _form(el: Buttons) -> dict[str, Any]:
    """A text field and submit buttons: the field's value arrives as `action.form_value`.

    Buttons in a form submit it; each also carries its payload as its `name` (packed), which the
    callback reports, in case the form's submit does not send the button's callback value.
    """
    assert el.input is not None
    buttons = []
    for button in el.buttons:
        rendered = _button(button)
        rendered.update(form_action_type="submit", name=button.action.pack())
        buttons.append(_column([rendered], "auto"))
    return {
        "tag": "form", "name": f"form_{el.input.name}",
        "elements": [
            {"tag": "input", "name": el.input.name, "placeholder": _plain(el.input.placeholder[:MAX_BUTTON_LABEL]),
             "max_length": 500},
            {"tag": "column_set", "flex_mode": "flow", "columns": buttons},
        ],
    }


def _fields(fields: Fields) -> list[dict[str, Any]]:
    rows = []
    for i in range(0, len(fields.items), 2):
        pair = fields.items[i:i + 2]
        columns = [_column([_markdown(f"**{label}**\n{value}")], "weighted") for label, value in pair]
        rows.append({"tag": "column_set", "flex_mode": "bisect", "columns": columns})
    return rows


def _element(el: CardElement, image_keys: Mapping[str, str]) -> list[dict[str, Any]]:
    if isinstance(el, Text):
        return [_markdown(el.content)]
    if isinstance(el, Note):
        return [{"tag": "markdown", "content": f"<font color='grey'>{card_markdown(el.content)}</font>",
                 "text_size": "notation"}]
    if isinstance(el, Fields):
        return _fields(el)
    if isinstance(el, Divider):
        return [{"tag": "hr"}]
    if isinstance(el, Image):
        key = el.source if is_image_key(el.source) else image_keys.get(el.source)
        if key is None:  # not uploaded: say what is missing rather than send an invalid card
            return [_markdown(f"[{el.alt}]")]
        return [{"tag": "img", "img_key": key, "alt": _plain(el.alt)}]
    if isinstance(el, Buttons):
        if not el.buttons:
            return []
        if el.input is not None:
            return [_form(el)]
        if len(el.buttons) == 1:
            return [_button(el.buttons[0])]
        columns = [_column([_button(b)], "auto") for b in el.buttons]
        return [{"tag": "column_set", "flex_mode": "flow", "columns": columns}]
    return []


def _build(card: Card, image_keys: Mapping[str, str]) -> dict[str, Any]:
    elements = [part for el in card.elements for part in _element(el, image_keys)]
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": _plain(card.title[:MAX_TITLE]), "template": card.template},
        "body": {"elements": elements},
    }


def card_size(card_json: Mapping[str, Any]) -> int:
    return len(dumps(card_json).encode("utf-8"))


# Every component is an object with a "tag" key. In compact JSON that key is the only place the
# bytes `"tag":` can occur: a quote inside a string is escaped, and only a key's closing quote is
# followed by a colon. Counting them in the JSON already made for the size spares a walk in Python.
_TAG_KEY = b'"tag":'


def _fits(card_json: Mapping[str, Any]) -> bool:
    encoded = dumps(card_json).encode("utf-8")
    return len(encoded) <= CARD_BUDGET_BYTES and encoded.count(_TAG_KEY) <= MAX_CARD_COMPONENTS


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _capped(elements: Iterable[CardElement], limit: int) -> tuple[CardElement, ...]:
    out: list[CardElement] = []
    for el in elements:
        if isinstance(el, Text | Note):
            out.append(replace(el, content=_cap(el.content, limit)))
        elif isinstance(el, Fields):
            out.append(Fields(tuple((_cap(k, limit), _cap(v, limit)) for k, v in el.items)))
        elif isinstance(el, Image):
            out.append(Image(el.source, _cap(el.alt, limit)))
        else:
            out.append(el)
    return tuple(out)


def render_card(card: Card, image_keys: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The card as Feishu JSON 2.0, shrunk to fit Feishu's size and component limits.

    Image sources that are not image keys are looked up in `image_keys` (source → key).
    """
    keys = image_keys or {}
    full = _build(card, keys)
    if _fits(full):
        return full
    note = Note(TRUNCATED_NOTE)
    elements = card.elements
    longest = max([len(s) for el in elements for s in _texts(el)] or [0])
    # Largest per-text cap that fits; if even short texts do not, drop trailing elements.
    low, high = 0, longest
    while low < high:
        mid = (low + high + 1) // 2
        if _fits(_build(replace(card, elements=(*_capped(elements, mid), note)), keys)):
            low = mid
        else:
            high = mid - 1
    cap = max(low, 16)
    kept = list(_capped(elements, cap))
    while kept and not _fits(_build(replace(card, elements=(*kept, note)), keys)):
        # Buttons are what the reader acts on: drop trailing content before them.
        content = [i for i, el in enumerate(kept) if not isinstance(el, Buttons)]
        del kept[content[-1] if content else -1]
    return _build(replace(card, elements=(*kept, note)), keys)


def _texts(el: CardElement) -> list[str]:
    if isinstance(el, Text | Note):
        return [el.content]
    if isinstance(el, Fields):
        return [s for pair in el.items for s in pair]
    if isinstance(el, Image):
        return [el.alt]
    return []
