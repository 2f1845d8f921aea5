"""SQLite's one pooled connection is rolled back when given back with a transaction open, and only then."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text

from storage.db import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Any:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'reset.sqlite3'}")
    await db.upgrade()
    yield db
    await db.dispose()


async def test_a_connection_given_back_mid_transaction_is_rolled_back(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        # Written past SQLAlchemy, which therefore does not know a transaction is open.
        await raw.driver_connection.execute(
            "INSERT INTO tenant (platform, tenant_key, name, task_code_prefix, calendar_version) "
            "VALUES ('feishu', 'left-open', '', 'XZB', 0)")
        assert raw.driver_connection.in_transaction
    async with sqlite_db.engine.connect() as conn:  # the same connection: the pool holds one
        raw = await conn.get_raw_connection()
        assert not raw.driver_connection.in_transaction
        assert (await conn.execute(text("SELECT count(*) FROM tenant"))).scalar_one() == 0


async def test_a_committed_connection_is_given_back_without_a_call_into_the_driver(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = Counter[str]()
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls[getattr(fn, "__name__", "?")] += 1
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with sqlite_db.transaction() as session:
        await session.execute(text("INSERT INTO tenant (platform, tenant_key, name, task_code_prefix, "
                                   "calendar_version) VALUES ('feishu', 'k', '', 'XZB', 0)"))
    assert calls["commit"] == 1 and calls["rollback"] == 0, calls
