"""An outbox row this process holds a lease on: claimed by a round, or handed over at commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core import ConversationRef, OutboundMessage

LaneKey = tuple[str, str, str]


@dataclass(slots=True)
class Leased:
    id: int
    platform: str
    tenant_key: str
    chat_id: str
    tenant_id: int | None
    # Attempts counted in the row, this one included: the lease is ours while the row still says so.
    attempts: int
    created_at: datetime
    leased_until: datetime
    # A handed-over message is already built; a claimed row carries its stored payload.
    message: OutboundMessage | None = None
    payload: dict[str, Any] | None = None

    @property
    def lane(self) -> LaneKey:
        return (self.platform, self.tenant_key, self.chat_id)

    @property
    def conversation(self) -> ConversationRef:
        return ConversationRef(platform=self.platform, tenant_key=self.tenant_key, chat_id=self.chat_id)
