"""The router: commands and card actions to handlers, with an onion of middlewares.

Feature modules each build a Router and the app includes them, as aiogram does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.core import ActionPayload, Card


@dataclass(frozen=True)
class Post:
    """One more message a handler sends with its reply: a decision card for someone, news for a group.

    `key` names the message for later refreshes (a decision card); without one the pipeline derives
    a key from the event, so a replayed event still sends it once. `chat_id` is the platform's chat
    id when the message belongs in another chat of the same tenant (the task's group);
    `direct_to` a platform user id for a one-to-one message to that person.
    """

    text: str | None = None
    card: Card | None = None
    key: str | None = None
    chat_id: str | None = None
    task_code: str | None = None
    direct_to: str | None = None


@dataclass(frozen=True)
class CardRefresh:
    """A card sent earlier, found by its message key, shown again as it now is (decided, answered).

    `shown_in_reply`: the reply carries this same card, so a copy in the chat being answered needs
    no new message where the platform cannot update it in place.
    """

    key: str
    card: Card
    shown_in_reply: bool = False


@dataclass(frozen=True)
class Reply:
    """What a handler says back: text or a card; `task_code` links the card to its task for updates.

    `key`, when set, names the reply itself so a later answer can refresh it (a request's overview).
    """

    text: str | None = None
    card: Card | None = None
    task_code: str | None = None
    toast: str | None = None
    toast_kind: Literal["success", "info", "warning", "error"] = "success"
    posts: tuple[Post, ...] = ()
    refreshes: tuple[CardRefresh, ...] = ()
    key: str | None = None


CommandHandler = Callable[[Any, Any], Awaitable[Reply]]
ActionHandler = Callable[[ActionPayload, Any], Awaitable[Reply]]
Middleware = Callable[[Callable[[], Awaitable[Reply]], str, Any], Awaitable[Reply]]


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self._commands: dict[type, CommandHandler] = {}
        self._actions: dict[str, ActionHandler] = {}
        self._children: list[Router] = []
        self.middlewares: list[Middleware] = []

    def command(self, *kinds: type) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            for kind in kinds:
                self._commands[kind] = handler
            return handler

        return register

    def action(self, act: str) -> Callable[[ActionHandler], ActionHandler]:
        def register(handler: ActionHandler) -> ActionHandler:
            self._actions[act] = handler
            return handler

        return register

    def include_router(self, router: Router) -> Router:
        self._children.append(router)
        return router

    def find_command(self, command: object) -> CommandHandler | None:
        handler = self._commands.get(type(command))
        if handler is not None:
            return handler
        for child in self._children:
            found = child.find_command(command)
            if found is not None:
                return found
        return None

    def find_action(self, act: str) -> ActionHandler | None:
        if act in self._actions:
            return self._actions[act]
        for child in self._children:
            found = child.find_action(act)
            if found is not None:
                return found
        return None

    async def run(self, name: str, context: Any, call: Callable[[], Awaitable[Reply]]) -> Reply:
        """Run `call` inside the middlewares, outermost first."""
        wrapped = call
        for middleware in reversed(self.middlewares):
            wrapped = _bind(middleware, wrapped, name, context)
        return await wrapped()


def _bind(
    middleware: Middleware, inner: Callable[[], Awaitable[Reply]], name: str, context: Any
) -> Callable[[], Awaitable[Reply]]:
    async def call() -> Reply:
        return await middleware(inner, name, context)

    return call
