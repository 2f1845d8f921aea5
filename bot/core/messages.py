"""Outbound messages: one neutral shape for replies, pushes and card updates."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.cards import Card
from bot.core.events import ConversationRef

# The key of Chat.settings that holds a group's bound push address.
PUSH_HOOK_SETTING = "push_hook"


@dataclass(frozen=True)
class OutboundMessage:
    """Exactly one of `text` or `card`.

    `reply_to` answers a message in its thread; `update_of` replaces a card we sent before.
    `idempotency_key` is stable across retries so the platform sends it once.
    `update_of_key` replaces a card we sent before, named by that message's idempotency key: the
    delivery worker looks up its platform id when it sends (the card may not have left yet when
    the update is queued).
    `update_only` marks an update whose new state the reply to the same event already shows in that
    chat: a platform that cannot update the card in place sends nothing instead of a new card.
    `push_hook` is a push address an admin bound to a group chat (Chat.settings["push_hook"]), for
    platforms whose bot cannot always push to a group by itself; the delivery worker fills it in
    at send time for adapters that ask for it (`uses_push_hook`), and it is never stored.
    """

    conversation: ConversationRef
    idempotency_key: str
    text: str | None = None
    card: Card | None = None
    reply_to: str | None = None
    update_of: str | None = None
    update_of_key: str | None = None
    # A one-to-one message to this platform user (the bot's direct chat with them), where the
    # platform allows it; `conversation` then names the tenant, its chat_id is the user's id.
    direct_to: str | None = None
    update_only: bool = False
    push_hook: str | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.card is None):
            raise ValueError("an outbound message carries exactly one of text or card")
