"""The queue tables' statements find their rows by index, however many finished rows the table holds.

PostgreSQL plans a statement prepared with parameters once for all values (a generic plan) after
a few executions; asyncpg prepares every statement. With an index on (status, …) that plan took
an event by walking every unprocessed row of a backlog instead of the primary key, and marking
replies sent scanned the whole outbox. These tests ask PostgreSQL for the generic plan of each
hot statement exactly as the repositories send it, on tables full of finished rows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import driver
from storage.db import Database
from storage.repositories import InboxRepository, OutboxRepository
from storage.repositories.outbox import claim_due_rows, mark_many_sent
from tests.conftest import needs_postgres, postgres_database

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
# A day of a busy bot's history, as bench/run.py seeds. With 3,000 rows and statistics from the
# empty tables, PostgreSQL 15.20 rightly found a scan of the outbox's few pages cheaper than ten
# primary-key lookups for a generic `id = ANY($1)`; the plan these tests guard is for full tables.
ROWS = 20_000


async def _fill(conn: AsyncConnection, *, settled: bool) -> None:
    """Thousands of finished rows, then the newest few still open.

    Settled: statistics gathered over them. Fresh: statistics from when the tables were empty, as
    on a new installation taking its first burst before autovacuum has looked at them.
    """
    if not settled:
        await conn.execute(text("ANALYZE inbox_event"))
        await conn.execute(text("ANALYZE outbox_message"))
    await conn.execute(text(
        "INSERT INTO inbox_event (platform, tenant_key, event_id, kind, received_at, status, payload, attempts) "
        "SELECT 'feishu', 't', 'e' || g, 'message', now(), CASE WHEN g > :n - :n / 50 THEN 'received' ELSE 'done' END, "
        "'{\"a\": 1}', 0 FROM generate_series(1, :n) g"), {"n": ROWS})
    await conn.execute(text(
        "INSERT INTO outbox_message (platform, tenant_key, chat_id, idempotency_key, payload, status, attempts, "
        "next_attempt_at, created_at) SELECT 'feishu', 't', 'c' || (g % 50), 'k' || g, '{\"a\": 1}', "
        "CASE WHEN g > :n - :n / 50 THEN 'pending' ELSE 'sent' END, 1, now(), now() FROM generate_series(1, :n) g"),
        {"n": ROWS})
    if settled:
        await conn.execute(text("ANALYZE inbox_event"))
        await conn.execute(text("ANALYZE outbox_message"))


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        value = json.dumps(value)
    return "'" + str(value).replace("'", "''") + "'"


class Sent:
    """The statements a block of code sends, with their parameters, as asyncpg receives them."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self._on_driver(statement, parameters)

    def _on_driver(self, statement: str, parameters: Any) -> None:
        self.statements.append((statement, tuple(parameters or ())))

    def __enter__(self) -> Sent:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._seen)
        driver.watch(self.engine, self._on_driver)  # the hot statements skip SQLAlchemy (storage/driver.py)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._seen)
        driver.unwatch(self.engine, self._on_driver)

    def one(self, starts: str) -> tuple[str, tuple[Any, ...]]:
        found = [s for s in self.statements if s[0].lstrip().upper().startswith(starts)]
        assert len(found) == 1, self.statements
        return found[0]


async def _generic_plan(db: Database, sent: tuple[str, tuple[Any, ...]]) -> str:
    """The plan PostgreSQL caches for the statement once it stops planning it per call."""
    sql, parameters = sent
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SET plan_cache_mode = force_generic_plan")
        await raw.execute(f"PREPARE hot AS {sql}")
        try:
            rows = await raw.fetch(f"EXPLAIN EXECUTE hot({', '.join(_literal(p) for p in parameters)})")
        finally:
            await raw.execute("DEALLOCATE hot")
            await raw.execute("RESET plan_cache_mode")
    return "\n".join(row[0] for row in rows)


@pytest.fixture(params=["fresh", "settled"])
async def filled(request: pytest.FixtureRequest, pg_schema: str) -> AsyncIterator[Database]:
    """PostgreSQL only: SQLite plans a statement when it is prepared, with no generic plan to go wrong."""
    db = await postgres_database(pg_schema)
    async with db.engine.begin() as conn:
        await _fill(conn, settled=request.param == "settled")
    yield db
    await db.dispose()


@needs_postgres
async def test_taking_an_event_goes_by_its_primary_key(filled: Database) -> None:
    with Sent(filled) as sent:
        async with filled.transaction() as session:
            assert await InboxRepository(session).take_for_effect(ROWS, NOW)
    plan = await _generic_plan(filled, sent.one("UPDATE INBOX_EVENT"))
    assert "inbox_event_pkey" in plan, plan
    assert "ix_inbox_open" not in plan and "Seq Scan" not in plan, plan


@needs_postgres
async def test_marking_replies_sent_goes_by_the_primary_key(filled: Database) -> None:
    with Sent(filled) as sent:
        async with filled.engine.begin() as conn:
            await mark_many_sent(conn, [(ROWS - 1, "m1", NOW), (ROWS - 2, "m2", NOW)])
    plan = await _generic_plan(filled, sent.one("UPDATE OUTBOX_MESSAGE"))
    assert "outbox_message_pkey" in plan, plan
    assert "Seq Scan on outbox_message" not in plan, plan


@needs_postgres
async def test_a_new_reply_checks_its_chat_among_the_open_rows_only(filled: Database) -> None:
    with Sent(filled) as sent:
        async with filled.transaction() as session:
            queued = await OutboxRepository(session).enqueue_leased(
                tenant_id=None, platform="feishu", tenant_key="t", chat_id="c7", idempotency_key="new",
                payload={"text": "好"}, at=NOW, lease_until=NOW + timedelta(minutes=1))
            assert queued is not None
    plan = await _generic_plan(filled, sent.one("INSERT INTO OUTBOX_MESSAGE"))
    assert "ix_outbox_open_chat" in plan, plan
    assert "Seq Scan on outbox_message" not in plan, plan


@needs_postgres
async def test_claims_read_the_open_rows_only(filled: Database) -> None:
    later = NOW + timedelta(days=3650)
    with Sent(filled) as sent:
        async with filled.engine.begin() as conn:
            assert len(await claim_due_rows(conn, later, limit=5, lease=timedelta(minutes=1))) == 5
        async with filled.transaction() as session:
            assert len(await InboxRepository(session).claim_unfinished(later, limit=5, lease=timedelta(minutes=1))) == 5
    outbox = await _generic_plan(filled, sent.one("WITH DUE"))
    # Either of the outbox's partial indexes holds the open rows only. With statistics from empty
    # tables ("fresh") the two cost the same to the planner, which took one or the other from run
    # to run.
    assert "ix_outbox_open " in outbox or "ix_outbox_open_chat " in outbox, outbox
    assert "Seq Scan on outbox_message" not in outbox, outbox
    inbox = await _generic_plan(filled, sent.one("WITH PICKED"))
    assert "ix_inbox_open" in inbox and "Seq Scan on inbox_event" not in inbox, inbox
