"""The contracts between the core and every platform package.

An adapter knows its platform and nothing of the domain: it verifies and parses inbound
requests into neutral events, hands them to the core's `EventSink`, and delivers neutral
outbound messages through the platform's API. These types live in the core so that the core
never imports a platform package; only the app's wiring (bot/platforms.py) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.core.events import CardActionEvent, CardActionResult, MessageEvent
from bot.core.messages import OutboundMessage

if TYPE_CHECKING:
    from aiohttp import web


class InvalidEvent(ValueError):
    """An event no platform would send (ids beyond any real length): the adapter answers 400."""


class SinkUnavailable(Exception):
    """The core is shutting down and takes no new events; answer so the platform re-delivers."""


class EventSink(Protocol):
    """The core's entry point, as adapters see it. Both calls may raise SinkUnavailable."""

    async def accept_message(self, event: MessageEvent) -> bool:
        """Store the event once and process it in tracked background work.

        Returns False when the event was seen before (a platform retry): nothing happens twice.
        """
        ...

    async def accept_card_action(self, event: CardActionEvent) -> CardActionResult:
        """Handle a click and answer within the platform's inline deadline.

        When the handler is slower, the answer is a holding toast and the updated card
        follows through the outbox as an update of `event.message_id`.
        """
        ...


@dataclass(frozen=True)
class DeliveryReceipt:
    platform_message_id: str | None


class DeliveryError(Exception):
    """A send that failed; `retryable` with an optional server-given wait in seconds.

    `setup_hint` says, for an admin, what would let this chat be reached at all (WeCom: bind a
    group robot); the core tells the tenant's admins once and the message keeps waiting.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None,
                 setup_hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.setup_hint = setup_hint


@dataclass(frozen=True)
class DirectoryProfile:
    """What the platform's contact API says about a person."""

    user_id: str
    name: str | None = None
    department_ids: tuple[str, ...] = ()
    department_names: tuple[str, ...] = ()
    leader_user_id: str | None = None
    # The platform says this person administers the company (Feishu's tenant manager).
    is_platform_admin: bool = False


@runtime_checkable
class PlatformAdapter(Protocol):
    platform: str

    def setup_routes(self, app: web.Application) -> None:
        """Mount this platform's webhook routes (none for a long-connection-only adapter)."""
        ...

    async def start(self) -> None:
        """Open long connections or warm caches; called once the app is up."""
        ...

    async def stop(self) -> None:
        """Close connections; called on shutdown after background work drained."""
        ...

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """Send one message (or card update); raise DeliveryError on failure."""
        ...

    async def lookup_user(self, tenant_key: str, user_id: str) -> DirectoryProfile | None:
        """Directory facts for a person, or None when the platform will not say."""
        ...
