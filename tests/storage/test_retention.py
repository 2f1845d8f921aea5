"""Retention prunes what is finished and old, and never what may still be needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.scheduler.retention import Retention
from storage.db import Database
from storage.repositories import DispatchRepository, InboxRepository, OutboxRepository
from storage.tables import DispatchClaim, InboxEvent, OutboxMessage
from tests.support import make_settings

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


async def _statuses(db: Database, table, column) -> list[tuple[str, str]]:
    async with db.session() as session:
        return sorted((await session.execute(select(table.event_id if table is InboxEvent else
                                                     table.idempotency_key, column))).all())


async def test_old_finished_rows_go_and_everything_still_needed_stays(any_db: Database) -> None:
    async with any_db.transaction() as session:
        inbox = InboxRepository(session)
        for event_id, at, status in [("old-done", OLD, "done"), ("old-failed", OLD, "failed"),
                                     ("old-received", OLD, "received"), ("new-done", RECENT, "done")]:
            row_id = await inbox.record_once("feishu", "t", event_id, "message", at, payload={})
            if status != "received":
                await inbox.mark("feishu", "t", event_id, status, at)
            assert row_id is not None
        outbox = OutboxRepository(session)
        for key, at, status in [("old-sent", OLD, "sent"), ("old-dead", OLD, "dead"),
                                ("old-pending", OLD, "pending"), ("new-sent", RECENT, "sent")]:
            await outbox.enqueue(tenant_id=None, platform="feishu", tenant_key="t", chat_id="c", idempotency_key=key,
                                 payload={}, at=at)
            message = await outbox.by_key(key)
            assert message is not None and message.id is not None
            if status == "sent":
                await outbox.mark_sent(message.id, None, at)
            elif status == "dead":
                await outbox.mark_dead(message.id, "gone")
        claims = DispatchRepository(session)
        await claims.claim("due_soon", "task:1", "p-old", OLD)
        await claims.claim("due_soon", "task:1", "p-new", RECENT)

    removed = await Retention(any_db, make_settings(retention_days=30)).run(NOW)

    assert removed == 5
    assert [e for e, _ in await _statuses(any_db, InboxEvent, InboxEvent.status)] == ["new-done", "old-received"]
    assert [k for k, _ in await _statuses(any_db, OutboxMessage, OutboxMessage.status)] == ["new-sent", "old-pending"]
    async with any_db.session() as session:
        assert (await session.execute(select(func.count()).select_from(DispatchClaim))).scalar_one() == 1
    assert await Retention(any_db, make_settings(retention_days=30)).run(NOW) == 0
