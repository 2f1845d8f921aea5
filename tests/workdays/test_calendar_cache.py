"""Tenants' calendars kept per process: read once, read again after any change to 假期 or 调休."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import event

from bot.workdays.tenant import CalendarCache
from storage.db import Database
from storage.repositories import CalendarRepository, TenantRepository

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def test_a_kept_calendar_is_read_again_once_the_tenant_changes_it(any_db: Database) -> None:
    statements: list[str] = []
    cache = CalendarCache()
    async with any_db.transaction() as session:
        tenant = await TenantRepository(session).ensure("console", "cache-co", code_prefix="XZB")
    assert tenant.id is not None

    async def calendar_now() -> bool:
        """Whether 2026-12-01 (a Tuesday) is a working day, as the cache says with a fresh tenant row."""
        async with any_db.session() as session:
            row = (await TenantRepository(session).by_ids([tenant.id or 0]))[tenant.id or 0]
            event.listen(any_db.engine.sync_engine, "before_cursor_execute", record)
            try:
                return (await cache.get(session, row)).is_working_day(date(2026, 12, 1))
            finally:
                event.remove(any_db.engine.sync_engine, "before_cursor_execute", record)

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    assert await calendar_now() is True
    assert len(statements) == 1  # read once
    assert await calendar_now() is True
    assert len(statements) == 1  # then kept
    async with any_db.transaction() as session:
        await CalendarRepository(session, tenant.id).set_days([date(2026, 12, 1)], workday=False, name="团建",
                                                              by=None, at=NOW)
    assert await calendar_now() is False  # the version moved: read again
    assert len(statements) == 2
