"""A PostgreSQL schema of a benchmark run's own: created (and migrated) before, dropped after."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from history import migrated_with_history
from sqlalchemy import text

from storage.db import Database


async def create_schema(url: str, schema: str, *, migrate: bool = True, history: int = 0) -> None:
    admin = Database(url)
    try:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        await admin.dispose()
    if migrate:
        await migrated_with_history(url, history, schema=schema)


async def drop_schema(url: str, schema: str) -> None:
    admin = Database(url)
    try:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()
