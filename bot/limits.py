"""Input limits, checked before anything reaches the database.

At the HTTP edge a body that is not a sane JSON object gets 400; ids longer than our columns make
an event invalid (400). In the chat, text the database cannot store (NUL, lone surrogates) or
that is too long gets a short reply naming the limit, never a generic error.
"""

from __future__ import annotations

from typing import Any

from bot.core.events import InboundEvent, MessageEvent
from bot.core.platform import InvalidEvent
from storage.json import loads

MAX_MESSAGE_CHARS = 4000
MAX_TITLE_CHARS = 200
MAX_FIELD_CHARS = 2000
MAX_ID_CHARS = 128
MAX_EVENT_ID_CHARS = 191


def parse_json_object(raw: bytes | str) -> dict[str, Any] | None:
    """The JSON object in `raw`, or None when it is not one; absurd nesting is refused, not a crash."""
    try:
        value = loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def check_event(event: InboundEvent) -> None:
    conv = event.conversation
    person = event.sender if isinstance(event, MessageEvent) else event.operator
    fields = {
        "event id": (event.event_id, MAX_EVENT_ID_CHARS), "tenant": (conv.tenant_key, MAX_ID_CHARS),
        "chat id": (conv.chat_id, MAX_ID_CHARS), "user id": (person.user_id, MAX_ID_CHARS),
        "message id": (event.message_id or "", MAX_EVENT_ID_CHARS),
    }
    if isinstance(event, MessageEvent):
        fields.update({f"mention {i}": (m.user_id, MAX_ID_CHARS) for i, m in enumerate(event.mentions)})
    for what, (value, limit) in fields.items():
        if not value and what in ("event id", "chat id", "user id"):
            raise InvalidEvent(f"{what} is empty")
        if len(value) > limit or not _storable(value):
            raise InvalidEvent(f"{what} is longer than {limit} characters or has unstorable characters")


def text_problem(text: str) -> str | None:
    """What is wrong with a message's text for us, as the reply to send; None when it is fine."""
    if not _storable(text):
        return "消息里有无法识别的字符（例如空字符），请重新输入一遍。"
    if len(text) > MAX_MESSAGE_CHARS:
        return f"消息太长了：最多 {MAX_MESSAGE_CHARS} 个字，现在是 {len(text)} 个字。请分几条发送。"
    return None


def title_problem(title: str) -> str | None:
    if len(title) > MAX_TITLE_CHARS:
        return f"标题最多 {MAX_TITLE_CHARS} 个字，现在是 {len(title)} 个字。请写短一些，细节可以放在「描述」里。"
    return None


def field_problem(label: str, value: str | None) -> str | None:
    if value is not None and len(value) > MAX_FIELD_CHARS:
        return f"「{label}」最多 {MAX_FIELD_CHARS} 个字，现在是 {len(value)} 个字。"
    return None


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False  # a lone surrogate
    return True
