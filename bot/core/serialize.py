"""Outbound messages to and from plain JSON, for the outbox table."""

from __future__ import annotations

from typing import Any

from bot.core.actions import ActionPayload
from bot.core.cards import Button, Buttons, Card, CardElement, Divider, Fields, Image, Note, Text
from bot.core.events import ConversationRef
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
    return {
        "type": "buttons",
        "buttons": [
            {"label": b.label, "style": b.style, "value": b.action.to_value()} for b in el.buttons
        ],
    }


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
    return Buttons(tuple(buttons))


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


def message_to_dict(message: OutboundMessage) -> dict[str, Any]:
    conv = message.conversation
    return {
        "conversation": {
            "platform": conv.platform, "tenant_key": conv.tenant_key, "chat_id": conv.chat_id,
            "chat_type": conv.chat_type, "chat_name": conv.chat_name,
        },
        "idempotency_key": message.idempotency_key,
        "text": message.text,
        "card": card_to_dict(message.card) if message.card is not None else None,
        "reply_to": message.reply_to,
        "update_of": message.update_of,
    }


def message_from_dict(data: dict[str, Any]) -> OutboundMessage:
    conv = data["conversation"]
    return OutboundMessage(
        conversation=ConversationRef(
            platform=conv["platform"], tenant_key=conv["tenant_key"], chat_id=conv["chat_id"],
            chat_type=conv.get("chat_type", "group"), chat_name=conv.get("chat_name"),
        ),
        idempotency_key=data["idempotency_key"],
        text=data.get("text"),
        card=card_from_dict(data["card"]) if data.get("card") else None,
        reply_to=data.get("reply_to"),
        update_of=data.get("update_of"),
    )
