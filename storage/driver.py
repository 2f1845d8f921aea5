"""Hot statements run on the database driver, inside the caller's SQLAlchemy transaction.

Every event runs a few statements that need nothing from SQLAlchemy but the SQL: turning its
inbox row done, queueing its reply, marking replies sent. Through SQLAlchemy's execution path
(compiling from cache, processing parameters, building the result) each cost about 0.17 ms more
CPU than on the driver on the machine of 2026-11-30's fifth session, a tenth of what processing a
`帮助` costs. A `DriverStatement` is compiled once per dialect by SQLAlchemy itself, its values
converted by each parameter's own SQLAlchemy type for that dialect, so what reaches the database is
what SQLAlchemy would have sent (tests/storage/test_driver.py runs both and compares).

It runs on the connection of the caller's transaction, which commits or rolls it back, and
fails with the error SQLAlchemy would have raised for it (an IntegrityError is one). SQLite's
driver opens that transaction itself before the first write. SQLAlchemy's asyncpg adapter opens
its transaction lazily, at its first statement: a driver statement that comes first opens it the
same way, or it would commit on its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, or_
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

# Statements sent past SQLAlchemy, whose events do not see them, per engine: for the benchmarks,
# and for tests that read what was sent (SQL and driver values).
_statements: WeakKeyDictionary[Any, int] = WeakKeyDictionary()
_commits: WeakKeyDictionary[Any, int] = WeakKeyDictionary()
Watcher = Callable[[str, Sequence[Any]], None]
_watchers: WeakKeyDictionary[Any, list[Watcher]] = WeakKeyDictionary()


def statements_on_driver(engine: AsyncEngine) -> int:
    """How many statements went to the driver directly on `engine`."""
    return _statements.get(engine.sync_engine, 0)


def commits_on_driver(engine: AsyncEngine) -> int:
    """How many commits went to the driver directly on `engine` (`commit_in_one_call`)."""
    return _commits.get(engine.sync_engine, 0)


def watch(engine: AsyncEngine, watcher: Watcher) -> None:
    """Call `watcher(sql, values)` for each statement sent to the driver directly on `engine`."""
    _watchers.setdefault(engine.sync_engine, []).append(watcher)


def unwatch(engine: AsyncEngine, watcher: Watcher) -> None:
    _watchers.get(engine.sync_engine, []).remove(watcher)


def count_statement(conn: AsyncConnection, sql: str, values: Sequence[Any], *, commits: int = 0) -> None:
    """For the benchmarks and watchers: `sql` is being sent to `conn`'s driver with `values`."""
    _statements[conn.sync_engine] = _statements.get(conn.sync_engine, 0) + 1
    if commits:
        _commits[conn.sync_engine] = _commits.get(conn.sync_engine, 0) + commits
    for watcher in _watchers.get(conn.sync_engine, ()):
        watcher(sql, values)


class _Compiled:
    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("a driver statement takes no expanding (IN list) parameters")
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.defaults: dict[str, Any] = dict(compiled.params)
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        # What each returned column's type makes of the driver's value (SQLite's text timestamps,
        # JSON; a timezone tagged on): None where nothing does, as for ints and text.
        columns = getattr(statement, "exported_columns", ())
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        self.results = results if any(process is not None for process in results) else None

    def rows(self, raw: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        if self.results is None:
            return raw
        return [tuple(value if process is None or value is None else process(value)
                      for process, value in zip(self.results, row, strict=True)) for row in raw]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            value = params[name] if name in params else self.defaults[name]
            process = self.processors.get(name)
            # None too, as SQLAlchemy does: a JSON column stores None as JSON null, not SQL NULL.
            values.append(value if process is None else process(value))
        return values


class DriverStatement:
    """A SQLAlchemy statement (built by `build`) run on the driver: its SQL compiled once per dialect."""

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self._build = build
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect)
        if found is None:
            found = self._compiled[dialect] = _Compiled(self._build(dialect.name), dialect)
        return found

    def on_dialect(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and driver-ready values, for a driver connection of `dialect` outside SQLAlchemy."""
        compiled = self._for(dialect)
        return compiled.sql, compiled.args(params)

    async def fetch(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows the statement returns, each value as its SQLAlchemy type reads it."""
        compiled = self._for(conn.dialect)
        rows, _ = await run_on_driver(conn, compiled.sql, compiled.args(params), want_rows=True)
        return compiled.rows(rows)

    async def execute(self, conn: AsyncConnection, params: Mapping[str, Any]) -> int:
        """How many rows the statement changed."""
        compiled = self._for(conn.dialect)
        _, count = await run_on_driver(conn, compiled.sql, compiled.args(params), want_rows=False)
        return count

    async def commit_each(self, engine: AsyncEngine, params: Sequence[Mapping[str, Any]]) -> None:
        """SQLite: the statement once per `params`, a transaction of its own, committed when this
        returns: one call into aiosqlite's thread (`commit_in_one_call`)."""
        compiled = self._for(engine.dialect)
        await commit_in_one_call(engine, compiled.sql, [compiled.args(p) for p in params], many=True)


def one_of(column: ColumnElement[Any], name: str, count: int) -> ColumnElement[bool]:
    """`column` equal to one of `count` parameters `name_0`, `name_1` …: a driver statement takes no IN list.

    Bind their values with `one_of_values(name, values)`; a statement is built per count.
    """
    return or_(*(column == bindparam(f"{name}_{i}", type_=column.type) for i in range(count)))


def one_of_values(name: str, values: Sequence[Any]) -> dict[str, Any]:
    return {f"{name}_{i}": value for i, value in enumerate(values)}


# The connection of each session transaction that asked for one (weakly: gone with the transaction).
_connections: WeakKeyDictionary[Any, AsyncConnection] = WeakKeyDictionary()


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """`await session.connection()`, remembered for the session's transaction.

    Each `session.connection()` is a hop through SQLAlchemy's greenlet (about 12 µs of CPU on the
    machine of 2026-11-30's sixth session); a command asks for it for each driver statement. A
    new transaction (after a commit or rollback) asks SQLAlchemy again.
    """
    transaction = session.sync_session.get_transaction()
    found = _connections.get(transaction) if transaction is not None else None
    # Only while the transaction is active: after a failed flush SQLAlchemy must refuse, as it did.
    if found is not None and transaction is not None and transaction.is_active and not found.closed \
            and not found.invalidated:
        return found
    conn = await session.connection()
    transaction = session.sync_session.get_transaction()
    if transaction is not None:
        _connections[transaction] = conn
    return conn


async def _driver_of(conn: AsyncConnection) -> tuple[Any, Any]:
    """`conn`'s pooled DBAPI connection (SQLAlchemy's adapter) and the driver's connection inside it."""
    sync = conn.sync_connection
    # The pooled connection is at hand while the connection is valid (a hop through the greenlet
    # otherwise, about 8 µs); an invalidated one is reconnected the awaited way.
    raw = sync.connection if sync is not None and not sync.invalidated else await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    return raw, driver


async def run_on_driver(conn: AsyncConnection, sql: str, args: Sequence[Any], *,
                        want_rows: bool) -> tuple[Sequence[Sequence[Any]], int]:
    """`sql` with driver-ready `args` on `conn`'s driver connection, in its transaction: (rows, rowcount)."""
    raw, driver = await _driver_of(conn)
    count_statement(conn, sql, args)
    try:
        if conn.dialect.name == "postgresql":
            await _begin_asyncpg(raw.dbapi_connection)
            if want_rows:
                return await driver.fetch(sql, *args), -1
            status = await driver.execute(sql, *args)
            return (), _rowcount(status)
        # aiosqlite runs each call in its thread: one call (execute and fetch) instead of a cursor's
        # three (execute, fetch, close), each a hand-over to the thread and back that cost about
        # 90 µs of CPU on the machine of 2026-11-30's sixth session. What the statement changed is
        # read from the connection's counter: nothing else runs on it while the transaction is ours.
        changed_before = driver.total_changes
        rows = await driver.execute_fetchall(sql, args)
        return rows, driver.total_changes - changed_before
    except Exception as error:
        raise as_sqlalchemy_error(conn, raw.dbapi_connection, sql, error) from error


async def commit_in_one_call(engine: AsyncEngine, sql: str, args: Sequence[Any], *,
                             many: bool = False) -> list[Any]:
    """SQLite: `sql` as a transaction of its own, committed when this returns: its rows (none with `many`).

    With `many`, `args` holds one sequence of values per execution. The statement and its commit
    are one call into aiosqlite's thread (through aiosqlite's own queueing method, which every one
    of its public methods goes through): each call there and back hands the GIL over both ways,
    and SQLAlchemy's `engine.begin()` around the statement made two of them, plus its transaction's
    bookkeeping. The pool's one connection is checked out for it, so it takes turns with every
    other transaction. A failed statement is rolled back in the same call and raised as
    SQLAlchemy would have raised it.
    """
    async with engine.connect() as conn:
        assert conn.dialect.name == "sqlite"
        raw, driver = await _driver_of(conn)
        count_statement(conn, sql, args, commits=1)
        try:
            found: list[Any] = await driver._execute(_run_and_commit, driver._conn, sql, args, many)
        except Exception as error:
            raise as_sqlalchemy_error(conn, raw.dbapi_connection, sql, error) from error
        return found


def _run_and_commit(native: sqlite3.Connection, sql: str, args: Sequence[Any], many: bool) -> list[Any]:
    """On aiosqlite's thread: the statement and its commit, or nothing."""
    try:
        if many:
            native.executemany(sql, args)
            found: list[Any] = []
        else:
            found = native.execute(sql, args).fetchall()
        native.commit()
    except BaseException:
        native.rollback()
        raise
    return found


def as_sqlalchemy_error(conn: AsyncConnection, adapted: Any, sql: str, error: Exception) -> BaseException:
    """The error SQLAlchemy would have raised (IntegrityError, OperationalError, …), with the driver's inside.

    The adapter translates the driver's error as for its own statements (and on asyncpg forgets a
    transaction whose connection closed); SQLAlchemy then wraps it, parameters hidden as
    everywhere (storage/db.py).
    """
    try:
        adapted._handle_exception(error)
    except Exception as translated:
        error = translated
    return DBAPIError.instance(sql, None, error, conn.dialect.loaded_dbapi.Error, hide_parameters=True,
                               dialect=conn.dialect)


async def _begin_asyncpg(adapted: Any) -> None:
    """Open the adapter's transaction as its own first statement would (it is opened lazily)."""
    if adapted._transaction is None and adapted.isolation_level != "autocommit":
        await adapted._start_transaction()


def _rowcount(status: str) -> int:
    """asyncpg's status line ("UPDATE 3", "INSERT 0 1") as a row count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1
