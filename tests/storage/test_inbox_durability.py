"""The inbox's durability contract: payload kept, effect taken once, failures counted, replays leased."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.repositories import InboxRepository
from storage.tables import InboxEvent

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def _record(db: Database, event_id: str, *, lease_until: datetime | None = None) -> int:
    async with db.transaction() as session:
        row_id = await InboxRepository(session).record_once(
            "feishu", "t1", event_id, "message", NOW, payload={"event_id": event_id}, lease_until=lease_until
        )
    assert row_id is not None
    return row_id


async def _row(db: Database, row_id: int) -> InboxEvent:
    async with db.session() as session:
        row = await session.get(InboxEvent, row_id)
    assert row is not None
    return row


async def test_the_payload_is_stored_with_the_row(any_db: Database) -> None:
    row = await _row(any_db, await _record(any_db, "ev-1"))
    assert row.payload == {"event_id": "ev-1"}
    assert row.status == "received" and row.attempts == 0


async def test_the_effect_is_taken_once_and_a_rollback_gives_it_back(any_db: Database) -> None:
    row_id = await _record(any_db, "ev-1")
    try:
        async with any_db.transaction() as session:
            assert await InboxRepository(session).take_for_effect(row_id, NOW)
            raise RuntimeError("the effect failed")
    except RuntimeError:
        pass
    assert (await _row(any_db, row_id)).status == "received"
    async with any_db.transaction() as session:
        assert await InboxRepository(session).take_for_effect(row_id, NOW)
    async with any_db.transaction() as session:
        assert not await InboxRepository(session).take_for_effect(row_id, NOW)
    assert (await _row(any_db, row_id)).status == "done"


async def test_concurrent_takers_get_one_effect(any_db: Database) -> None:
    row_id = await _record(any_db, "ev-race")

    async def take() -> bool:
        async with any_db.transaction() as session:
            won = await InboxRepository(session).take_for_effect(row_id, NOW)
            await asyncio.sleep(0)  # yield while holding the row, as a real effect would
            return won

    results = await asyncio.gather(*(take() for _ in range(10)))
    assert results.count(True) == 1


async def test_failures_are_counted_then_given_up(any_db: Database) -> None:
    row_id = await _record(any_db, "ev-fail")
    outcomes = []
    for _ in range(3):
        async with any_db.transaction() as session:
            outcomes.append(await InboxRepository(session).record_failure(
                row_id, "RuntimeError: boom", NOW, max_attempts=3, retry_at=NOW + timedelta(seconds=10)
            ))
    assert outcomes == [(1, False), (2, False), (3, True)]
    row = await _row(any_db, row_id)
    assert row.status == "failed" and row.last_error == "RuntimeError: boom" and row.lease_until is None


async def test_only_expired_leases_are_claimed_and_each_by_one_claimer(any_db: Database) -> None:
    leased = await _record(any_db, "ev-leased", lease_until=NOW + LEASE)
    expired = [await _record(any_db, f"ev-{i}", lease_until=NOW - timedelta(seconds=1)) for i in range(6)]
    done = await _record(any_db, "ev-done")
    async with any_db.transaction() as session:
        await InboxRepository(session).take_for_effect(done, NOW)

    async def claim() -> list[int]:
        async with any_db.transaction() as session:
            rows = await InboxRepository(session).claim_unfinished(NOW, limit=50, lease=LEASE)
        return [row.id or 0 for row in rows]

    first, second = await asyncio.gather(claim(), claim())
    assert sorted(first + second) == sorted(expired)
    assert leased not in first + second
    # Now leased to the claimer: nobody else takes them until the lease runs out.
    assert await claim() == []
    async with any_db.transaction() as session:
        later = await InboxRepository(session).claim_unfinished(NOW + LEASE * 2, limit=50, lease=LEASE)
    assert sorted(row.id or 0 for row in later) == sorted([*expired, leased])
