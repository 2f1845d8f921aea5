"""Decrypted Feishu payloads → neutral events. Pure: no I/O, no clock reads.

Every entry point returns an event, `Ignored`, or raises `PayloadError`; nothing else escapes,
whatever the JSON looks like.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core import ActionPayload, CardActionEvent, ConversationRef, MessageEvent, UserRef
from bot.core.mentions import mention_token, neutralize_typed_tokens

PLATFORM = "feishu"
MESSAGE_RECEIVE = "im.message.receive_v1"
CARD_ACTION = "card.action.trigger"
URL_VERIFICATION = "url_verification"

_PLACEHOLDER = re.compile(r"@_user_\d+|@_all")


class PayloadError(ValueError):
    """The payload is not a well-formed Feishu event; the message names the field, never values."""


@dataclass(frozen=True)
class Ignored:
    """An event we acknowledge and do nothing with."""

    event_type: str | None


ParsedPayload = MessageEvent | CardActionEvent | Ignored


def _obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise PayloadError(f"{where}{key} must be an object")
    return value


def _str(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{where}{key} must be a non-empty string")
    return value


def _opt_str(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}{key} must be a string")
    return value


def _epoch(value: Any, where: str) -> datetime:
    """Feishu sends seconds, milliseconds (events) or microseconds (card callbacks) as strings."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where} must be an epoch timestamp")
    text = str(value)
    if not text.isdigit() or len(text) > 19:
        raise PayloadError(f"{where} must be an epoch timestamp")
    number = int(text)
    seconds = number / 1_000_000 if number >= 10**14 else number / 1000 if number >= 10**11 else number
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"{where} is out of range") from None


def is_url_verification(payload: Mapping[str, Any]) -> bool:
    return payload.get("type") == URL_VERIFICATION and "schema" not in payload


def is_legacy_card_callback(payload: Mapping[str, Any]) -> bool:
    """The old card callback has no envelope: ids and `action` sit at the top level."""
    return "schema" not in payload and "open_message_id" in payload and "action" in payload


def verification_token(payload: Mapping[str, Any]) -> str | None:
    """The app's verification token as this payload carries it (schema 2.0: in the header)."""
    header = payload.get("header")
    token = header.get("token") if isinstance(header, Mapping) else payload.get("token")
    return token if isinstance(token, str) and token else None


def event_type(payload: Mapping[str, Any]) -> str | None:
    header = payload.get("header")
    if isinstance(header, Mapping) and isinstance(header.get("event_type"), str):
        return str(header["event_type"])
    event = payload.get("event")
    if isinstance(event, Mapping) and isinstance(event.get("type"), str):
        return str(event["type"])
    kind = payload.get("type")
    return kind if isinstance(kind, str) else None


def parse_payload(
    payload: Mapping[str, Any], *, bot_open_id: str | None, received_at: datetime
) -> ParsedPayload:
    """Turn one decrypted payload into a neutral event, `Ignored`, or raise PayloadError."""
    try:
        return _parse(payload, bot_open_id, received_at)
    except PayloadError:
        raise
    except Exception as exc:  # the contract: junk in gives PayloadError out, never a crash
        raise PayloadError(f"malformed payload ({type(exc).__name__})") from None


def _parse(payload: Mapping[str, Any], bot_open_id: str | None, received_at: datetime) -> ParsedPayload:
    if not isinstance(payload, Mapping):
        raise PayloadError("payload must be an object")
    if "schema" in payload:
        if payload.get("schema") != "2.0":
            return Ignored(event_type(payload))
        header = _obj(payload, "header", "")
        kind = _str(header, "event_type", "header.")
        if kind == MESSAGE_RECEIVE:
            return _message(header, _obj(payload, "event", ""), bot_open_id)
        if kind == CARD_ACTION:
            return _card_action(header, _obj(payload, "event", ""))
        return Ignored(kind)
    if is_legacy_card_callback(payload):
        return _legacy_card_action(payload, received_at)
    other = event_type(payload)
    if other is None:
        raise PayloadError("not a Feishu event: no schema, type or card action")
    return Ignored(other)


def _message(header: Mapping[str, Any], event: Mapping[str, Any], bot_open_id: str | None) -> MessageEvent:
    message = _obj(event, "message", "event.")
    sender_id = _obj(_obj(event, "sender", "event."), "sender_id", "event.sender.")
    chat_type = _str(message, "chat_type", "event.message.")
    message_type = _str(message, "message_type", "event.message.")
    conversation = ConversationRef(
        platform=PLATFORM,
        tenant_key=_str(header, "tenant_key", "header."),
        chat_id=_str(message, "chat_id", "event.message."),
        chat_type="p2p" if chat_type == "p2p" else "group",
    )
    sender = UserRef(
        user_id=_str(sender_id, "open_id", "event.sender.sender_id."),
        union_id=_opt_str(sender_id, "union_id", "event.sender.sender_id."),
        employee_id=_opt_str(sender_id, "user_id", "event.sender.sender_id."),
    )
    text = ""
    mentions: tuple[UserRef, ...] = ()
    if message_type in ("text", "post"):
        text, mentions = _text_and_mentions(message, bot_open_id, is_group=chat_type != "p2p")
        # Rich text (post) arrives when a user formats a command; once flattened it is text.
        message_type = "text"
    addressed = chat_type == "p2p" or _mentions_bot(message, bot_open_id)
    return MessageEvent(
        event_id=_str(header, "event_id", "header."),
        conversation=conversation,
        sender=sender,
        text=text,
        occurred_at=_epoch(header.get("create_time"), "header.create_time"),
        message_id=_str(message, "message_id", "event.message."),
        message_type=message_type,
        mentions=mentions,
        addressed=addressed,
    )


def _mentions_bot(message: Mapping[str, Any], bot_open_id: str | None) -> bool:
    """Whether a group message @s the bot; without the bot's id, any mention is taken as ours."""
    raw_mentions = message.get("mentions") or []
    if not isinstance(raw_mentions, list):
        return False
    for item in raw_mentions:
        ids = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(ids, Mapping):
            continue
        if bot_open_id is None or ids.get("open_id") == bot_open_id:
            return True
    return False


def _text_and_mentions(
    message: Mapping[str, Any], bot_open_id: str | None, *, is_group: bool
) -> tuple[str, tuple[UserRef, ...]]:
    try:
        content = json.loads(_str(message, "content", "event.message."))
    except ValueError:
        raise PayloadError("event.message.content is not JSON") from None
    raw_text = neutralize_typed_tokens(_content_text(content))
    raw_mentions = message.get("mentions") or []
    if not isinstance(raw_mentions, list):
        raise PayloadError("event.message.mentions must be a list")

    by_key: dict[str, UserRef | None] = {}
    people: list[UserRef] = []
    for item in raw_mentions:
        if not isinstance(item, Mapping):
            raise PayloadError("event.message.mentions[] must be objects")
        key = _str(item, "key", "event.message.mentions[].")
        raw_ids = item.get("id")
        ids: Mapping[str, Any] = raw_ids if isinstance(raw_ids, Mapping) else {}
        open_id = _opt_str(ids, "open_id", "event.message.mentions[].id.")
        if open_id is None or open_id == bot_open_id:
            by_key[key] = None
            continue
        person = UserRef(
            user_id=open_id,
            name=_opt_str(item, "name", "event.message.mentions[]."),
            union_id=_opt_str(ids, "union_id", "event.message.mentions[].id."),
            employee_id=_opt_str(ids, "user_id", "event.message.mentions[].id."),
        )
        by_key[key] = person
        people.append(person)

    text = raw_text
    if bot_open_id is None and is_group:
        # Without the bot's own id, the mention that opens a group message is the one addressing us.
        leading = _PLACEHOLDER.match(raw_text.lstrip())
        if leading and leading.group(0) != "@_all":
            text = raw_text.lstrip()[leading.end():]
            dropped = by_key.get(leading.group(0))
            if dropped is not None and dropped in people:
                people.remove(dropped)

    def replace(match: re.Match[str]) -> str:
        person = by_key.get(match.group(0))
        return mention_token(person.user_id) if person is not None else " "

    text = _PLACEHOLDER.sub(replace, text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(lines).strip(), tuple(people)


def _content_text(content: Any) -> str:
    """The text of a text message, or a post's paragraphs flattened with mentions kept as @_user_N."""
    if isinstance(content, Mapping) and isinstance(content.get("text"), str):
        return str(content["text"])
    if isinstance(content, Mapping):
        post = content
        for locale in ("zh_cn", "en_us", "ja_jp"):
            if isinstance(content.get(locale), Mapping):
                post = content[locale]
                break
        paragraphs = post.get("content")
        if isinstance(paragraphs, list):
            lines = []
            for paragraph in paragraphs:
                if not isinstance(paragraph, list):
                    raise PayloadError("a post paragraph must be a list")
                lines.append("".join(_post_element_text(el) for el in paragraph))
            return "\n".join(lines)
    raise PayloadError("event.message.content has neither text nor post content")


def _post_element_text(element: Any) -> str:
    if not isinstance(element, Mapping):
        return ""
    tag = element.get("tag")
    if tag in ("text", "a", "md") and isinstance(element.get("text"), str):
        return str(element["text"])
    if tag == "at" and isinstance(element.get("user_id"), str):
        return f" {element['user_id']} "
    return ""


def _action(action: Mapping[str, Any]) -> tuple[ActionPayload | None, dict[str, str]]:
    try:
        payload = ActionPayload.from_value(action.get("value"))
        if payload is None and isinstance(action.get("name"), str):
            # A form's submit button names its payload (see render._form).
            payload = ActionPayload.unpack(action["name"])
    except Exception:  # a value that is not ours is simply not ours
        payload = None
    form = action.get("form_value")
    if form is None:
        return payload, {}
    if not isinstance(form, Mapping):
        raise PayloadError("action.form_value must be an object")
    values: dict[str, str] = {}
    for name, value in form.items():
        if isinstance(value, str):
            values[str(name)] = value
        elif isinstance(value, list):
            values[str(name)] = ",".join(str(v) for v in value)
        else:
            values[str(name)] = json.dumps(value, ensure_ascii=False)
    return payload, values


def _card_action(header: Mapping[str, Any], event: Mapping[str, Any]) -> CardActionEvent:
    operator = _obj(event, "operator", "event.")
    context = _obj(event, "context", "event.")
    tenant_key = _opt_str(header, "tenant_key", "header.") or _str(operator, "tenant_key", "event.operator.")
    action, form_values = _action(_obj(event, "action", "event."))
    return CardActionEvent(
        event_id=_str(header, "event_id", "header."),
        conversation=ConversationRef(
            platform=PLATFORM, tenant_key=tenant_key, chat_id=_str(context, "open_chat_id", "event.context.")
        ),
        operator=UserRef(
            user_id=_str(operator, "open_id", "event.operator."),
            union_id=_opt_str(operator, "union_id", "event.operator."),
            employee_id=_opt_str(operator, "user_id", "event.operator."),
        ),
        action=action,
        occurred_at=_epoch(header.get("create_time"), "header.create_time"),
        message_id=_opt_str(context, "open_message_id", "event.context."),
        form_values=form_values,
    )


def legacy_event_id(open_message_id: str, open_id: str, value: Any) -> str:
    """Old callbacks carry no event id; the same click on the same card must dedupe."""
    material = json.dumps([open_message_id, open_id, value], sort_keys=True, ensure_ascii=False, default=str)
    return "legacy-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def _legacy_card_action(payload: Mapping[str, Any], received_at: datetime) -> CardActionEvent:
    raw_action = _obj(payload, "action", "")
    open_id = _str(payload, "open_id", "")
    message_id = _str(payload, "open_message_id", "")
    action, form_values = _action(raw_action)
    return CardActionEvent(
        event_id=legacy_event_id(message_id, open_id, raw_action.get("value")),
        conversation=ConversationRef(
            platform=PLATFORM,
            tenant_key=_opt_str(payload, "tenant_key", "") or "",
            chat_id=_str(payload, "open_chat_id", ""),
        ),
        operator=UserRef(user_id=open_id, employee_id=_opt_str(payload, "user_id", "")),
        action=action,
        occurred_at=received_at,
        message_id=message_id,
        form_values=form_values,
    )
