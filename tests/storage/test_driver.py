"""Hot statements run on the driver (storage/driver.py), inside SQLAlchemy's transaction.

They must store what SQLAlchemy Core stores for the same statement, commit and roll back with the
caller's transaction even when they are its first statement (SQLAlchemy's asyncpg adapter opens
its transaction lazily), and report the rows they changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError, PendingRollbackError

from storage.db import Database
from storage.driver import DriverStatement, commits_on_driver, connection_of, statements_on_driver
from storage.repositories import InboxRepository, OutboxRepository, TaskRepository
from storage.repositories.inbox import NewInboxRow, record_many
from storage.repositories.outbox import _insert_statement, mark_many_sent
from storage.tables import InboxEvent, OutboxMessage, Task

AT = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
STORED = "tenant_id, platform, tenant_key, chat_id, payload, status, attempts, next_attempt_at, task_code, " \
         "created_at, lease_owner"


class Boom(Exception):
    pass


def _message(key: str) -> dict[str, Any]:
    return dict(tenant_id=None, platform="feishu", tenant_key="t-driver", chat_id="oc_1", idempotency_key=key,
                payload={"text": "好", "嵌套": {"列表": [1, 2]}}, at=AT, task_code="TJ-1")


async def _stored(db: Database, key: str) -> tuple[Any, ...] | None:
    async with db.session() as session:
        row = (await session.execute(text(f"SELECT {STORED} FROM outbox_message WHERE idempotency_key = :key"),
                                     {"key": key})).first()
    return None if row is None else tuple(row)


async def test_a_reply_queued_on_the_driver_is_stored_as_sqlalchemy_core_stores_it(any_db: Database) -> None:
    before = statements_on_driver(any_db.engine)
    async with any_db.transaction() as session:
        assert await OutboxRepository(session).enqueue(**_message("drv-driver"))
    assert statements_on_driver(any_db.engine) == before + 1
    async with any_db.engine.begin() as conn:
        await conn.execute(_insert_statement(conn.dialect.name, leased=False), _message("drv-core"))
    driver, core = await _stored(any_db, "drv-driver"), await _stored(any_db, "drv-core")
    assert driver is not None and driver == core
    async with any_db.session() as session:
        row = (await session.execute(select(OutboxMessage).where(OutboxMessage.idempotency_key == "drv-driver"))
               ).scalar_one()
    assert row.payload == {"text": "好", "嵌套": {"列表": [1, 2]}}
    assert row.next_attempt_at == AT and row.created_at == AT and row.status == "pending"


async def test_a_driver_statement_first_in_a_transaction_rolls_back_with_it(any_db: Database) -> None:
    # Nothing before it in the transaction: on PostgreSQL it must open the transaction itself.
    with pytest.raises(Boom):
        async with any_db.transaction() as session:
            assert await OutboxRepository(session).enqueue(**_message("drv-rolled-back"))
            raise Boom
    assert await _stored(any_db, "drv-rolled-back") is None


async def test_replies_marked_sent_by_the_worker_are_committed_at_once_as_core_marks_them(any_db: Database) -> None:
    # How the delivery worker marks replies sent: one statement, its own transaction, on
    # PostgreSQL's autocommit pool and on SQLite's engine (one call into aiosqlite's thread).
    queued = []
    async with any_db.transaction() as session:
        for key in ("drv-sent-1", "drv-sent-2", "drv-sent-core"):
            row = await OutboxRepository(session).enqueue_leased(**_message(key))
            assert row is not None
            queued.append(row.id)
    statements, commits = statements_on_driver(any_db.engine), commits_on_driver(any_db.engine)
    pool_statements = any_db.ack_pool.statements if any_db.ack_pool is not None else 0
    await mark_many_sent(any_db.one_statement_target, [])  # nothing to mark: no statement
    await mark_many_sent(any_db.one_statement_target, [(queued[0], "om_1", AT), (queued[1], None, AT)])
    if any_db.ack_pool is not None:
        assert any_db.ack_pool.statements == pool_statements + 1
    else:
        assert (statements_on_driver(any_db.engine), commits_on_driver(any_db.engine)) == (statements + 1, commits + 1)
        async with any_db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None and not raw.driver_connection.in_transaction
    async with any_db.engine.begin() as conn:  # the same through SQLAlchemy Core, in its transaction
        await mark_many_sent(conn, [(queued[2], "om_1", AT)])

    sent = "status, platform_message_id, sent_at, last_error, attempts"
    async with any_db.session() as other:
        rows = [tuple(row) for row in (await other.execute(text(
            f"SELECT {sent} FROM outbox_message WHERE id IN (:a, :b, :c) ORDER BY id"),
            {"a": queued[0], "b": queued[1], "c": queued[2]})).all()]
        orm = (await other.execute(select(OutboxMessage).where(OutboxMessage.id == queued[1]))).scalar_one()
    assert rows[0] == rows[2] and rows[0][:2] == ("sent", "om_1")  # what Core stores, byte for byte
    assert rows[1][:2] == ("sent", None)
    assert (orm.status, orm.sent_at) == ("sent", AT)


async def test_taking_an_event_changes_it_once_and_rolls_back_with_the_effect(any_db: Database) -> None:
    [row_id] = await _record(any_db, "drv-take")
    with pytest.raises(Boom):
        async with any_db.transaction() as session:
            assert await InboxRepository(session).take_for_effect(row_id, AT)
            raise Boom
    async with any_db.session() as session:
        row = await session.get(InboxEvent, row_id)
        assert row is not None and row.status == "received" and row.processed_at is None
    async with any_db.transaction() as session:
        assert await InboxRepository(session).take_for_effect(row_id, AT)
    async with any_db.transaction() as session:
        assert not await InboxRepository(session).take_for_effect(row_id, AT)
    async with any_db.session() as session:
        row = await session.get(InboxEvent, row_id)
        assert row is not None and row.status == "done" and row.processed_at == AT


async def _record(db: Database, event_id: str) -> list[int]:
    row = NewInboxRow("feishu", "t-driver", event_id, "message", AT, payload={"text": "帮助"},
                      lease_until=AT + timedelta(seconds=60), lease_owner="o")
    async with db.engine.begin() as conn:
        ids = await record_many(db.ack_pool or conn, [row])
    assert ids[0] is not None
    return [ids[0]]


def test_an_in_list_is_refused_rather_than_sent_wrong() -> None:
    statement = DriverStatement(lambda _dialect: select(OutboxMessage.id).where(
        OutboxMessage.id.in_(bindparam("ids", expanding=True))))  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="expanding"):
        statement._for(postgresql.asyncpg.dialect())  # type: ignore[attr-defined]


async def test_a_failing_driver_statement_raises_sqlalchemys_error_without_the_values(any_db: Database) -> None:
    secret_title = "机密项目代号-青龙"
    async with any_db.transaction() as session:
        tenant = (await session.execute(text(
            "INSERT INTO tenant (platform, tenant_key, name, task_code_prefix) VALUES ('drv', 'x', '', 'X') "
            "RETURNING id"))).scalar_one()
        await TaskRepository(session, tenant).add(Task(code="DRV1", title=secret_title))
    with pytest.raises(IntegrityError) as caught:
        async with any_db.transaction() as session:
            await TaskRepository(session, tenant).add(Task(code="DRV1", title=secret_title))
    # Logged failures carry no user text (storage/db.py hides parameters everywhere).
    assert secret_title not in str(caught.value)


async def test_the_connection_of_a_session_is_its_transactions_and_asked_again_for_the_next(any_db: Database) -> None:
    async with any_db.session() as session:
        first = await connection_of(session)
        assert await connection_of(session) is first is await session.connection()
        await session.commit()  # the next transaction may be on another pooled connection
        second = await connection_of(session)
        assert second is await session.connection()
        assert (await second.execute(select(1))).scalar_one() == 1
        await session.rollback()
        third = await connection_of(session)
        assert third is await session.connection() and not third.closed


async def test_after_a_failed_flush_the_connection_is_refused_as_sqlalchemy_refuses_it(any_db: Database) -> None:
    async with any_db.session() as session:
        await connection_of(session)
        session.add(InboxEvent(platform="feishu", tenant_key="t", event_id="dup", kind="message"))
        session.add(InboxEvent(platform="feishu", tenant_key="t", event_id="dup", kind="message"))
        with pytest.raises(IntegrityError):
            await session.flush()
        with pytest.raises(PendingRollbackError):
            await session.connection()
        with pytest.raises(PendingRollbackError):
            await connection_of(session)
        await session.rollback()
        assert (await (await connection_of(session)).execute(select(1))).scalar_one() == 1
