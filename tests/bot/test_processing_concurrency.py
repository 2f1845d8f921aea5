"""How many events a process works on at once: set, or by database (bot/pipeline.py)."""

from __future__ import annotations

from pathlib import Path

from bot.pipeline import processing_concurrency
from storage.db import Database
from tests.support import make_settings


async def test_unset_it_is_two_on_sqlite_and_four_on_postgresql(tmp_path: Path) -> None:
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}")
    postgres = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # never connected
    try:
        settings = make_settings()
        assert settings.inbox.concurrency is None
        assert processing_concurrency(settings, sqlite) == 2
        assert processing_concurrency(settings, postgres) == 4
        chosen = make_settings(inbox={"concurrency": 3})
        assert processing_concurrency(chosen, sqlite) == processing_concurrency(chosen, postgres) == 3
    finally:
        await sqlite.dispose()
        await postgres.dispose()
