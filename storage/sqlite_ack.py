"""The acknowledgements' insert on SQLite: aiosqlite directly, without SQLAlchemy's execution path.

As on PostgreSQL (storage/ack_pool.py), an ack is one statement that needs nothing SQLAlchemy
gives. Through SQLAlchemy Core the insert cost 0.58 ms of CPU for one event and 0.83 ms for eight
on the machine of 2026-11-30's fourth session; on the driver 0.28 and 0.36 ms. It runs on the
connection of the caller's SQLAlchemy transaction, which commits it, through storage/driver.py
(which counts it and raises SQLAlchemy's errors). Each value is converted by
its column's own SQLAlchemy type for that engine, so what is stored is what SQLAlchemy would have
stored (UTC timestamps as text, JSON through storage/json.py): tests/storage/test_sqlite_ack.py
compares the two.

The server's acks go through `insert_and_commit`: the insert and its commit as one call on
aiosqlite's thread (storage/driver.py, `commit_in_one_call`): 0.24 and 0.44 ms of CPU for a batch
of one and of eight on the machine of 2026-12-01, against 0.39 and 0.58 ms through SQLAlchemy's
`engine.begin()` (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.driver import commit_in_one_call, run_on_driver
from storage.tables import InboxEvent

# The order of the values `insert_on_driver` takes for each row.
COLUMNS = ("platform", "tenant_key", "event_id", "kind", "status", "received_at", "payload", "attempts",
           "lease_until", "lease_owner")

_binds: WeakKeyDictionary[Any, list[Any]] = WeakKeyDictionary()


async def insert_on_driver(conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Insert `rows` (values in `COLUMNS` order), skipping keys already stored.

    Returns (id, platform, tenant_key, event_id) of each row stored.
    """
    found, _ = await run_on_driver(conn, _insert_sql(len(rows)), _params(conn, rows), want_rows=True)
    return list(found)


async def insert_and_commit(engine: AsyncEngine, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    """As `insert_on_driver`, in a transaction of its own that has committed when this returns."""
    return await commit_in_one_call(engine, _insert_sql(len(rows)), _params(engine, rows))


def _params(conn: AsyncConnection | AsyncEngine, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    processors = _bind_processors(conn.dialect)
    return [value if process is None else process(value)
            for row in rows for process, value in zip(processors, row, strict=True)]


@cache
def _insert_sql(count: int) -> str:
    values = ", ".join(["(" + ", ".join("?" * len(COLUMNS)) + ")"] * count)
    return (f"INSERT INTO inbox_event ({', '.join(COLUMNS)}) VALUES {values} "
            "ON CONFLICT (platform, tenant_key, event_id) DO NOTHING RETURNING id, platform, tenant_key, event_id")


def _bind_processors(dialect: Any) -> list[Any]:
    """Each column's conversion to what the driver stores, as SQLAlchemy does it for this engine."""
    found = _binds.get(dialect)
    if found is None:
        table = InboxEvent.__table__  # type: ignore[attr-defined]
        found = _binds[dialect] = [table.c[name].type.bind_processor(dialect) for name in COLUMNS]
    return found
