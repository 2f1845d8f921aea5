"""Pooled PostgreSQL connections are tested before use only after sitting idle; a dead one is replaced."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.idle_ping import IdlePing
from tests.conftest import PG_URL, needs_postgres

pytestmark = [needs_postgres, pytest.mark.postgres]


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _backend_pid(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_busy_connection_is_not_pinged_and_an_idle_one_is() -> None:
    db = Database(PG_URL)
    monotonic = Monotonic()
    # Beside the app pool's own idle test (real time: never idle long enough here), one on our clock.
    ping = IdlePing(db.engine, idle_seconds=5.0, monotonic=monotonic)
    try:
        first = await _backend_pid(db)
        monotonic.now += 1.0
        assert await _backend_pid(db) == first  # the same pooled connection, reused a second later
        assert ping.pings == 0
        monotonic.now += 30.0
        assert await _backend_pid(db) == first  # tested after sitting idle, found alive, kept
        assert ping.pings == 1
    finally:
        await db.dispose()


async def test_a_connection_the_server_closed_while_pooled_is_replaced_without_an_error() -> None:
    db = Database(PG_URL)
    admin = Database(PG_URL)
    try:
        first = await _backend_pid(db)
        # The server drops the connection while it sits in our pool (a restart, a proxy cut).
        async with admin.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            await conn.commit()
        for _ in range(100):  # until the driver has read the hang-up (no clock involved)
            await asyncio.sleep(0.01)
            async with db.engine.connect() as probe:
                if probe.sync_connection is not None:
                    break
        assert await _backend_pid(db) != first
    finally:
        await db.dispose()
        await admin.dispose()


async def test_the_app_database_pings_only_idle_connections_on_every_pool() -> None:
    db = Database(PG_URL)
    try:
        # Commands and task-code numbers; the acks' asyncpg pool closes idle connections itself.
        assert len(db.idle_pings) == 2
        for _ in range(5):
            async with db.transaction() as session:
                await session.execute(text("SELECT 1"))
        assert all(ping.pings == 0 for ping in db.idle_pings)
    finally:
        await db.dispose()
