"""The inbox (seen-once events) and the outbox (leased, retried deliveries), on every engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.repositories import InboxRepository, OutboxRepository
from storage.repositories.outbox import DEAD, PENDING, SENT
from storage.tables import InboxEvent, OutboxMessage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))
LEASE = timedelta(minutes=5)


async def _record(db: Database, platform: str, tenant_key: str, event_id: str) -> bool:
    async with db.transaction() as session:
        return await InboxRepository(session).record_once(platform, tenant_key, event_id, "message", NOW) is not None


async def test_record_once_is_true_then_false(any_db: Database) -> None:
    assert await _record(any_db, "feishu", "t1", "ev-1") is True
    assert await _record(any_db, "feishu", "t1", "ev-1") is False
    # Any part of the key that differs makes it a different event.
    assert await _record(any_db, "feishu", "t1", "ev-2") is True
    assert await _record(any_db, "feishu", "t2", "ev-1") is True
    assert await _record(any_db, "dingtalk", "t1", "ev-1") is True
    # Over-long ids are cut to the column width, consistently.
    long_id = "x" * 300
    assert await _record(any_db, "feishu", "t1", long_id) is True
    assert await _record(any_db, "feishu", "t1", long_id) is False


async def test_inbox_mark_and_timestamps(any_db: Database) -> None:
    assert await _record(any_db, "feishu", "t1", "ev-1")
    done = datetime(2026, 11, 23, 10, 0, 5, tzinfo=SHANGHAI)
    async with any_db.transaction() as session:
        await InboxRepository(session).mark("feishu", "t1", "ev-1", "processed", done)
    async with any_db.session() as session:
        row = (await session.execute(select(InboxEvent))).scalar_one()
    assert row.status == "processed"
    assert row.received_at == NOW and row.received_at.utcoffset() == timedelta(0)
    assert row.processed_at == done and row.processed_at.utcoffset() == timedelta(0)


async def test_concurrent_duplicate_events_are_recorded_once(any_db: Database) -> None:
    results = await asyncio.gather(*(_record(any_db, "feishu", "t1", "ev-dup") for _ in range(10)))
    assert results.count(True) == 1
    assert results.count(False) == 9
    async with any_db.session() as session:
        count = (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one()
    assert count == 1


async def _enqueue(
    db: Database, key: str, *, at: datetime = NOW, tenant_id: int | None = None, chat_id: str = "oc_1",
    task_code: str | None = None, payload: dict[str, Any] | None = None,
) -> bool:
    async with db.transaction() as session:
        return await OutboxRepository(session).enqueue(
            tenant_id=tenant_id, platform="feishu", tenant_key="t1", chat_id=chat_id,
            idempotency_key=key, payload=payload or {"text": key}, at=at, task_code=task_code,
        )


async def _claim(db: Database, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return await OutboxRepository(session).claim_due(now, limit=limit, lease=LEASE)


async def _by_key(db: Database, key: str) -> OutboxMessage:
    async with db.session() as session:
        message = await OutboxRepository(session).by_key(key)
    assert message is not None
    return message


async def test_enqueue_is_idempotent_by_key(any_db: Database) -> None:
    assert await _enqueue(any_db, "k1", payload={"text": "第一次"}) is True
    assert await _enqueue(any_db, "k1", payload={"text": "第二次"}) is False
    message = await _by_key(any_db, "k1")
    assert message.payload == {"text": "第一次"}
    assert message.status == PENDING and message.attempts == 0
    assert message.next_attempt_at == NOW and message.created_at == NOW
    async with any_db.session() as session:
        assert await OutboxRepository(session).by_key("k2") is None
        assert await OutboxRepository(session).get(message.id or 0) is not None


async def test_claim_due_takes_only_due_rows_and_leases_them(any_db: Database) -> None:
    await _enqueue(any_db, "past", at=NOW - timedelta(minutes=1))
    await _enqueue(any_db, "now", at=NOW)
    await _enqueue(any_db, "later", at=NOW + timedelta(hours=1))

    claimed = await _claim(any_db, NOW)
    assert [m.idempotency_key for m in claimed] == ["past", "now"]
    assert all(m.attempts == 1 for m in claimed)
    assert all(m.next_attempt_at == NOW + LEASE for m in claimed)

    # Leased: claiming again right away gets nothing, even a little later.
    assert await _claim(any_db, NOW) == []
    assert await _claim(any_db, NOW + LEASE - timedelta(seconds=1)) == []

    # When the lease runs out (nobody marked them), they come back.
    again = await _claim(any_db, NOW + LEASE)
    assert [m.idempotency_key for m in again] == ["past", "now"]
    assert all(m.attempts == 2 for m in again)


async def test_claim_due_respects_limit_and_compares_instants_across_zones(any_db: Database) -> None:
    for n in range(5):
        await _enqueue(any_db, f"k{n}", at=NOW)
    # 10:00 in Shanghai is the same instant as NOW.
    first = await _claim(any_db, NOW.astimezone(SHANGHAI), limit=2)
    assert [m.idempotency_key for m in first] == ["k0", "k1"]
    rest = await _claim(any_db, NOW, limit=10)
    assert [m.idempotency_key for m in rest] == ["k2", "k3", "k4"]
    # One second before the due time in Shanghai is not due.
    await _enqueue(any_db, "k5", at=NOW)
    assert await _claim(any_db, NOW.astimezone(SHANGHAI) - timedelta(seconds=1)) == []


async def test_concurrent_claims_never_return_the_same_row_twice(any_db: Database) -> None:
    keys = [f"k{n:02d}" for n in range(20)]
    for key in keys:
        await _enqueue(any_db, key)
    batches = await asyncio.gather(*(_claim(any_db, NOW, limit=20) for _ in range(4)))
    ids = [m.id for batch in batches for m in batch]
    assert len(ids) == len(set(ids))
    assert sorted(m.idempotency_key for batch in batches for m in batch) == keys
    async with any_db.session() as session:
        attempts = (await session.execute(select(OutboxMessage.attempts))).scalars().all()
    assert attempts == [1] * 20


async def test_mark_sent_retry_dead_and_counts(any_db: Database) -> None:
    for key in ("sent", "retry", "dead", "waiting"):
        await _enqueue(any_db, key)
    claimed = {m.idempotency_key: m.id or 0 for m in await _claim(any_db, NOW, limit=3)}
    assert set(claimed) == {"sent", "retry", "dead"}

    sent_at = datetime(2026, 11, 23, 10, 0, 1, tzinfo=SHANGHAI)
    retry_at = NOW + timedelta(minutes=2)
    async with any_db.transaction() as session:
        outbox = OutboxRepository(session)
        await outbox.mark_retry(claimed["sent"], "timeout", NOW + timedelta(minutes=1))
        await outbox.mark_sent(claimed["sent"], "om_123", sent_at)
        await outbox.mark_retry(claimed["retry"], "E" * 600, retry_at)
        await outbox.mark_dead(claimed["dead"], "chat not found")

    sent = await _by_key(any_db, "sent")
    assert (sent.status, sent.platform_message_id, sent.last_error) == (SENT, "om_123", None)
    assert sent.sent_at == sent_at and sent.sent_at.utcoffset() == timedelta(0)
    retry = await _by_key(any_db, "retry")
    assert retry.status == PENDING and retry.next_attempt_at == retry_at
    assert retry.last_error == "E" * 500
    dead = await _by_key(any_db, "dead")
    assert (dead.status, dead.last_error) == (DEAD, "chat not found")

    async with any_db.session() as session:
        outbox = OutboxRepository(session)
        assert await outbox.counts_by_status() == {PENDING: 2, SENT: 1, DEAD: 1}

    # Sent and dead rows are never claimed again; the retried one is, once due.
    assert [m.idempotency_key for m in await _claim(any_db, NOW + timedelta(days=1))] == ["retry", "waiting"]
