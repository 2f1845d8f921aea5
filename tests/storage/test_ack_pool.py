"""The acks' own asyncpg pool on PostgreSQL: the same inserts as through SQLAlchemy, and outages cost one ack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage.ack_pool import CONNECTION_LOST, AckPool
from storage.db import Database
from storage.driver import DriverStatement
from storage.repositories.inbox import NewInboxRow, record_many
from storage.tables import InboxEvent
from tests.conftest import PG_URL, needs_postgres, postgres_database

pytestmark = [needs_postgres, pytest.mark.postgres]

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
BACKEND = DriverStatement(lambda _dialect: text("SELECT pg_backend_pid() AS pid"))


@pytest.fixture
async def pg_db(pg_schema: str) -> AsyncIterator[Database]:
    db = await postgres_database(pg_schema)
    yield db
    await db.dispose()


def _row(event_id: str, *, received_at: datetime = NOW) -> NewInboxRow:
    return NewInboxRow("feishu", "t1", event_id, "message", received_at, payload={"text": "帮助", "event_id": event_id},
                       lease_until=received_at + timedelta(seconds=60), lease_owner="replica-a")


async def test_the_server_database_acknowledges_through_its_own_asyncpg_pool(pg_db: Database) -> None:
    assert pg_db.ack_pool is not None
    ids = await record_many(pg_db.ack_pool, [_row("ev-1"), _row("ev-2"), _row("ev-1")])
    assert ids[0] is not None and ids[1] is not None and ids[2] is None
    again = await record_many(pg_db.ack_pool, [_row("ev-2"), _row("ev-3")])
    assert again[0] is None and again[1] is not None
    assert pg_db.ack_pool.statements == 2

    # What it stored reads back through SQLAlchemy as if SQLAlchemy had written it.
    async with pg_db.session() as session:
        row = await session.get(InboxEvent, ids[0])
    assert row is not None
    assert (row.platform, row.tenant_key, row.event_id, row.kind, row.status) == ("feishu", "t1", "ev-1", "message",
                                                                                  "received")
    assert row.payload == {"text": "帮助", "event_id": "ev-1"}
    assert row.received_at == NOW and row.lease_until == NOW + timedelta(seconds=60)
    assert row.lease_owner == "replica-a" and row.attempts == 0


async def test_a_naive_timestamp_is_taken_as_utc_as_everywhere_else(pg_db: Database) -> None:
    assert pg_db.ack_pool is not None
    [row_id] = await record_many(pg_db.ack_pool, [_row("ev-naive", received_at=NOW.replace(tzinfo=None))])
    async with pg_db.session() as session:
        row = await session.get(InboxEvent, row_id)
    assert row is not None and row.received_at == NOW


async def test_sqlalchemy_only_options_in_the_url_are_not_handed_to_asyncpg(pg_schema: str) -> None:
    separator = "&" if "?" in PG_URL else "?"
    pool = AckPool(f"{PG_URL}{separator}prepared_statement_cache_size=50", server_settings={"search_path": pg_schema})
    try:
        search_path = DriverStatement(lambda _dialect: text("SELECT current_setting('search_path') AS path"))
        [record] = await pool.fetch(search_path, {})
        assert record["path"] == pg_schema
    finally:
        await pool.close()


async def test_after_its_connections_are_cut_at_most_one_ack_fails_and_none_after_it(pg_db: Database) -> None:
    pool = pg_db.ack_pool
    assert pool is not None
    # Two connections in the pool, as under load.
    first, second = await _two_backends(pool)
    admin = Database(PG_URL)
    try:
        async with admin.engine.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
                               {"pids": [first, second]})
        failures = 0
        for i in range(6):
            try:
                [row_id] = await record_many(pool, [_row(f"after-{i}")])
            except Exception:  # the one ack a cut may cost: answered 500, and the platform re-sends it
                failures += 1
                assert i == 0, "only the first ack after the cut may fail"
                continue
            assert row_id is not None
        assert failures <= 1
        assert await _backend_pid(pool) not in (first, second)
    finally:
        await admin.dispose()


async def _backend_pid(pool: AckPool) -> int:
    [record] = await pool.fetch(BACKEND, {})
    return int(record["pid"])


async def _two_backends(pool: AckPool) -> tuple[int, int]:
    pids = set(await asyncio.gather(*(_backend_pid(pool) for _ in range(8))))
    while len(pids) < 2:  # a first call may have opened the only connection before the rest asked
        pids |= set(await asyncio.gather(*(_backend_pid(pool) for _ in range(8))))
    first, second = sorted(pids)[:2]
    return first, second


async def test_a_terminated_backend_is_known_lost_by_its_error_before_its_socket_closes(pg_db: Database) -> None:
    """The FATAL a terminated backend sends can arrive before asyncpg sees its socket close: the
    error alone must tell the pool to replace its connections (once seen failing under load)."""
    pool = pg_db.ack_pool
    assert pool is not None
    with pytest.raises(CONNECTION_LOST):
        await pool.fetch(DriverStatement(lambda _dialect: text("SELECT pg_terminate_backend(pg_backend_pid())")), {})
    [row_id] = await record_many(pool, [_row("after-self-termination")])
    assert row_id is not None


async def test_a_connection_given_back_sends_no_reset_query(pg_db: Database) -> None:
    """asyncpg's default release sends `… RESET ALL` (a round trip an ack waited for): the backend's
    last statement is still ours after the pool took the connection back."""
    pool = pg_db.ack_pool
    assert pool is not None
    pid = await _backend_pid(pool)
    async with pg_db.engine.connect() as conn:
        last = (await conn.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})).scalar()
    assert last is not None and "pg_backend_pid()" in last and "RESET ALL" not in last


async def test_a_statement_cancelled_half_way_leaves_no_transaction_open(pg_db: Database) -> None:
    pool = pg_db.ack_pool
    assert pool is not None
    slow = DriverStatement(lambda _dialect: text("SELECT pg_sleep(5)"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.fetch(slow, {}), 0.2)
    # The pool's connections answer at once and commit on their own, as before.
    [row_id] = await record_many(pool, [_row("after-a-cancelled-statement")])
    async with pg_db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM inbox_event WHERE event_id = :id"),
                                     {"id": "after-a-cancelled-statement"})).scalar()
    assert row_id is not None and stored == 1
