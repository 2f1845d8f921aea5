"""Single migrations, up and down, on rows written before them: on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.db import Database, alembic_config
from tests.conftest import PG_URL, needs_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[needs_postgres, pytest.mark.postgres])])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no schema yet, for a test to migrate step by step."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'steps.sqlite3'}")
        yield db
        await db.dispose()
        return
    schema = f"tj_steps_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(PG_URL, schema=schema)
    try:
        yield db
    finally:
        await db.dispose()
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


async def downgrade(db: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def execute(db: Database, sql: str, **params: Any) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(sql))).all()]


async def columns(db: Database, table: str) -> set[str]:
    def names(connection: Connection) -> set[str]:
        return {column["name"] for column in inspect(connection).get_columns(table)}

    async with db.engine.connect() as conn:
        return await conn.run_sync(names)


async def test_0010_adds_and_removes_the_lease_owner_keeping_the_rows(empty_db: Database) -> None:
    await empty_db.upgrade("0009")
    await execute(empty_db, "INSERT INTO inbox_event (platform, tenant_key, event_id, kind, received_at, status,"
                            " attempts) VALUES ('feishu', 't1', 'ev-1', 'message', CURRENT_TIMESTAMP, 'received', 0)")
    await execute(empty_db, "INSERT INTO outbox_message (platform, tenant_key, chat_id, idempotency_key, payload,"
                            " status, attempts, next_attempt_at, created_at) VALUES ('feishu', 't1', 'oc_1', 'k1',"
                            " '{}', 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")

    await empty_db.upgrade("0010")
    for table in ("inbox_event", "outbox_message"):
        assert "lease_owner" in await columns(empty_db, table)
        assert await rows(empty_db, f"SELECT lease_owner FROM {table}") == [(None,)]

    await downgrade(empty_db, "0009")
    for table in ("inbox_event", "outbox_message"):
        assert "lease_owner" not in await columns(empty_db, table)
    assert await rows(empty_db, "SELECT event_id FROM inbox_event") == [("ev-1",)]
    assert await rows(empty_db, "SELECT idempotency_key FROM outbox_message") == [("k1",)]
