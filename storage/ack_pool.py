"""The acknowledgements' own connections on PostgreSQL: asyncpg directly, without SQLAlchemy.

An ack is one statement (the inbox insert, storage/repositories/inbox.py) that commits on its
own, so it needs nothing SQLAlchemy gives: no session, no transaction, no ORM. So is marking a
batch of replies sent (the delivery worker's group commit), which runs here too: a short statement,
where SQLAlchemy's connection around it cost more CPU than the statement itself. Through SQLAlchemy's
engine that statement cost about 300 µs more CPU than through asyncpg (620-900 µs against 330-520
µs per flush of 1-8 events, bench/README.md), and the ack path is what must keep up with a burst.
Each statement is still written once, in SQLAlchemy, and compiled for asyncpg (storage/driver.py).

The pool is opened on first use, inside the running loop. asyncpg reads every connection's
socket all the time, so one the server hung up (a restart, a terminated backend) is known closed
and replaced at its next use without a round trip: what storage/idle_ping.py adds to SQLAlchemy's
pools. A connection idle for `idle_seconds` (60) is closed, so a quiet bot does not keep one that
a firewall or NAT may have forgotten (their idle timeouts are minutes), yet an ack every few
seconds does not pay for a new connection each time. When a statement fails because its
connection broke, every other connection is replaced too, at its next use: after a database
restart one ack fails (answered 500, so the platform re-sends it), not one per pooled connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url

from storage.driver import DriverStatement

# SQLAlchemy's names for options it handles itself rather than passing to asyncpg.connect.
_ADAPTER_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback")
IDLE_SECONDS = 60.0
# Errors that mean the connection is gone (the server shut it, or the network did).
CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError,
                   asyncpg.exceptions.CrashShutdownError, asyncpg.exceptions.CannotConnectNowError, ConnectionError)


def connect_options(url: str, server_settings: dict[str, str] | None = None) -> dict[str, Any]:
    """asyncpg.connect's keyword arguments for a SQLAlchemy URL, as SQLAlchemy itself parses it."""
    _, options = asyncpg_dialect().create_connect_args(make_url(url))
    for name in _ADAPTER_ONLY:
        options.pop(name, None)
    if server_settings:
        options["server_settings"] = {**options.get("server_settings", {}), **server_settings}
    return dict(options)


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """Given back to the pool as it was taken: no reset query.

    asyncpg's default sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    release, a round trip that doubled the cost of each use (about 310 µs of wall time and 200 µs
    of our CPU against 155 and 110 without it, `SELECT 1` through the pool, plus the server's work)
    and that an ack waited for before its answer. Nothing here leaves anything to undo: every
    statement commits on its own, none takes an advisory lock, opens a cursor, listens (the
    inbox signal has a connection of its own) or sets a session variable. asyncpg still rolls back
    a transaction left open (a statement cancelled half-way) before calling this.
    """


def _closed(conn: Any) -> bool:
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        # asyncpg has already taken a lost connection back from us: asking would raise instead.
        return True


class AckPool:
    def __init__(self, url: str, *, server_settings: dict[str, str] | None = None, size: int = 2,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        self.options = connect_options(url, server_settings)
        self._size = size
        self._idle_seconds = idle_seconds
        self._pool: asyncpg.Pool | None = None
        # What its statements are compiled for.
        self.dialect = asyncpg_dialect()
        self._opening: asyncio.Lock | None = None
        # Statements run (each its own commit), for the benchmark's per-event counts.
        self.statements = 0

    async def fetch(self, statement: DriverStatement, params: Mapping[str, Any]) -> Sequence[asyncpg.Record]:
        """One statement, its own transaction: the rows it returns."""
        rows: Sequence[asyncpg.Record] = await self._run("fetch", statement, params)
        return rows

    async def execute(self, statement: DriverStatement, params: Mapping[str, Any]) -> str:
        """One statement, its own transaction: asyncpg's status line ("UPDATE 3")."""
        status: str = await self._run("execute", statement, params)
        return status

    async def _run(self, method: str, statement: DriverStatement, params: Mapping[str, Any]) -> Any:
        # Compiled by SQLAlchemy for asyncpg, each value converted by its type (storage/driver.py).
        sql, args = statement.on_dialect(self.dialect, params)
        pool = self._pool or await self._open()
        async with pool.acquire() as conn:
            self.statements += 1
            try:
                return await getattr(conn, method)(sql, *args)
            except BaseException as error:
                # The error can arrive before asyncpg has seen the socket close: a terminated
                # backend sends its FATAL first. Either way the others were opened to the same
                # server and are likely gone too.
                if isinstance(error, CONNECTION_LOST) or _closed(conn):
                    await pool.expire_connections()
                raise

    async def notify(self, channel: str, payload: str) -> None:
        """A NOTIFY on `channel` (storage/inbox_signal.py), in a transaction of its own."""
        pool = self._pool or await self._open()
        async with pool.acquire() as conn:
            self.statements += 1
            await conn.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _open(self) -> asyncpg.Pool:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                # min_size 0: nothing is opened here that could fail; a connection is made at first use.
                self._pool = await asyncpg.create_pool(
                    min_size=0, max_size=self._size, max_inactive_connection_lifetime=self._idle_seconds,
                    reset=_nothing_to_reset, **self.options,
                )
            return self._pool
