"""The console's page and its small JSON API (documented in the README)."""

from __future__ import annotations

import asyncio
import json
import uuid
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from adapters.console.directory import BOT_ID, BOT_NAME, TENANT_KEY
from adapters.console.render import render_card
from adapters.console.transcript import ConsoleMessage
from bot.core import ActionPayload, CardActionEvent, ConversationRef, MessageEvent, UserRef
from bot.core.events import ChatType
from bot.limits import parse_json_object

if TYPE_CHECKING:
    from adapters.console.adapter import ConsoleAdapter

MAX_TEXT = 4000
HEARTBEAT_SECONDS = 15.0


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
    body = parse_json_object(await request.read())
    if body is None:
        return _bad("body must be a JSON object")
    return body


class ConsoleRoutes:
    def __init__(self, adapter: ConsoleAdapter) -> None:
        self.adapter = adapter
        self._streams: set[web.StreamResponse] = set()
        self._closing = asyncio.Event()

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/console", self.page)
        app.router.add_get("/console/", self.page)
        app.router.add_get("/console/api/directory", self.directory)
        app.router.add_get("/console/api/messages", self.messages)
        app.router.add_post("/console/api/messages", self.send)
        app.router.add_post("/console/api/actions", self.press)
        app.router.add_get("/console/api/events", self.events)
        # Open event streams end at shutdown's first step, so they never hold the server up.
        app.on_shutdown.append(self._on_shutdown)

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing.set()
        self.adapter.transcript.close_all()

    def _conversation(self, chat_id: str) -> ConversationRef | None:
        chat = self.adapter.directory.chat(chat_id)
        if chat is None:
            return None
        kind: ChatType = "p2p" if self.adapter.directory.is_direct(chat.id) else "group"
        return ConversationRef("console", TENANT_KEY, chat.id, kind, chat.name)

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files("adapters.console").joinpath("static/index.html").read_text("utf-8")
        return web.Response(text=html, content_type="text/html")

    async def directory(self, request: web.Request) -> web.Response:
        d = self.adapter.directory
        return web.json_response({
            "bot": {"id": BOT_ID, "name": BOT_NAME},
            "users": [{"id": p.id, "name": p.name, "department": p.department} for p in d.people.values()],
            "chats": [{"id": c.id, "name": c.name, "kind": "group"} for c in d.chats.values()]
            + [{"id": p.id, "name": f"私聊 · {p.name}", "kind": "direct"} for p in d.people.values()],
        })

    async def messages(self, request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id", "")
        if self.adapter.directory.chat(chat_id) is None:
            return _bad("unknown chat_id", 404)
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return _bad("after must be an integer")
        found = self.adapter.transcript.since(chat_id, after)
        return web.json_response({
            "messages": [m.to_json() for m in found],
            "last_seq": max((m.seq for m in found), default=after),
        })

    async def send(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        chat_id, user_id, text = body.get("chat_id"), body.get("user_id"), body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _bad("text is required")
        if len(text) > MAX_TEXT:
            return _bad(f"text is longer than {MAX_TEXT} characters")
        person = self.adapter.directory.person(str(user_id))
        conversation = self._conversation(str(chat_id))
        if person is None or conversation is None:
            return _bad("unknown user_id or chat_id")
        transcript = self.adapter.transcript
        given_id = str(body["event_id"]) if body.get("event_id") else None
        posted = transcript.posted_for(given_id) if given_id else None
        if posted is None or posted.chat_id != conversation.chat_id:
            posted = transcript.append(ConsoleMessage(
                id=transcript.new_id(), chat_id=conversation.chat_id, sender_id=person.id,
                sender_name=person.name, is_bot=False, created_at=self.adapter.clock.now(), text=text,
                event_id=given_id,
            ))
        command_text, mentions = self.adapter.directory.resolve_mentions(text)
        event = MessageEvent(
            event_id=given_id or f"console-{posted.id}", conversation=conversation,
            sender=UserRef(person.id, person.name), text=command_text, occurred_at=self.adapter.clock.now(),
            message_id=posted.id, mentions=mentions,
        )
        accepted = await self.adapter.sink.accept_message(event)
        return web.json_response(
            {"event_id": event.event_id, "accepted": accepted, "message": posted.to_json()}, status=202
        )

    async def press(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        person = self.adapter.directory.person(str(body.get("user_id")))
        conversation = self._conversation(str(body.get("chat_id")))
        if person is None or conversation is None:
            return _bad("unknown user_id or chat_id")
        message_id = str(body.get("message_id", ""))
        target = self.adapter.transcript.get(message_id)
        if target is None or target.chat_id != conversation.chat_id or target.card is None:
            return _bad("message_id does not name a card in this chat", 404)
        event = CardActionEvent(
            event_id=str(body.get("click_id") or uuid.uuid4().hex), conversation=conversation,
            operator=UserRef(person.id, person.name), action=ActionPayload.from_value(body.get("value")),
            occurred_at=self.adapter.clock.now(), message_id=message_id, form_values=_inputs(body.get("inputs")),
        )
        result = await self.adapter.sink.accept_card_action(event)
        card = None
        if result.card is not None:
            card = render_card(result.card, self.adapter.directory)
            self.adapter.transcript.update_card(message_id, card)
        return web.json_response({"toast": {"type": result.toast_kind, "content": result.toast}, "card": card})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: every new or updated message in the chat, as it happens."""
        chat_id = request.query.get("chat_id", "")
        if self.adapter.directory.chat(chat_id) is None:
            return _bad("unknown chat_id", 404)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue = self.adapter.transcript.subscribe(chat_id)
        try:
            while not self._closing.is_set():
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if message is None:
                    break
                data = json.dumps(message.to_json(), ensure_ascii=False)
                await response.write(f"event: message\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.adapter.transcript.unsubscribe(chat_id, queue)
        return response


def _inputs(raw: object) -> dict[str, str]:
    """The card's text fields as typed (`{"answer": "…"}`); anything else is ignored."""
    if not isinstance(raw, dict):
        return {}
    return {str(k)[:64]: str(v)[:2000] for k, v in list(raw.items())[:8] if isinstance(v, str)}
