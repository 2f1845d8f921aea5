"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and caches.

PostgreSQL and Redis are real services: each test run gets its own schema and key prefix,
and removes them when it ends, so no run depends on what an earlier one left behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.clock import FrozenClock
from storage.cache import Cache, InProcessCache
from storage.db import Database
from storage.redis_cache import RedisCache

PG_URL = os.environ.get("TUIJIN_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TUIJIN_TEST_REDIS_URL", "")
RUN_ID = uuid.uuid4().hex[:10]

needs_postgres = pytest.mark.skipif(
    not PG_URL, reason="PostgreSQL tests need TUIJIN_TEST_DATABASE_URL (CI sets it)"
)
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="Redis tests need TUIJIN_TEST_REDIS_URL (CI sets it)")

TABLES = (
    "review_note, standup_answer, standup, leave, calendar_day, "
    "decision, task_event, task_member, task, key_result, goal, task_code_counter, outbox_message, inbox_event, "
    "dispatch_claim, "
    '"user", department, chat, tenant'
)


async def _create_schema(schema: str) -> None:
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    db = Database(PG_URL, schema=schema)
    await db.upgrade()
    await db.dispose()


async def _drop_schema(schema: str) -> None:
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


def own_pg_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of a test's own (for a `tuijin` subprocess, which cannot pin a schema)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        db = Database(PG_URL)
        async with db.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text(sql))
        await db.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TUIJIN_TEST_DATABASE_URL (CI sets it)")
    schema = f"tj_test_{RUN_ID}"
    asyncio.run(_create_schema(schema))
    yield schema
    asyncio.run(_drop_schema(schema))


@pytest.fixture(autouse=True)
def _pg_schema_outside_the_event_loop(request: pytest.FixtureRequest) -> None:
    """`pg_schema` runs asyncio.run(); ask for it from sync code before any test loop starts."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("any_db") == "postgres":
        request.getfixturevalue("pg_schema")


@pytest.fixture
def clock() -> FrozenClock:
    # Monday 2026-11-23 10:00 in Shanghai.
    return FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))


async def sqlite_database(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tuijin.sqlite3'}")
    await db.upgrade()
    return db


async def postgres_database(schema: str) -> Database:
    db = Database(PG_URL, schema=schema)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return db


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await sqlite_database(tmp_path)
    yield db
    await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[needs_postgres, pytest.mark.postgres])])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The storage contract runs on both engines."""
    if request.param == "sqlite":
        db = await sqlite_database(tmp_path)
    else:
        db = await postgres_database(request.getfixturevalue("pg_schema"))
    yield db
    await db.dispose()


@pytest.fixture(params=["inprocess", pytest.param("redis", marks=[needs_redis, pytest.mark.redis])])
async def any_cache(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[Cache]:
    if request.param == "inprocess":
        cache: Cache = InProcessCache(clock=clock)
        yield cache
        await cache.close()
        return
    redis_cache = RedisCache(REDIS_URL, prefix=f"tjtest:{RUN_ID}:{uuid.uuid4().hex[:6]}:")
    yield redis_cache
    await redis_cache.delete_prefix()
    await redis_cache.close()


class PrivateRedis:
    """A redis-server of the test's own, on a free port: it may be stopped and started at will."""

    def __init__(self, port: int, maxclients: int) -> None:
        self.port, self.maxclients = port, maxclients
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxclients", str(self.maxclients)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)  # waiting for the server to listen, not standing in for a result
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on PATH (CI has it)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = PrivateRedis(port, maxclients=12)
    server.start()
    yield server
    server.stop()
