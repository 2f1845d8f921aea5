"""Neutral models shared by the core and every adapter: events, cards, outbound messages."""

from bot.core.actions import ActionPayload
from bot.core.cards import Button, Buttons, Card, CardElement, Divider, Fields, Image, Input, Note, Text
from bot.core.events import (
    CardActionEvent,
    CardActionResult,
    ConversationRef,
    InboundEvent,
    MessageEvent,
    UserRef,
)
from bot.core.messages import OutboundMessage

__all__ = [
    "ActionPayload",
    "Button",
    "Buttons",
    "Card",
    "CardActionEvent",
    "CardActionResult",
    "CardElement",
    "ConversationRef",
    "Divider",
    "Fields",
    "Image",
    "InboundEvent",
    "Input",
    "MessageEvent",
    "Note",
    "OutboundMessage",
    "Text",
    "UserRef",
]
