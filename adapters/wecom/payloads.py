"""WeCom callbacks → neutral events. Pure: no I/O, no clock reads.

The AI bot (智能机器人) sends JSON (decrypted from the URL callback's `encrypt`, or the `body` of a
long-connection frame): `msgid, aibotid, chatid, chattype (group|single), from.userid, msgtype,
text.content, response_url`, and for events `event.eventtype` with `event.template_card_event.
{task_id, event_key}`. The self-built app (自建应用) sends XML: `ToUserName, FromUserName,
CreateTime, MsgType, Content, MsgId, AgentID`, and for card clicks `Event=template_card_event,
EventKey, TaskId, CardType, ResponseCode`.

Mentions: WeCom writes "@name" into the text and names no ids, so a typed @name stays text and the
core resolves it by name; a token a user typed is neutralised.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core import ActionPayload, CardActionEvent, ConversationRef, MessageEvent, UserRef
from bot.core.mentions import neutralize_typed_tokens

PLATFORM = "wecom"
TEMPLATE_CARD_EVENT = "template_card_event"
# The bot's own @name that opens a group message (WeCom delivers only the group messages that @ it).
_LEADING_AT = re.compile(r"^\s*@\S+\s*")


class PayloadError(ValueError):
    """Not a well-formed WeCom callback; the message names the field, never values."""


@dataclass(frozen=True)
class Ignored:
    kind: str | None


@dataclass(frozen=True)
class Parsed:
    """An event and what the adapter keeps beside it to answer later."""

    event: MessageEvent | CardActionEvent | Ignored
    # AI bot: where one reply to this message may go within an hour (URL callback mode).
    response_url: str | None = None
    # Self-built app card click: the single-use code that updates the clicked card (72 h).
    response_code: str | None = None


def _str(parent: Mapping[str, Any], key: str, where: str = "") -> str:
    value = parent.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{where}{key} must be a non-empty string")
    return value


def _opt_str(parent: Mapping[str, Any], key: str) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise PayloadError(f"{key} must be a string")
    return value


def _epoch(value: Any, fallback: datetime) -> datetime:
    if value is None or value == "":
        return fallback
    text = str(value)
    if not text.isdigit() or len(text) > 13:
        raise PayloadError("create_time must be epoch seconds")
    seconds = int(text) / (1000 if len(text) == 13 else 1)
    return datetime.fromtimestamp(seconds, UTC)


def clean_text(raw: str, *, group: bool) -> str:
    text = neutralize_typed_tokens(raw)
    if group:
        text = _LEADING_AT.sub("", text, count=1)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines).strip()


def card_event_id(*parts: str) -> str:
    material = "\x1f".join(parts)
    return "card-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


# -- AI bot (JSON) ------------------------------------------------------------------------------

def parse_bot_callback(payload: Any, *, tenant_key: str, received_at: datetime) -> Parsed:
    try:
        if not isinstance(payload, Mapping):
            raise PayloadError("payload must be an object")
        return _bot(payload, tenant_key, received_at)
    except PayloadError:
        raise
    except Exception as exc:  # junk in gives PayloadError out, never a crash
        raise PayloadError(f"malformed payload ({type(exc).__name__})") from None


def _bot(data: Mapping[str, Any], tenant_key: str, received_at: datetime) -> Parsed:
    msgid = _str(data, "msgid")
    sender = data.get("from")
    if not isinstance(sender, Mapping):
        raise PayloadError("from must be an object")
    user_id = _str(sender, "userid", "from.")
    chattype = _opt_str(data, "chattype") or "single"
    group = chattype == "group"
    conversation = ConversationRef(
        platform=PLATFORM, tenant_key=tenant_key,
        chat_id=_str(data, "chatid") if group else user_id, chat_type="group" if group else "p2p",
    )
    occurred = _epoch(data.get("create_time"), received_at)
    msgtype = _str(data, "msgtype")
    if msgtype == "event":
        event = data.get("event")
        if not isinstance(event, Mapping):
            raise PayloadError("event must be an object")
        kind = _opt_str(event, "eventtype")
        if kind != TEMPLATE_CARD_EVENT:
            return Parsed(Ignored(f"event {str(kind)[:32]}"))
        click = event.get(TEMPLATE_CARD_EVENT)
        if not isinstance(click, Mapping):
            raise PayloadError("event.template_card_event must be an object")
        task_id = _str(click, "task_id", "template_card_event.")
        event_key = _opt_str(click, "event_key") or ""
        return Parsed(CardActionEvent(
            event_id=msgid, conversation=conversation, operator=UserRef(user_id=user_id),
            action=ActionPayload.unpack(event_key), occurred_at=occurred, message_id=task_id,
        ))
    text = ""
    message_type = msgtype
    if msgtype == "text":
        body = data.get("text")
        if not isinstance(body, Mapping) or not isinstance(body.get("content"), str):
            raise PayloadError("text.content must be a string")
        text = clean_text(body["content"], group=group)
    elif msgtype == "mixed":
        mixed = data.get("mixed")
        items = mixed.get("msg_item") if isinstance(mixed, Mapping) else None
        if not isinstance(items, list):
            raise PayloadError("mixed.msg_item must be a list")
        parts = [item["text"]["content"] for item in items if isinstance(item, Mapping)
                 and item.get("msgtype") == "text" and isinstance(item.get("text"), Mapping)
                 and isinstance(item["text"].get("content"), str)]
        text = clean_text(" ".join(parts), group=group)
        message_type = "text" if text else msgtype
    return Parsed(
        MessageEvent(
            event_id=msgid, conversation=conversation, sender=UserRef(user_id=user_id), text=text,
            occurred_at=occurred, message_id=msgid, message_type=message_type,
        ),
        response_url=_opt_str(data, "response_url"),
    )


# -- self-built app (XML) -----------------------------------------------------------------------

def xml_fields(raw: str | bytes) -> dict[str, str]:
    """The top-level fields of a WeCom XML document; DTDs and entities are refused."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise PayloadError("XML declarations are not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise PayloadError("body is not XML") from None
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in fields:
            raise PayloadError(f"{child.tag[:32]} appears twice")
        fields[child.tag] = (child.text or "").strip() if len(child) == 0 else ""
    return fields


def parse_app_message(xml: str | bytes, *, tenant_key: str, received_at: datetime) -> Parsed:
    fields = xml_fields(xml)
    try:
        return _app(fields, tenant_key, received_at)
    except PayloadError:
        raise
    except Exception as exc:
        raise PayloadError(f"malformed payload ({type(exc).__name__})") from None


def _app(fields: Mapping[str, str], tenant_key: str, received_at: datetime) -> Parsed:
    user_id = _str(fields, "FromUserName")
    msg_type = _str(fields, "MsgType")
    occurred = _epoch(fields.get("CreateTime"), received_at)
    conversation = ConversationRef(platform=PLATFORM, tenant_key=tenant_key, chat_id=user_id, chat_type="p2p")
    if msg_type == "event":
        event = fields.get("Event") or ""
        if event != TEMPLATE_CARD_EVENT:
            return Parsed(Ignored(f"event {event[:32]}"))
        task_id = _str(fields, "TaskId")
        key = fields.get("EventKey") or ""
        # Events carry no id: WeCom's documented dedupe is sender + CreateTime (and the card and button).
        event_id = card_event_id(user_id, fields.get("CreateTime") or "", task_id, key)
        return Parsed(
            CardActionEvent(event_id=event_id, conversation=conversation, operator=UserRef(user_id=user_id),
                            action=ActionPayload.unpack(key), occurred_at=occurred, message_id=task_id),
            response_code=fields.get("ResponseCode") or None,
        )
    msg_id = _str(fields, "MsgId")
    text = clean_text(fields.get("Content") or "", group=False) if msg_type == "text" else ""
    return Parsed(MessageEvent(
        event_id=msg_id, conversation=conversation, sender=UserRef(user_id=user_id), text=text,
        occurred_at=occurred, message_id=msg_id, message_type=msg_type,
    ))
