"""The console: a local simulator of a chat platform, for trying Tuijin without any IM account."""

from __future__ import annotations

from adapters.console.directory import BOT_ID, BOT_NAME, TENANT_KEY, ConsoleDirectory
from adapters.console.render import render_card, render_text
from adapters.console.routes import ConsoleRoutes
from adapters.console.transcript import ConsoleMessage, ConsoleTranscript
from bot.clock import Clock
from bot.core import OutboundMessage
from bot.core.platform import DeliveryError, DeliveryReceipt, DirectoryProfile, EventSink

__all__ = ["TENANT_KEY", "ConsoleAdapter"]


class ConsoleAdapter:
    platform = "console"
    # Its chats live in this process's memory: only the serving process can deliver to them.
    local_only = True

    def __init__(self, sink: EventSink, clock: Clock, directory: ConsoleDirectory | None = None) -> None:
        self.sink = sink
        self.clock = clock
        self.directory = directory or ConsoleDirectory()
        self.transcript = ConsoleTranscript()
        self.routes = ConsoleRoutes(self)

    def setup_routes(self, app: object) -> None:
        self.routes.mount(app)  # type: ignore[arg-type]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.routes.close()

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        chat_id = message.conversation.chat_id
        if self.directory.chat(chat_id) is None:
            raise DeliveryError(f"unknown console chat {chat_id}", retryable=False)
        card = render_card(message.card, self.directory) if message.card is not None else None
        if message.update_of is not None:
            if card is None or self.transcript.update_card(message.update_of, card) is None:
                raise DeliveryError("no card to update", retryable=False)
            return DeliveryReceipt(message.update_of)
        posted = self.transcript.append(
            ConsoleMessage(
                id=self.transcript.new_id(), chat_id=chat_id, sender_id=BOT_ID, sender_name=BOT_NAME, is_bot=True,
                created_at=self.clock.now(), card=card, reply_to=message.reply_to,
                text=render_text(message.text, self.directory) if message.text is not None else None,
            )
        )
        return DeliveryReceipt(posted.id)

    async def lookup_user(self, tenant_key: str, user_id: str) -> DirectoryProfile | None:
        person = self.directory.person(user_id)
        if person is None:
            return None
        return DirectoryProfile(
            user_id=person.id, name=person.name, department_names=(person.department,),
            leader_user_id=person.leader_id,
        )
