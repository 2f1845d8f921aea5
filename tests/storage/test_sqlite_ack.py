"""On SQLite the ack's insert goes to aiosqlite directly: what it stores is what SQLAlchemy would store.

The same events are written once through the driver path (`record_many`) and once through
SQLAlchemy Core's own statement for the table; the stored values, compared as SQLite holds them
(text timestamps, JSON text), must be the same, and the ORM must read them back as written.
The server's path, on the engine, inserts and commits in one call into aiosqlite's thread: what
it stores is the same, committed when it returns, and a failed batch leaves nothing behind.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.repositories.inbox import RECEIVED, NewInboxRow, _record_statement, record_many
from storage.tables import InboxEvent

AT = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
COLUMNS = "platform, tenant_key, kind, status, received_at, processed_at, payload, attempts, last_error, " \
          "lease_until, lease_owner"


def _rows(prefix: str) -> list[NewInboxRow]:
    return [
        NewInboxRow("feishu", "t1", f"{prefix}-1", "message", AT, payload={"text": "帮助", "n": 1},
                    lease_until=AT + timedelta(seconds=60), lease_owner="owner-0001"),
        NewInboxRow("feishu", "t1", f"{prefix}-2", "card_action", AT.replace(tzinfo=None), payload=None),
        NewInboxRow("dingtalk", "t2", f"{prefix}-3", "message", AT.astimezone(), payload={"嵌套": {"列表": [1, 2]}}),
    ]


async def _stored(db: Database, prefix: str) -> list[tuple[Any, ...]]:
    async with db.session() as session:
        return [tuple(row) for row in (await session.execute(text(
            f"SELECT {COLUMNS} FROM inbox_event WHERE event_id LIKE :prefix ORDER BY event_id"),
            {"prefix": f"{prefix}-%"})).all()]


async def test_the_driver_path_stores_what_sqlalchemy_core_stores(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as conn:
        ids = await record_many(conn, [*_rows("driver"), _rows("driver")[0]])
        await conn.execute(_record_statement("sqlite"), [
            {"platform": row.platform, "tenant_key": row.tenant_key, "event_id": row.event_id, "kind": row.kind,
             "received_at": row.received_at, "status": RECEIVED, "payload": row.payload, "attempts": 0,
             "lease_until": row.lease_until, "lease_owner": row.lease_owner, "processed_at": None, "last_error": None}
            for row in _rows("core")])
    assert ids[:3] == sorted(ids[:3]) and None not in ids[:3] and ids[3] is None  # a repeat is not new

    assert await _stored(sqlite_db, "driver") == await _stored(sqlite_db, "core")
    async with sqlite_db.session() as session:
        first = (await session.execute(select(InboxEvent).where(InboxEvent.event_id == "driver-1"))).scalar_one()
    assert (first.received_at, first.lease_until, first.payload) == (
        AT, AT + timedelta(seconds=60), {"text": "帮助", "n": 1})


async def _driver(db: Database) -> Any:
    """The pool's one aiosqlite connection (SQLite's pool holds one and hands out the same)."""
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        return raw.driver_connection


def _committed(db: Database, prefix: str) -> list[str]:
    """What another connection to the file sees: only what has committed."""
    path = db.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as other:
        return [row[0] for row in other.execute(
            "SELECT event_id FROM inbox_event WHERE event_id LIKE ? ORDER BY event_id", (f"{prefix}-%",))]


async def test_the_servers_ack_stores_what_core_stores_committed_in_one_call(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = await _driver(sqlite_db)
    calls: list[str] = []
    queue = driver._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await queue(fn, *args, **kwargs)

    monkeypatch.setattr(driver, "_execute", counted)
    ids = await record_many(sqlite_db.engine, [*_rows("engine"), _rows("engine")[0]])
    assert calls == ["_run_and_commit"]  # one hand-over to aiosqlite's thread, the commit in it
    assert None not in ids[:3] and ids[3] is None
    assert _committed(sqlite_db, "engine") == ["engine-1", "engine-2", "engine-3"]
    assert not driver.in_transaction
    monkeypatch.undo()

    async with sqlite_db.engine.begin() as conn:
        await conn.execute(_record_statement("sqlite"), [
            {"platform": row.platform, "tenant_key": row.tenant_key, "event_id": row.event_id, "kind": row.kind,
             "received_at": row.received_at, "status": RECEIVED, "payload": row.payload, "attempts": 0,
             "lease_until": row.lease_until, "lease_owner": row.lease_owner, "processed_at": None, "last_error": None}
            for row in _rows("core")])
    assert await _stored(sqlite_db, "engine") == await _stored(sqlite_db, "core")
    again = await record_many(sqlite_db.engine, [_rows("engine")[1]])
    assert again == [None]  # a re-delivery is not new


async def test_a_failed_ack_batch_stores_nothing_and_the_next_one_is_stored(sqlite_db: Database) -> None:
    good, _, _ = _rows("failed")
    broken = NewInboxRow(None, "t1", "failed-2", "message", AT)  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(IntegrityError):
        await record_many(sqlite_db.engine, [good, broken])
    assert _committed(sqlite_db, "failed") == []  # the good row went with the batch
    assert not (await _driver(sqlite_db)).in_transaction

    [row_id] = await record_many(sqlite_db.engine, [good])
    assert row_id is not None and _committed(sqlite_db, "failed") == ["failed-1"]
