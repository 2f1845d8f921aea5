"""DingTalk payloads → neutral events. Pure: no I/O, no clock reads.

Robot messages arrive the same way over Stream (CALLBACK topic /v1.0/im/bot/messages/get, the
frame's `data`) and over HTTP (the request body). Card clicks arrive on the Stream topic
/v1.0/card/instances/callback or as an HTTP card callback. Every entry point returns an event,
`Ignored`, or raises `PayloadError`; nothing else escapes, whatever the JSON looks like.
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

PLATFORM = "dingtalk"
ROBOT_MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"
CARD_CALLBACK_TOPIC = "/v1.0/card/instances/callback"
SINGLE = "1"
GROUP = "2"

# An @name as DingTalk writes it in text.content: "@" and the person's display name up to a space
# (not the "‹@" of a token a user typed, which neutralize_typed_tokens made plain text).
_AT_NAME = re.compile(r"(?<!\u2039)@([^\s@<>]+)")


class PayloadError(ValueError):
    """The payload is not a well-formed DingTalk callback; the message names the field, never values."""


@dataclass(frozen=True)
class Ignored:
    """A payload we acknowledge and do nothing with."""

    kind: str | None


def _str(parent: Mapping[str, Any], key: str, where: str = "") -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{where}{key} must be a non-empty string")
    return value


def _opt_str(parent: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}{key} must be a string")
    return value


def _epoch_ms(value: Any, where: str, fallback: datetime) -> datetime:
    if value is None:
        return fallback
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() or len(str(value)) > 16:
        raise PayloadError(f"{where} must be an epoch timestamp in milliseconds")
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"{where} is out of range") from None


def parse_robot_message(payload: Mapping[str, Any], *, received_at: datetime) -> MessageEvent | Ignored:
    """A robot message (Stream callback data or HTTP body) as a neutral MessageEvent."""
    try:
        if not isinstance(payload, Mapping):
            raise PayloadError("payload must be an object")
        return _message(payload, received_at)
    except PayloadError:
        raise
    except Exception as exc:  # the contract: junk in gives PayloadError out, never a crash
        raise PayloadError(f"malformed payload ({type(exc).__name__})") from None


def _message(data: Mapping[str, Any], received_at: datetime) -> MessageEvent | Ignored:
    conversation_type = _str(data, "conversationType")
    if conversation_type not in (SINGLE, GROUP):
        return Ignored(f"conversationType {conversation_type[:8]}")
    msgtype = _str(data, "msgtype")
    sender_staff_id = _opt_str(data, "senderStaffId")
    if sender_staff_id is None:
        # Someone outside the organisation (no staff id): nothing we send could reach them.
        return Ignored("sender without senderStaffId")
    tenant_key = _opt_str(data, "chatbotCorpId") or _str(data, "senderCorpId")
    group = conversation_type == GROUP
    conversation = ConversationRef(
        platform=PLATFORM,
        tenant_key=tenant_key,
        # A 1:1 chat is addressed by the person's userId (batchSend takes userIds, not a conversation).
        chat_id=_str(data, "conversationId") if group else sender_staff_id,
        chat_type="group" if group else "p2p",
        chat_name=_opt_str(data, "conversationTitle") if group else None,
    )
    sender = UserRef(user_id=sender_staff_id, name=_opt_str(data, "senderNick"))
    text = ""
    mentions: tuple[UserRef, ...] = ()
    message_type = msgtype
    if msgtype in ("text", "richText"):
        raw = _text(data) if msgtype == "text" else _rich_text(data)
        text, mentions = _with_mentions(raw, _people_mentioned(data))
        message_type = "text"
    # DingTalk hands a robot only the group messages that @ it; isInAtList says so explicitly.
    is_in_at_list = data.get("isInAtList")
    addressed = not group or is_in_at_list not in (False, "false")
    return MessageEvent(
        event_id=_str(data, "msgId"),
        conversation=conversation,
        sender=sender,
        text=text,
        occurred_at=_epoch_ms(data.get("createAt"), "createAt", received_at),
        message_id=_str(data, "msgId"),
        message_type=message_type,
        mentions=mentions,
        addressed=addressed,
    )


def _text(data: Mapping[str, Any]) -> str:
    text = data.get("text")
    if not isinstance(text, Mapping) or not isinstance(text.get("content"), str):
        raise PayloadError("text.content must be a string")
    return str(text["content"])


def _rich_text(data: Mapping[str, Any]) -> str:
    content = data.get("content")
    items = content.get("richText") if isinstance(content, Mapping) else None
    if not isinstance(items, list):
        raise PayloadError("content.richText must be a list")
    texts = (item.get("text") for item in items if isinstance(item, Mapping))
    return "".join(text for text in texts if isinstance(text, str))


def _people_mentioned(data: Mapping[str, Any]) -> list[str]:
    """Staff ids of the people @-mentioned, in order, without the bot itself."""
    raw = data.get("atUsers") or []
    if not isinstance(raw, list):
        raise PayloadError("atUsers must be a list")
    bot = data.get("chatbotUserId")
    people: list[str] = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise PayloadError("atUsers[] must be objects")
        staff_id = _opt_str(item, "staffId", "atUsers[].")
        # The bot's own entry carries its dingtalkId and no staffId; people outside the org have none either.
        if staff_id is None or (bot and item.get("dingtalkId") == bot):
            continue
        if staff_id not in people:
            people.append(staff_id)
    return people


def _with_mentions(raw: str, people: list[str]) -> tuple[str, tuple[UserRef, ...]]:
    """The text with each @name DingTalk wrote turned into our token for the person it names.

    DingTalk's atUsers carry ids but no names, and text.content carries names but no ids (the
    bot's own @name is already gone): the @names are paired with atUsers in order. An @name
    with nobody left to pair stays plain text, so typed "@x" never names anyone.
    """
    text = neutralize_typed_tokens(raw)
    remaining = list(people)
    named: list[UserRef] = []

    def replace(match: re.Match[str]) -> str:
        if not remaining:
            return match.group(0)
        person = UserRef(user_id=remaining.pop(0), name=match.group(1))
        named.append(person)
        return mention_token(person.user_id)

    text = _AT_NAME.sub(replace, text)
    # People mentioned whose @name we could not find are still mentioned (e.g. rich text).
    named.extend(UserRef(user_id=staff_id) for staff_id in remaining)
    lines = (" ".join(line.split()) for line in text.splitlines())
    unique = tuple({p.user_id: p for p in named}.values())
    return "\n".join(lines).strip(), unique


def parse_card_callback(payload: Mapping[str, Any], *, received_at: datetime) -> CardActionEvent:
    """A card click (Stream callback data or HTTP body) as a neutral CardActionEvent."""
    try:
        if not isinstance(payload, Mapping):
            raise PayloadError("payload must be an object")
        return _card_action(payload, received_at)
    except PayloadError:
        raise
    except Exception as exc:
        raise PayloadError(f"malformed payload ({type(exc).__name__})") from None


def _json_field(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise PayloadError(f"{key} is not JSON") from None
    if not isinstance(value, Mapping):
        raise PayloadError(f"{key} must be an object")
    return value


def card_action_of(content: Mapping[str, Any]) -> ActionPayload | None:
    """Our payload from a click's content: a param holding the button's value, else its action id."""
    private = content.get("cardPrivateData")
    if not isinstance(private, Mapping):
        return None
    params = private.get("params")
    if isinstance(params, Mapping):
        for key in ("value", "action", "tj"):
            if key in params:
                found = ActionPayload.from_value(params[key])
                if found is not None:
                    return found
    action_ids = private.get("actionIds")
    if isinstance(action_ids, list):
        for action_id in action_ids:
            if isinstance(action_id, str):
                found = ActionPayload.unpack(action_id)
                if found is not None:
                    return found
    return None


def card_event_id(out_track_id: str, user_id: str, content: Mapping[str, Any]) -> str:
    """Card callbacks carry no event id; the same press on the same card by the same person dedupes."""
    material = json.dumps([out_track_id, user_id, content], sort_keys=True, ensure_ascii=False, default=str)
    return "card-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def _card_action(data: Mapping[str, Any], received_at: datetime) -> CardActionEvent:
    out_track_id = _str(data, "outTrackId")
    user_id = _str(data, "userId")
    content = _json_field(data, "content")
    space_type = (_opt_str(data, "spaceType") or "").upper()
    single = "ROBOT" in space_type or space_type in ("ONE_BOX", "SINGLE")
    chat_id = user_id if single else _opt_str(data, "openConversationId") or _str(data, "spaceId")
    return CardActionEvent(
        event_id=card_event_id(out_track_id, user_id, content),
        conversation=ConversationRef(
            platform=PLATFORM, tenant_key=_str(data, "corpId"), chat_id=chat_id,
            chat_type="p2p" if single else "group",
        ),
        operator=UserRef(user_id=user_id),
        action=card_action_of(content),
        occurred_at=received_at,
        message_id=out_track_id,
    )
