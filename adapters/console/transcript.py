"""What each simulated chat shows: its messages, in order, with subscribers told of every change."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ConsoleMessage:
    id: str
    chat_id: str
    sender_id: str
    sender_name: str
    is_bot: bool
    created_at: datetime
    text: str | None = None
    card: dict[str, Any] | None = None
    reply_to: str | None = None
    seq: int = 0
    updated: bool = False
    event_id: str | None = None  # the platform event a person's message came in, when the caller named one

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "id": self.id, "chat_id": self.chat_id,
            "sender": {"id": self.sender_id, "name": self.sender_name, "is_bot": self.is_bot},
            "text": self.text, "card": self.card, "reply_to": self.reply_to,
            "created_at": self.created_at.isoformat(), "updated": self.updated,
        }


@dataclass
class ConsoleTranscript:
    limit_per_chat: int = 500
    _messages: dict[str, list[ConsoleMessage]] = field(default_factory=dict)
    _by_id: dict[str, ConsoleMessage] = field(default_factory=dict)
    # A platform re-delivers the same event for the same message: the chat shows it once.
    _by_event: dict[str, ConsoleMessage] = field(default_factory=dict)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _subscribers: dict[str, set[asyncio.Queue[ConsoleMessage | None]]] = field(default_factory=dict)
    # Message ids become event ids, which the inbox keeps for good: a restarted console must never
    # hand out an id an earlier run used, or its messages would be dropped as re-deliveries.
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def new_id(self) -> str:
        return f"cm_{self._run}_{next(self._ids)}"

    def append(self, message: ConsoleMessage) -> ConsoleMessage:
        message.seq = next(self._seq)
        chat = self._messages.setdefault(message.chat_id, [])
        chat.append(message)
        self._by_id[message.id] = message
        if message.event_id is not None:
            self._by_event[message.event_id] = message
        if len(chat) > self.limit_per_chat:
            dropped = chat.pop(0)
            self._by_id.pop(dropped.id, None)
            if dropped.event_id is not None:
                self._by_event.pop(dropped.event_id, None)
        self._publish(message)
        return message

    def posted_for(self, event_id: str) -> ConsoleMessage | None:
        """The message first posted under this event id, while the transcript still holds it."""
        return self._by_event.get(event_id)

    def update_card(self, message_id: str, card: dict[str, Any]) -> ConsoleMessage | None:
        message = self._by_id.get(message_id)
        if message is None:
            return None
        message.card = card
        message.updated = True
        message.seq = next(self._seq)
        self._publish(message)
        return message

    def get(self, message_id: str) -> ConsoleMessage | None:
        return self._by_id.get(message_id)

    def since(self, chat_id: str, after: int) -> list[ConsoleMessage]:
        return sorted((m for m in self._messages.get(chat_id, []) if m.seq > after), key=lambda m: m.seq)

    def subscribe(self, chat_id: str) -> asyncio.Queue[ConsoleMessage | None]:
        queue: asyncio.Queue[ConsoleMessage | None] = asyncio.Queue(maxsize=1000)
        self._subscribers.setdefault(chat_id, set()).add(queue)
        return queue

    def unsubscribe(self, chat_id: str, queue: asyncio.Queue[ConsoleMessage | None]) -> None:
        self._subscribers.get(chat_id, set()).discard(queue)

    def close_all(self) -> None:
        """Tell every subscriber the stream is over (None), so shutdown never waits on a browser."""
        for queues in self._subscribers.values():
            for queue in queues:
                if not queue.full():
                    queue.put_nowait(None)

    def _publish(self, message: ConsoleMessage) -> None:
        for queue in list(self._subscribers.get(message.chat_id, ())):
            if not queue.full():
                queue.put_nowait(message)
