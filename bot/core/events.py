"""Neutral inbound events: what every adapter turns its platform's payloads into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.core.actions import ActionPayload
from bot.core.cards import Card

ChatType = Literal["group", "p2p"]


@dataclass(frozen=True)
class ConversationRef:
    """Where a message came from and where a reply or a later push goes."""

    platform: str
    tenant_key: str
    chat_id: str
    chat_type: ChatType = "group"
    chat_name: str | None = None


@dataclass(frozen=True)
class UserRef:
    """A person as the platform names them; `user_id` is the id the platform sends messages with."""

    user_id: str
    name: str | None = None
    union_id: str | None = None
    employee_id: str | None = None


@dataclass(frozen=True)
class MessageEvent:
    """A chat message addressed to the bot.

    `text` has the bot's own mention removed and every other mention written as `<@USER_ID>`;
    `mentions` lists those users with the names the platform gave. `addressed` is False for a
    group message that does not @ the bot (apps allowed to read all group messages get those).
    """

    event_id: str
    conversation: ConversationRef
    sender: UserRef
    text: str
    occurred_at: datetime
    message_id: str | None = None
    message_type: str = "text"
    mentions: tuple[UserRef, ...] = field(default_factory=tuple)
    addressed: bool = True


@dataclass(frozen=True)
class CardActionEvent:
    """A button pressed on one of our cards; `action` is None when the payload is not ours."""

    event_id: str
    conversation: ConversationRef
    operator: UserRef
    action: ActionPayload | None
    occurred_at: datetime
    message_id: str | None = None
    form_values: dict[str, str] = field(default_factory=dict)


InboundEvent = MessageEvent | CardActionEvent


@dataclass(frozen=True)
class CardActionResult:
    """The inline answer to a click: a toast and, when the card changed, the new card."""

    toast: str
    toast_kind: Literal["success", "info", "warning", "error"] = "info"
    card: Card | None = None
