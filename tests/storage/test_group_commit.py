"""Group commit on the acknowledgement path: concurrent inserts share a statement, dedupe stays exact."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from storage.batch import GroupCommit
from storage.db import Database
from storage.repositories.inbox import NewInboxRow, record_many

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _row(event_id: str, tenant_key: str = "t1") -> NewInboxRow:
    return NewInboxRow("feishu", tenant_key, event_id, "message", NOW, payload={"event_id": event_id})


async def test_concurrent_callers_share_one_flush_and_each_gets_its_own_answer() -> None:
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0)
        return [i * 10 for i in items]

    writer: GroupCommit[int, int] = GroupCommit(flush)
    results = await asyncio.gather(*(writer.submit(i) for i in range(20)))
    assert results == [i * 10 for i in range(20)]
    assert batches == [list(range(20))]
    # A lone caller later is flushed at once, on its own.
    assert await writer.submit(7) == 70
    assert batches[-1] == [7]


async def test_callers_arriving_during_a_flush_go_together_in_the_next() -> None:
    release = asyncio.Event()
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        if len(batches) == 1:
            await release.wait()
        return items

    writer: GroupCommit[int, int] = GroupCommit(flush, max_batch=3)
    first = asyncio.ensure_future(writer.submit(0))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(writer.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(first, *later) == list(range(6))
    assert batches == [[0], [1, 2, 3], [4, 5]]


async def test_a_failed_flush_fails_every_caller_of_that_batch_only() -> None:
    calls = 0

    async def flush(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return items

    writer: GroupCommit[int, int] = GroupCommit(flush)
    results = await asyncio.gather(*(writer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await writer.submit(9) == 9


async def test_settled_waits_for_a_flush_whose_caller_gave_up() -> None:
    """A request cancelled mid-ack leaves its insert running: a stop must wait for it to land."""
    release = asyncio.Event()
    stored: list[int] = []

    async def flush(items: list[int]) -> list[int]:
        await release.wait()
        stored.extend(items)
        return items

    writer: GroupCommit[int, int] = GroupCommit(flush)
    caller = asyncio.ensure_future(writer.submit(1))
    await asyncio.sleep(0)
    caller.cancel()
    settled = asyncio.ensure_future(writer.settled())
    await asyncio.sleep(0.01)
    assert not settled.done()
    release.set()
    await asyncio.wait_for(settled, 1)
    assert stored == [1]


async def _record(db: Database, rows: list[NewInboxRow]) -> list[int | None]:
    """As the server stores acks: PostgreSQL through the acks' own asyncpg pool, SQLite on its engine."""
    return await record_many(db.one_statement_target, rows)


@pytest.mark.parametrize("through_engine", [False, True])
async def test_record_many_is_exact_about_what_is_new(any_db: Database, through_engine: bool) -> None:
    async def record(rows: list[NewInboxRow]) -> list[int | None]:
        if not through_engine:
            return await _record(any_db, rows)
        async with any_db.engine.begin() as conn:  # the per-row statement, on either database
            return await record_many(conn, rows)

    first = await record([_row("ev-1"), _row("ev-2"), _row("ev-1"), _row("ev-1", "t2")])
    assert first[0] is not None and first[1] is not None and first[3] is not None
    assert first[2] is None  # the same event twice in one batch is new once
    assert len({first[0], first[1], first[3]}) == 3
    again = await record([_row("ev-2"), _row("ev-3"), _row("ev-1", "t2")])
    assert again[0] is None and again[2] is None and again[1] is not None


@pytest.mark.parametrize("copies", [2, 8])
async def test_concurrent_deliveries_of_one_event_through_the_writer_are_new_once(any_db: Database,
                                                                                   copies: int) -> None:
    async def flush(rows: list[NewInboxRow]) -> list[int | None]:
        return await _record(any_db, rows)

    writers = [GroupCommit(flush), GroupCommit(flush)]  # two "replicas"
    results = await asyncio.gather(*(writers[i % 2].submit(_row("ev-dup")) for i in range(copies)))
    assert sum(1 for r in results if r is not None) == 1
