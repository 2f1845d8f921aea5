"""Yesterday's traffic in the queue tables before a run: a server that has been up for a while.

A real deployment keeps processed events and sent messages for the retention period (30 days), so
its inbox and outbox hold mostly finished rows, and PostgreSQL's autovacuum has gathered
statistics over them. A benchmark on empty tables measures a new installation's first minutes
instead, with query plans made for empty tables (and this machine's PostgreSQL runs with
autovacuum off, so they would stay so). `seed_history` writes `rows` finished events and sent
messages, a day old, under a tenant of their own, and analyses the tables; `migrated_with_history`
migrates a database first, as `tuijin db upgrade` would before the server starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from storage.db import Database

HISTORY_TENANT = "tenant_history"
# A reply card's size, about what the benchmark's replies carry.
PAYLOAD = '{"card": "' + "历史" * 600 + '"}'


async def seed_history(db: Database, rows: int) -> None:
    if rows <= 0:
        return
    ago = "now() - interval '1 day'" if not db.is_sqlite else "datetime('now', '-1 day')"
    series = ("generate_series(1, :n) AS s(g)" if not db.is_sqlite else
              "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) SELECT g FROM s)")
    async with db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO inbox_event (platform, tenant_key, event_id, kind, received_at, processed_at, status, "
            f"payload, attempts) SELECT 'feishu', '{HISTORY_TENANT}', 'history-' || g, 'message', {ago}, {ago}, "
            f"'done', :payload, 0 FROM {series}"), {"n": rows, "payload": '{"text": "历史"}'})
        await conn.execute(text(
            "INSERT INTO outbox_message (platform, tenant_key, chat_id, idempotency_key, payload, status, attempts, "
            f"next_attempt_at, created_at, sent_at) SELECT 'feishu', '{HISTORY_TENANT}', 'oc_history', "
            f"'history-' || g, :payload, 'sent', 1, {ago}, {ago}, {ago} FROM {series}"),
            {"n": rows, "payload": PAYLOAD})
        await conn.execute(text("ANALYZE"))


async def migrated_with_history(url: str, rows: int, *, schema: str | None = None) -> None:
    """Migrate the database at `url` (in `schema`) and write its history, before a server starts."""
    db = Database(url, schema=schema)
    try:
        await db.upgrade()
        await seed_history(db, rows)
    finally:
        await db.dispose()
