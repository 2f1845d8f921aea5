"""Alembic migrations build the schema the models describe, and re-running them changes nothing."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import String, inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)
from storage.db import Database, alembic_config
from storage.repositories import TenantRepository
from storage.schema_version import HEAD_REVISION


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _columns(conn: Connection) -> dict[str, set[str]]:
    inspector = inspect(conn)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


def _length_only(change: object) -> bool:
    """A VARCHAR length change: SQLite keeps VARCHAR(n) but never enforces n (0008 widens it on PostgreSQL)."""
    def text_type(kind: object) -> bool:
        return isinstance(getattr(kind, "impl", kind), String)  # sqlmodel's AutoString decorates String

    return isinstance(change, list) and all(
        isinstance(op, tuple) and op[0] == "modify_type" and text_type(op[-2]) and text_type(op[-1]) for op in change
    )


def _diff(conn: Connection) -> list[object]:
    diff = list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))
    if conn.dialect.name == "sqlite":
        diff = [change for change in diff if not _length_only(change)]
    return diff


async def _version(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())


async def test_upgrade_on_a_fresh_sqlite_file_creates_every_table(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'fresh.sqlite3'}")
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        await db.upgrade()
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(_tables)
            columns = await conn.run_sync(_columns)
            diff = await conn.run_sync(_diff)
        expected = set(SQLModel.metadata.tables)
        assert expected <= tables
        assert tables - expected == {"alembic_version"}
        for name, table in SQLModel.metadata.tables.items():
            assert columns[name] == {c.name for c in table.columns}, name
        # The migration and the models agree (no autogenerate drift).
        assert diff == []
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert await _version(db) == [head]
        assert await db.ping() is True
    finally:
        await db.dispose()


async def test_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'twice.sqlite3'}")
    try:
        await db.upgrade()
        async with db.transaction() as session:
            await TenantRepository(session).ensure("feishu", "t1", name="甲")
        async with db.engine.connect() as conn:
            before = await conn.run_sync(_columns)
        version = await _version(db)

        await db.upgrade()

        async with db.engine.connect() as conn:
            assert await conn.run_sync(_columns) == before
        assert await _version(db) == version
        async with db.session() as session:
            tenant = await TenantRepository(session).get("feishu", "t1")
        assert tenant is not None and tenant.name == "甲"
    finally:
        await db.dispose()


async def test_every_engine_has_the_full_schema(any_db: Database) -> None:
    async with any_db.engine.connect() as conn:
        tables = await conn.run_sync(_tables)
        diff = await conn.run_sync(_diff)
    assert set(SQLModel.metadata.tables) <= tables
    assert diff == []
    assert await any_db.ping() is True


async def test_ping_is_false_when_the_database_is_unreachable() -> None:
    db = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        assert await db.ping() is False
    finally:
        await db.dispose()


def test_the_revision_the_code_expects_is_the_scripts_head() -> None:
    # A new migration sets storage/schema_version.HEAD_REVISION to its own revision id.
    assert HEAD_REVISION == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_the_schema_is_current_only_at_the_head(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'steps.sqlite3'}")
    try:
        assert await db.schema_is_current() is False  # no version table yet
        await db.upgrade("0011")
        assert await db.schema_is_current() is False
        await db.upgrade()
        assert await db.schema_is_current() is True
        assert await _version(db) == [HEAD_REVISION]
    finally:
        await db.dispose()


async def test_a_current_schema_on_every_engine(any_db: Database) -> None:
    assert await any_db.schema_is_current() is True
