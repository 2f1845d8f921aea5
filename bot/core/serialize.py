"""Outbound messages and inbound events to and from plain JSON, for the outbox and inbox tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.actions import ActionPayload
from bot.core.cards import Button, Buttons, Card, CardElement, Divider, Fields, Image, Input, Note, Text
from bot.core.events import CardActionEvent, ConversationRef, InboundEvent, MessageEvent, UserRef
from bot.core.messages import OutboundMessage


def element_to_dict(el: CardElement) -> dict[str, Any]:
    if isinstance(el, Text):
        return {"type": "text", "content": el.content}
    if isinstance(el, Note):
        return {"type": "note", "content": el.content}
    if isinstance(el, Fields):
        return {"type": "fields", "items": [list(pair) for pair in el.items]}
    if isinstance(el, Image):
        return {"type": "image", "source": el.source, "alt": el.alt}
    if isinstance(el, Divider):
        return {"type": "divider"}
    data: dict[str, Any] = {
        "type": "buttons",
        "buttons": [
            {"label": b.label, "style": b.style, "value": b.action.to_value()} for b in el.buttons
        ],
    }
    if el.input is not None:
        data["input"] = {"name": el.input.name, "placeholder": el.input.placeholder}
    return data


def element_from_dict(data: dict[str, Any]) -> CardElement:
    kind = data["type"]
    if kind == "text":
        return Text(data["content"])
    if kind == "note":
        return Note(data["content"])
    if kind == "fields":
        return Fields(tuple((str(k), str(v)) for k, v in data["items"]))
    if kind == "image":
        return Image(data["source"], data["alt"])
    if kind == "divider":
        return Divider()
    buttons = []
    for b in data["buttons"]:
        action = ActionPayload.from_value(b["value"])
        if action is not None:
            buttons.append(Button(b["label"], action, b.get("style", "default")))
    field = data.get("input")
    return Buttons(tuple(buttons), Input(field["name"], field["placeholder"]) if field else None)


def card_to_dict(card: Card) -> dict[str, Any]:
    return {
        "title": card.title,
        "template": card.template,
        "elements": [element_to_dict(el) for el in card.elements],
    }


def card_from_dict(data: dict[str, Any]) -> Card:
    return Card(
        title=data["title"],
        template=data.get("template", "blue"),
        elements=tuple(element_from_dict(el) for el in data.get("elements", [])),
    )


def conversation_to_dict(conv: ConversationRef) -> dict[str, Any]:
    return {
        "platform": conv.platform, "tenant_key": conv.tenant_key, "chat_id": conv.chat_id,
        "chat_type": conv.chat_type, "chat_name": conv.chat_name,
    }


def conversation_from_dict(conv: dict[str, Any]) -> ConversationRef:
    return ConversationRef(
        platform=conv["platform"], tenant_key=conv["tenant_key"], chat_id=conv["chat_id"],
        chat_type=conv.get("chat_type", "group"), chat_name=conv.get("chat_name"),
    )


def message_to_dict(message: OutboundMessage) -> dict[str, Any]:
    return {
        "conversation": conversation_to_dict(message.conversation),
        "idempotency_key": message.idempotency_key,
        "text": message.text,
        "card": card_to_dict(message.card) if message.card is not None else None,
        "reply_to": message.reply_to,
        "update_of": message.update_of,
        "update_of_key": message.update_of_key,
        "direct_to": message.direct_to,
        "update_only": message.update_only,
    }


def message_from_dict(data: dict[str, Any]) -> OutboundMessage:
    return OutboundMessage(
        conversation=conversation_from_dict(data["conversation"]),
        idempotency_key=data["idempotency_key"],
        text=data.get("text"),
        card=card_from_dict(data["card"]) if data.get("card") else None,
        reply_to=data.get("reply_to"),
        update_of=data.get("update_of"),
        update_of_key=data.get("update_of_key"),
        direct_to=data.get("direct_to"),
        update_only=bool(data.get("update_only", False)),
    )


def _user_to_dict(user: UserRef) -> dict[str, Any]:
    return {"user_id": user.user_id, "name": user.name, "union_id": user.union_id, "employee_id": user.employee_id}


def _user_from_dict(data: dict[str, Any]) -> UserRef:
    return UserRef(user_id=data["user_id"], name=data.get("name"), union_id=data.get("union_id"),
                   employee_id=data.get("employee_id"))


def event_to_dict(event: InboundEvent) -> dict[str, Any]:
    """The neutral event as stored in the inbox, so an acknowledged event can be replayed."""
    common = {
        "event_id": event.event_id,
        "conversation": conversation_to_dict(event.conversation),
        "occurred_at": event.occurred_at.isoformat(),
        "message_id": event.message_id,
    }
    if isinstance(event, MessageEvent):
        return {
            **common, "type": "message", "sender": _user_to_dict(event.sender), "text": event.text,
            "message_type": event.message_type, "mentions": [_user_to_dict(m) for m in event.mentions],
            "addressed": event.addressed,
        }
    return {
        **common, "type": "card_action", "operator": _user_to_dict(event.operator),
        "action": event.action.to_value() if event.action is not None else None,
        "form_values": dict(event.form_values),
    }


def event_from_dict(data: dict[str, Any]) -> InboundEvent:
    conversation = conversation_from_dict(data["conversation"])
    occurred_at = datetime.fromisoformat(data["occurred_at"])
    if data["type"] == "message":
        return MessageEvent(
            event_id=data["event_id"], conversation=conversation, sender=_user_from_dict(data["sender"]),
            text=data["text"], occurred_at=occurred_at, message_id=data.get("message_id"),
            message_type=data.get("message_type", "text"),
            mentions=tuple(_user_from_dict(m) for m in data.get("mentions", [])),
            addressed=data.get("addressed", True),
        )
    return CardActionEvent(
        event_id=data["event_id"], conversation=conversation, operator=_user_from_dict(data["operator"]),
        action=ActionPayload.from_value(data["action"]) if data.get("action") is not None else None,
        occurred_at=occurred_at, message_id=data.get("message_id"),
        form_values={str(k): str(v) for k, v in (data.get("form_values") or {}).items()},
    )
