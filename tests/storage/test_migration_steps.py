"""Single migrations, up and down, on rows written before them: on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.db import Database, alembic_config
from storage.tables import Decision, Task, Tenant, User
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


async def _risk_levels(db: Database) -> dict[str, Any]:
    found = await rows(db, "SELECT request, data FROM decision ORDER BY id")
    return {request: (json.loads(data) if isinstance(data, str) else data) for request, data in found}


async def _seed_risks(db: Database, written: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Decisions as an earlier version stored them (0011 changes data only: the models fit 0010)."""
    async with db.transaction() as session:
        tenant = Tenant(platform="feishu", tenant_key="t1", name="甲")
        session.add(tenant)
        await session.flush()
        user = User(tenant_id=tenant.id or 0, platform_user_id="u1", name="张敏")
        session.add(user)
        await session.flush()
        task = Task(tenant_id=tenant.id or 0, code="XZB20261101", title="海报", initiator_id=user.id)
        session.add(task)
        await session.flush()
        for number, (request, (kind, data)) in enumerate(written.items(), start=1):
            session.add(Decision(tenant_id=tenant.id or 0, task_id=task.id or 0, kind=kind, number=number,
                                 request=request, decider_id=user.id or 0, data=data, token="tok"))


async def test_0011_turns_risk_levels_into_codes_and_back(empty_db: Database) -> None:
    await empty_db.upgrade("0010")
    await _seed_risks(empty_db, {
        "r-high": ("risk", {"level": "高", "description": "供应商延期", "impact": "海报延期3天"}),
        "r-severe": ("risk", {"level": "严重", "description": "版权"}),
        "r-urgent": ("risk", {"level": "紧急", "description": "预算"}),
        "r-medium": ("risk", {"level": "中", "description": "字体"}),
        "r-low": ("risk", {"level": "低", "description": "排期"}),
        "blocker": ("blocker", {"description": "素材未到", "level": "高"}),
    })

    await empty_db.upgrade("0011")
    upgraded = await _risk_levels(empty_db)
    assert {request: data["level"] for request, data in upgraded.items()} == {
        "r-high": "high", "r-severe": "high", "r-urgent": "high", "r-medium": "medium", "r-low": "low",
        "blocker": "高",  # only risks have a level to translate
    }
    assert upgraded["r-high"] == {"level": "high", "description": "供应商延期", "impact": "海报延期3天"}

    await downgrade(empty_db, "0010")
    downgraded = await _risk_levels(empty_db)
    assert {request: data["level"] for request, data in downgraded.items()} == {
        "r-high": "高", "r-severe": "高", "r-urgent": "高", "r-medium": "中", "r-low": "低", "blocker": "高"}
    assert downgraded["r-high"] == {"level": "高", "description": "供应商延期", "impact": "海报延期3天"}
