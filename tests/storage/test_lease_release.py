"""Giving leases back at a graceful stop: only the stopping process's unfinished rows, on every engine.

Rows this process finished, rows waiting out a retry's backoff and rows another process holds
keep what they have; what it gives back is claimable at once, with no wait for the lease to run out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.leases import release_leases
from storage.db import Database
from storage.repositories import InboxRepository, OutboxRepository
from storage.repositories.inbox import NewInboxRow, record_many
from storage.repositories.outbox import PENDING, SENT, claim_due_rows
from storage.tables import InboxEvent, OutboxMessage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
ME, SIBLING = "me-0000000000001", "sibling-00000002"


async def _ack(db: Database, event_id: str, owner: str) -> int:
    async with db.engine.begin() as conn:
        [row_id] = await record_many(conn, [NewInboxRow("feishu", "t1", event_id, "message", NOW,
                                                        payload={"event_id": event_id}, lease_until=NOW + LEASE,
                                                        lease_owner=owner)])
    assert row_id is not None
    return row_id


async def _inbox(db: Database) -> dict[str, InboxEvent]:
    async with db.session() as session:
        return {row.event_id: row for row in (await session.execute(select(InboxEvent))).scalars()}


async def _outbox(db: Database) -> dict[str, OutboxMessage]:
    async with db.session() as session:
        return {row.idempotency_key: row for row in (await session.execute(select(OutboxMessage))).scalars()}


async def test_the_inbox_gives_back_only_the_owners_unfinished_rows(any_db: Database) -> None:
    held = await _ack(any_db, "held", ME)
    done = await _ack(any_db, "done", ME)
    backing_off = await _ack(any_db, "backing-off", ME)
    await _ack(any_db, "sibling", SIBLING)
    async with any_db.transaction() as session:
        inbox = InboxRepository(session)
        assert await inbox.take_for_effect(done, NOW)
        await inbox.record_failure(backing_off, "boom", NOW, max_attempts=5, retry_at=NOW + timedelta(minutes=5))

    assert (await release_leases(any_db, ME, NOW)).inbox == 1

    rows = await _inbox(any_db)
    assert (rows["held"].lease_until, rows["held"].lease_owner, rows["held"].status) == (None, None, "received")
    assert rows["done"].status == "done"
    assert rows["backing-off"].lease_until == NOW + timedelta(minutes=5)
    assert (rows["sibling"].lease_until, rows["sibling"].lease_owner) == (NOW + LEASE, SIBLING)
    # Claimable at once by anyone, not when the lease would have run out.
    async with any_db.transaction() as session:
        claimed = await InboxRepository(session).claim_unfinished(NOW, limit=10, lease=LEASE, owner=SIBLING)
    assert [row.id for row in claimed] == [held]


async def test_a_replay_claim_names_its_owner_and_is_given_back_by_it_alone(any_db: Database) -> None:
    await _ack(any_db, "orphan", "dead-process-000")
    later = NOW + LEASE
    async with any_db.transaction() as session:
        [claimed] = await InboxRepository(session).claim_unfinished(later, limit=10, lease=LEASE, owner=ME)
    # What the caller learns is who held it before (a replay, not a hand-over); the row names the claimer.
    assert (claimed.event_id, claimed.payload, claimed.lease_owner) == ("orphan", {"event_id": "orphan"},
                                                                        "dead-process-000")
    assert ((await _inbox(any_db))["orphan"].lease_owner, (await _inbox(any_db))["orphan"].lease_until) == (
        ME, later + LEASE)

    # The dead process's token matches nothing now; the claimer's gives the row back.
    assert (await release_leases(any_db, "dead-process-000", later)).inbox == 0
    assert (await release_leases(any_db, ME, later)).inbox == 1
    assert (await _inbox(any_db))["orphan"].lease_until is None


async def _enqueue(db: Database, key: str, *, lease_owner: str | None = None) -> None:
    async with db.transaction() as session:
        await OutboxRepository(session).enqueue_leased(
            tenant_id=None, platform="feishu", tenant_key="t1", chat_id=f"oc_{key}", idempotency_key=key,
            payload={"text": key}, at=NOW, lease_until=NOW + LEASE if lease_owner else None, lease_owner=lease_owner,
        )


async def test_the_outbox_gives_back_only_the_owners_pending_leases(any_db: Database) -> None:
    await _enqueue(any_db, "handed-over", lease_owner=ME)
    await _enqueue(any_db, "sent", lease_owner=ME)
    await _enqueue(any_db, "retrying", lease_owner=ME)
    await _enqueue(any_db, "claimed")
    await _enqueue(any_db, "sibling")
    async with any_db.engine.begin() as conn:
        by_key = {row.idempotency_key: row for row in await claim_due_rows(conn, NOW, limit=1, lease=LEASE, owner=ME)}
    assert set(by_key) == {"claimed"}
    async with any_db.engine.begin() as conn:
        assert len(await claim_due_rows(conn, NOW, limit=10, lease=LEASE, owner=SIBLING)) == 1
    rows = await _outbox(any_db)
    async with any_db.transaction() as session:
        outbox = OutboxRepository(session)
        await outbox.mark_sent(rows["sent"].id or 0, "om_1", NOW)
        await outbox.mark_retry(rows["retrying"].id or 0, "429", NOW + timedelta(minutes=3))

    assert (await release_leases(any_db, ME, NOW)).outbox == 2

    rows = await _outbox(any_db)
    for key in ("handed-over", "claimed"):
        assert (rows[key].status, rows[key].next_attempt_at, rows[key].lease_owner) == (PENDING, NOW, None), key
    assert rows["sent"].status == SENT
    assert rows["retrying"].next_attempt_at == NOW + timedelta(minutes=3)
    assert (rows["sibling"].next_attempt_at, rows["sibling"].lease_owner) == (NOW + LEASE, SIBLING)
    async with any_db.engine.begin() as conn:
        again = await claim_due_rows(conn, NOW, limit=10, lease=LEASE, owner=SIBLING)
    assert {row.idempotency_key for row in again} == {"handed-over", "claimed"}


async def test_a_row_handed_over_behind_a_waiting_one_is_not_leased(any_db: Database) -> None:
    """Queued behind an older due row of its chat, a reply is left to a claim round: nobody owns it."""
    async with any_db.transaction() as session:
        outbox = OutboxRepository(session)
        for key in ("older", "newer"):
            await outbox.enqueue_leased(tenant_id=None, platform="feishu", tenant_key="t1", chat_id="oc_1",
                                        idempotency_key=key, payload={"text": key}, at=NOW,
                                        lease_until=NOW + LEASE if key == "newer" else None, lease_owner=ME)
    rows = await _outbox(any_db)
    assert (rows["newer"].next_attempt_at, rows["newer"].lease_owner) == (NOW, None)
    assert (await release_leases(any_db, ME, NOW)).outbox == 0
