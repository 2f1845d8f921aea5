"""Rows read on the driver become the session's ORM objects as a query would make them (storage/driver_rows.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, bindparam, inspect, select

from storage.db import Database
from storage.driver_rows import DriverQuery
from storage.tables import Chat, Task, TaskStatus, Tenant, User

DUE = datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=UTC)


def _by_id(_dialect: str, columns: tuple[Any, ...]) -> Any:
    return select(*columns).where(Task.__table__.c.id == bindparam("id", type_=Integer))  # type: ignore[attr-defined]


BY_ID = DriverQuery(_by_id, Task)
BY_ID_FRESH = DriverQuery(_by_id, Task, refresh=True)


def _columns(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).column_attrs}


async def _seed(db: Database) -> int:
    async with db.transaction() as session:
        tenant = Tenant(platform="feishu", tenant_key="t-rows")
        session.add(tenant)
        await session.flush()
        assert tenant.id is not None
        chat = Chat(tenant_id=tenant.id, platform_chat_id="oc_rows", settings={"workday_end": "18:30", "列表": [1]})
        owner = User(tenant_id=tenant.id, platform_user_id="ou_rows", name="张三", is_admin=True)
        session.add_all([chat, owner])
        await session.flush()
        task = Task(tenant_id=tenant.id, chat_id=chat.id, code="XZB20261101", title="海报", owner_id=owner.id,
                    due_at=DUE, description=None, status=TaskStatus.IN_PROGRESS, progress=40)
        session.add(task)
        await session.flush()
        assert task.id is not None
        return task.id


async def test_objects_hold_what_an_orm_query_gives(any_db: Database) -> None:
    task_id = await _seed(any_db)
    async with any_db.session() as session:
        orm = (await session.execute(select(Task).where(Task.id == task_id))).scalar_one()
        expected = _columns(orm)
    async with any_db.session() as session:
        [(task,)] = await BY_ID.rows(session, {"id": task_id})
        assert _columns(task) == expected
        assert task.due_at == DUE and task.due_at.tzinfo is not None  # SQLite's text read back as UTC
        state = inspect(task)
        assert state.persistent and not state.modified and task in session
    # Several entities and a JSON column, booleans from SQLite's integers.
    rows_of = DriverQuery(lambda _d, chats, users: select(*chats, *users).join_from(
        Chat.__table__, User.__table__, Chat.__table__.c.tenant_id == User.__table__.c.tenant_id),  # type: ignore
        Chat, User)
    async with any_db.session() as session:
        [(chat, user)] = await rows_of.rows(session, {})
        assert chat.settings == {"workday_end": "18:30", "列表": [1]}
        assert user.is_admin is True and user.name == "张三"


async def test_a_change_to_a_loaded_object_is_stored(any_db: Database) -> None:
    task_id = await _seed(any_db)
    async with any_db.transaction() as session:
        [(task,)] = await BY_ID.rows(session, {"id": task_id})
        task.progress = 90
    async with any_db.session() as session:
        stored = (await session.execute(select(Task.progress, Task.title).where(Task.id == task_id))).one()
    assert tuple(stored) == (90, "海报")  # only the changed column was written


async def test_the_sessions_own_object_is_returned_and_a_fresh_read_overwrites_it(any_db: Database) -> None:
    task_id = await _seed(any_db)
    async with any_db.transaction() as session:
        [(first,)] = await BY_ID.rows(session, {"id": task_id})
        if not any_db.is_sqlite:  # SQLite's one pooled connection is this transaction's
            async with any_db.engine.begin() as other:
                await other.execute(Task.__table__.update().where(  # type: ignore[attr-defined]
                    Task.__table__.c.id == task_id).values(progress=77))  # type: ignore[attr-defined]
        [(again,)] = await BY_ID.rows(session, {"id": task_id})
        assert again is first and again.progress == 40  # the session's object, as a query keeps it
        [(fresh,)] = await BY_ID_FRESH.rows(session, {"id": task_id})
        assert fresh is first and fresh.progress == (40 if any_db.is_sqlite else 77)  # as populate_existing
        session.expire(fresh, ["description", "due_at"])
        [(filled,)] = await BY_ID.rows(session, {"id": task_id})  # expired: filled in, no lazy load
        assert filled is first and filled.due_at == DUE and filled.description is None
        fresh.title = "改过"  # pending: flushed before the next read, as autoflush would
        [(after,)] = await BY_ID_FRESH.rows(session, {"id": task_id})
        assert after is first and after.title == "改过" and not inspect(after).modified


def test_a_process_whose_first_read_is_on_the_driver_has_its_mappers_configured(tmp_path: Path) -> None:
    # Attributes are instrumented only once mappers are configured (normally by the first query).
    code = f"""
import asyncio
from sqlalchemy import Integer, bindparam, select
from storage.db import Database
from storage.driver_rows import DriverQuery
from storage.tables import Tenant

async def main():
    db = Database("sqlite+aiosqlite:///{tmp_path / 'first.sqlite3'}")
    await db.upgrade()
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("INSERT INTO tenant (platform, tenant_key, name, task_code_prefix, "
                                   "calendar_version) VALUES ('feishu', 'k', '', 'XZB', 0)")
    query = DriverQuery(lambda _d, cols: select(*cols).where(
        Tenant.__table__.c.id == bindparam("id", type_=Integer)), Tenant)
    async with db.session() as session:
        [(tenant,)] = await query.rows(session, {{"id": 1}})
        print(tenant.tenant_key)
    await db.dispose()

asyncio.run(main())
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "k"
