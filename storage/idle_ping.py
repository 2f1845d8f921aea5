"""Test a pooled PostgreSQL connection before use only when it has sat idle for a while.

SQLAlchemy's `pool_pre_ping` tests every connection at every checkout; with asyncpg that is three
round trips (BEGIN, an empty query, ROLLBACK) before each transaction, several times per command.
Under load connections go back and forth within milliseconds, and a connection that was fine a
moment ago is as good as tested. At checkout a connection whose socket the server has closed (a
restart, a cut, a terminated backend: the driver saw it, no round trip needed) is replaced, and
one left idle for a while (it may have been dropped silently) is tested first; either way the
caller does not notice. A connection cut while busy fails its statement; SQLAlchemy then invalidates the pool, so every
older connection is replaced at its next checkout, and our callers retry (events are replayed,
acks answered 503 so the platform re-sends).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

IDLE_SECONDS = 5.0


def _closed(dbapi_connection: Any) -> bool:
    """Whether the driver already knows the connection is gone (asyncpg: `is_closed()`, no round trip)."""
    is_closed = getattr(getattr(dbapi_connection, "driver_connection", None), "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False


class IdlePing:
    def __init__(self, engine: AsyncEngine, *, idle_seconds: float = IDLE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.monotonic = monotonic
        self.pings = 0
        self._key = f"idle_since:{id(self)}"
        event.listen(engine.sync_engine.pool, "checkin", self._checkin)
        event.listen(engine.sync_engine.pool, "checkout", self._checkout)

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[self._key] = self.monotonic()

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if _closed(dbapi_connection):
            # The server hung up meanwhile (a restart, a cut); the driver saw the socket close.
            raise DisconnectionError("a pooled connection was closed by the server")
        since = record.info.get(self._key)
        if since is None or self.monotonic() - since < self.idle_seconds:
            return  # new, or in use a moment ago
        self.pings += 1
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("a pooled connection was dead after sitting idle") from error
