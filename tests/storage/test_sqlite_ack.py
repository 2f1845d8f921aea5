"""On SQLite the ack's insert goes to aiosqlite directly: what it stores is what SQLAlchemy would store.

The same events are written once through the driver path (`record_many`) and once through
SQLAlchemy Core's own statement for the table; the stored values, compared as SQLite holds them
(text timestamps, JSON text), must be the same, and the ORM must read them back as written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

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
