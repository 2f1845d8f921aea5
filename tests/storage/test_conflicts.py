"""A real PostgreSQL deadlock is recognised as a conflict worth retrying; other errors are not."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.conflicts import is_transient_conflict
from storage.db import Database
from storage.driver import DriverStatement
from tests.conftest import needs_postgres


@needs_postgres
@pytest.mark.postgres
async def test_a_deadlock_is_a_transient_conflict(any_db: Database) -> None:
    if any_db.is_sqlite:
        pytest.skip("SQLite has a single writer: it cannot deadlock")
    async with any_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO tenant (platform, tenant_key, name, task_code_prefix) "
                                "VALUES ('x', 'a', '', 'X'), ('x', 'b', '', 'X')"))
    both_locked_one = asyncio.Barrier(2)

    async def lock(first: str, second: str) -> None:
        async with any_db.transaction() as session:
            await session.execute(text("SELECT id FROM tenant WHERE tenant_key = :k FOR UPDATE"), {"k": first})
            await both_locked_one.wait()
            await session.execute(text("SELECT id FROM tenant WHERE tenant_key = :k FOR UPDATE"), {"k": second})

    results = await asyncio.gather(lock("a", "b"), lock("b", "a"), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], DBAPIError)
    assert is_transient_conflict(errors[0])


@needs_postgres
@pytest.mark.postgres
async def test_a_deadlock_on_a_driver_statement_is_a_transient_conflict(any_db: Database) -> None:
    """The hot statements skip SQLAlchemy's execution path (storage/driver.py), not its errors."""
    if any_db.is_sqlite:
        pytest.skip("SQLite has a single writer: it cannot deadlock")
    async with any_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO tenant (platform, tenant_key, name, task_code_prefix) "
                                "VALUES ('y', 'a', '', 'X'), ('y', 'b', '', 'X')"))
    take = DriverStatement(lambda _dialect: text(
        "SELECT id FROM tenant WHERE platform = 'y' AND tenant_key = :k FOR UPDATE"))
    both_locked_one = asyncio.Barrier(2)

    async def lock(first: str, second: str) -> None:
        async with any_db.transaction() as session:
            conn = await session.connection()
            await take.execute(conn, {"k": first})
            await both_locked_one.wait()
            await take.execute(conn, {"k": second})

    results = await asyncio.gather(lock("a", "b"), lock("b", "a"), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], DBAPIError)
    assert is_transient_conflict(errors[0])


async def test_an_ordinary_error_is_not_a_conflict(any_db: Database) -> None:
    with pytest.raises(DBAPIError) as caught:
        async with any_db.transaction() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    assert not is_transient_conflict(caught.value)
