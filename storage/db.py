"""The async database: one engine, sessions from it, and migrations applied through Alembic."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolResetState

from storage import json
from storage.ack_pool import AckPool
from storage.idle_ping import IdlePing
from storage.inbox_signal import Announced, InboxSignal, inbox_channel
from storage.schema_version import HEAD_REVISION, VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Where a session finds the engine that numbers task codes (None: number inside the transaction).
COUNTER_ENGINE = "counter_engine"
COUNTER_LOCK_TIMEOUT_MS = 200


# Alembic is imported only to migrate: a server whose schema is current never loads it (see
# storage/schema_version.py).
def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _run_upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def _current_revisions(connection: Connection) -> list[str]:
    """The revisions stamped in Alembic's version table, read as Alembic reads them (none: empty)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is crash-safe for the application (a power cut may lose the last commits,
    # never corrupt the file) and spares an fsync per transaction.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _rollback_if_open(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """The pool's reset of a connection given back, as SQLAlchemy's own but for an idle connection.

    SQLAlchemy rolls back every connection given back after a commit, which on aiosqlite is a
    call into its thread (about 90 µs of CPU) for a connection that has no transaction open: two
    of the eight calls a `帮助` made. sqlite3 knows whether one is open without that call.
    """
    if state.asyncio_safe and not state.transaction_was_reset and dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


class Database:
    """Owns the engine. `schema` pins PostgreSQL's search_path (tests get their own schema)."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Announces events stored for processor processes (storage/inbox_signal.py).
        self.inbox_channel = inbox_channel(schema)
        connect_args: dict[str, Any] = {}
        engine_args: dict[str, Any] = {}
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
            connect_args["timeout"] = 30
            # SQLite has one writer; a single pooled connection queues transactions in our process
            # instead of letting them collide on the file lock and back off with sleeps.
            engine_args = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60,
                           # The pool's rollback on return, only when a transaction is open: below.
                           "pool_reset_on_return": None}
        elif schema:
            connect_args["server_settings"] = {"search_path": schema}
        # Every pool: hide_parameters, so a failing statement's log line carries no user text (task
        # titles, names); JSON columns through storage/json.py.
        common: dict[str, Any] = {"hide_parameters": True, "json_serializer": json.dumps,
                                  "json_deserializer": json.loads}
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, connect_args=connect_args,
                                                       **common, **engine_args)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
            event.listen(self.engine.sync_engine, "reset", _rollback_if_open)
        # Task codes on PostgreSQL are numbered on a pool of their own, outside the command's
        # transaction (TaskRepository.next_sequence); SQLite numbers them inside it.
        self.counter_engine: AsyncEngine | None = None
        if not self.is_sqlite:
            self.counter_engine = create_async_engine(
                url, **common, pool_size=1, max_overflow=4, isolation_level="AUTOCOMMIT",
                # Never wait long on a row the command's own open transaction holds (a tenant it
                # has just created): give up and number inside that transaction instead.
                connect_args={**connect_args, "server_settings": {
                    **connect_args.get("server_settings", {}), "lock_timeout": str(COUNTER_LOCK_TIMEOUT_MS)}},
            )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False,
                                            info={COUNTER_ENGINE: self.counter_engine})
        # Acknowledgements get their own small pool on a server database, so storing an event
        # never waits for a connection behind command processing. SQLite has one writer: there
        # the ack path shares the one connection (and its group commit keeps its turns short).
        # On PostgreSQL the pool is asyncpg's own (storage/ack_pool.py): an ack is one INSERT,
        # which commits (durably, before its answer returns) on its own.
        self.ack_pool: AckPool | None = None
        self.idle_pings: list[IdlePing] = []
        if not self.is_sqlite:
            self.ack_pool = AckPool(url, server_settings=connect_args.get("server_settings"))
            # A database restart or a cut connection leaves dead connections in the pool: one that
            # sat idle is tested before use, so the first transaction after an outage does not fail.
            self.idle_pings = [IdlePing(engine) for engine in (self.engine, self.counter_engine)
                               if engine is not None]

    @property
    def one_statement_target(self) -> AckPool | AsyncEngine:
        """Where a statement that is a transaction of its own runs (the acks' insert, replies marked sent).

        PostgreSQL: the acks' asyncpg pool, where it commits on its own. SQLite: the engine, where
        the statement and its commit are one call into aiosqlite's thread (storage/driver.py).
        """
        return self.ack_pool if self.ack_pool is not None else self.engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error."""
        async with self._sessions() as session, session.begin():
            yield session

    async def upgrade(self, revision: str = "head") -> None:
        if revision == "head" and await self.schema_is_current():
            return
        async with self.engine.begin() as conn:
            await conn.run_sync(_run_upgrade, revision)

    async def schema_is_current(self) -> bool:
        """Whether the database has every migration this code expects (read without Alembic)."""
        async with self.engine.connect() as conn:
            current = await conn.run_sync(_current_revisions)
        return current == [HEAD_REVISION]

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def inbox_signal(self, on_signal: Callable[[Announced], None]) -> InboxSignal | None:
        """A listener calling `on_signal` whenever events are announced; None on SQLite (one process)."""
        if self.ack_pool is None:
            return None
        return InboxSignal(self.ack_pool.options, self.inbox_channel, on_signal)

    async def announce(self, what: Announced) -> None:
        if self.ack_pool is not None:
            await self.ack_pool.notify(self.inbox_channel, what)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.ack_pool is not None:
            await self.ack_pool.close()
        if self.counter_engine is not None:
            await self.counter_engine.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:" and not path.startswith(":"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
