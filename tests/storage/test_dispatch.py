"""Dispatch claims on both engines: one winner per key, even racing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from storage.db import Database
from storage.repositories import DispatchRepository

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


async def _claim(db: Database, key: tuple[str, str, str]) -> bool:
    async with db.transaction() as session:
        return await DispatchRepository(session).claim(*key, NOW)


async def test_one_claim_per_key(any_db: Database) -> None:
    key = ("overdue", "task:1", "2026-11-24")
    assert await _claim(any_db, key) is True
    assert await _claim(any_db, key) is False
    assert await _claim(any_db, ("overdue", "task:1", "2026-11-25")) is True
    assert await _claim(any_db, ("due_soon", "task:1", "2026-11-24")) is True


async def test_racing_replicas_get_one_winner(any_db: Database) -> None:
    key = ("due_soon", "task:7", "2026-11-26T10:00:00+00:00")
    results = await asyncio.gather(*(_claim(any_db, key) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_already_claimed_reads_many_keys_at_once(any_db: Database) -> None:
    await _claim(any_db, ("overdue", "task:1", "2026-11-24"))
    await _claim(any_db, ("overdue", "task:2", "2026-11-24"))
    async with any_db.session() as session:
        taken = await DispatchRepository(session).already_claimed([
            ("overdue", "task:1", "2026-11-24"), ("overdue", "task:2", "2026-11-23"),
            ("overdue", "task:3", "2026-11-24"), ("overdue", "task:2", "2026-11-24"),
        ])
        assert taken == {("overdue", "task:1", "2026-11-24"), ("overdue", "task:2", "2026-11-24")}
        assert await DispatchRepository(session).already_claimed([]) == set()
