"""How long the minute sweep takes over many chats and open tasks.

Seeds `--tenants` companies with `--chats` group chats and `--tasks` open tasks in all, of which
`--due` are due within the next day or already late, then runs every scheduled sweep (the minute
tick: due alerts, escalations, stand-ups, digests, retention) for a working Tuesday 10:00 (no digest due) in
Shanghai: first the sweeps that queue the reminders (a sweep queues up to a bound, the rest in the
next minutes), then minutes when nothing new is due, then a minute in which a few tasks newly fall
due. Prints each sweep's time and what it queued, and the process's peak memory; fails unless every
seeded reminder was queued.

    python bench/sweep.py                       # SQLite, in a temp file
    python bench/sweep.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_services, tune_gc
from bot.clock import FrozenClock
from bot.config import Settings
from storage.db import Database
from storage.tables import Chat, Priority, Task, TaskStatus, Tenant, User

TUESDAY_10 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai, a working day


async def seed(db: Database, tenants: int, chats: int, tasks: int, due: int) -> None:
    """Bulk rows through SQLAlchemy Core: what a large customer base leaves in the tables."""
    now = TUESDAY_10
    per_tenant_chats = chats // tenants
    per_chat_tasks = tasks // chats
    due_per_chat = max(1, due // chats)
    async with db.transaction() as session:
        await session.execute(insert(Tenant), [
            {"id": t + 1, "platform": "feishu", "tenant_key": f"bench-{t}", "name": f"公司{t}",
             "task_code_prefix": "XZB"}
            for t in range(tenants)])
        await session.execute(insert(Chat), [
            {"id": c + 1, "tenant_id": c // per_tenant_chats + 1, "platform_chat_id": f"oc_{c}", "name": f"项目群{c}",
             "chat_type": "group", "timezone": "Asia/Shanghai", "settings": {}}
            for c in range(chats)])
        await session.execute(insert(User), [
            {"id": c + 1, "tenant_id": c // per_tenant_chats + 1, "platform_user_id": f"ou_{c}", "name": f"员工{c}",
             "is_admin": c % per_tenant_chats == 0, "org_set_by_command": False}
            for c in range(chats)])
        rows: list[dict[str, Any]] = []
        for c in range(chats):
            for i in range(per_chat_tasks):
                if i < due_per_chat:
                    # half late since yesterday, half due in the next hours (created days ago)
                    due_at = now - timedelta(hours=20) if i % 2 == 0 else now + timedelta(hours=6)
                else:
                    due_at = now + timedelta(days=10 + i)
                rows.append({
                    "tenant_id": c // per_tenant_chats + 1, "chat_id": c + 1, "code": f"XZB202611{c:05d}{i:02d}",
                    "title": f"任务{c}-{i}", "owner_id": c + 1, "initiator_id": c + 1, "priority": Priority.MEDIUM,
                    "status": TaskStatus.IN_PROGRESS, "progress": 10, "due_at": due_at,
                    "created_at": now - timedelta(days=3), "updated_at": now - timedelta(days=3),
                })
                if len(rows) >= 5000:
                    await session.execute(insert(Task), rows)
                    rows = []
        if rows:
            await session.execute(insert(Task), rows)
    if db.engine.dialect.name == "postgresql":
        async with db.engine.begin() as conn:
            for table in ("tenant", "chat", '"user"', "task"):
                name = table.strip('"')
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
                await conn.execute(text(f"ANALYZE {name if name != 'user' else table}"))


async def fall_due(db: Database, count: int, at: datetime) -> None:
    """A few tasks whose deadline moves into the next hours, as people edit them during the day."""
    async with db.transaction() as session:
        await session.execute(text(
            "UPDATE task SET due_at = :due, updated_at = :at WHERE id IN "
            "(SELECT id FROM task WHERE due_at > :later ORDER BY id LIMIT :n)"
        ), {"due": at + timedelta(hours=3), "at": at, "later": at + timedelta(days=5), "n": count})


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    db = Database(url)
    await db.upgrade()
    started = time.perf_counter()
    await seed(db, args.tenants, args.chats, args.tasks, args.due)
    seeded = time.perf_counter() - started
    clock = FrozenClock(TUESDAY_10)
    settings = Settings(_env_file=None, database_url=url, redis_url="")  # type: ignore[call-arg]
    services = build_services(settings, clock=clock, db=db)
    tune_gc()  # as the server does at start-up (bot.app.create_app)
    timings: list[tuple[str, float, int]] = []

    parts: dict[str, list[float]] = {}

    async def sweep(label: str, at: datetime) -> None:
        """The minute tick, timed as a whole and per sweep (each on its own, as Sweeps.run does)."""
        clock.set(at)
        began = time.perf_counter()
        queued = 0
        for name, one in services.sweeps.sweeps.items():
            part = time.perf_counter()
            try:
                queued += max(0, await one.run(at))
            except Exception as error:  # a failing sweep is a result too: say which
                print(f"  {label}: {name} failed: {type(error).__name__}: {str(error)[:200]}", file=sys.stderr)
            parts.setdefault(name, []).append(time.perf_counter() - part)
        timings.append((label, time.perf_counter() - began, queued))

    # The backlog: a sweep queues up to DueAlerts.per_sweep reminders, the rest in the next minutes.
    minute = 0
    await sweep("first sweep (queues the reminders)", TUESDAY_10)
    backlog = timings[-1][2]
    while timings[-1][2] > 0 and minute < 30:
        minute += 1
        await sweep(f"minute +{minute}, the rest of the backlog", TUESDAY_10 + timedelta(minutes=minute))
        backlog += timings[-1][2]
    quiet = []
    for _ in range(args.quiet_minutes):
        minute += 1
        await sweep(f"minute +{minute}, nothing new due", TUESDAY_10 + timedelta(minutes=minute))
        quiet.append(timings[-1][1])
    minute += 1
    edited_at = TUESDAY_10 + timedelta(minutes=minute)
    await fall_due(db, args.newly_due, edited_at - timedelta(seconds=30))
    await sweep(f"minute +{minute}, {args.newly_due} tasks newly due", edited_at)
    async with db.session() as session:
        queued = (await session.execute(text("SELECT count(*) FROM outbox_message"))).scalar_one()
    await db.dispose()
    return {"seed_s": seeded, "timings": timings, "parts": parts, "backlog": backlog,
            "quiet_median": statistics.median(quiet) if quiet else 0.0, "outbox": queued,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


async def postgres_database(base: str) -> tuple[str, Any]:
    """A fresh database for this run, dropped afterwards."""
    url = make_url(base)
    name = f"tuijin_sweep_{os.getpid()}"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))

    async def drop() -> None:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a database is created and dropped)")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--quiet-minutes", type=int, default=3)
    parser.add_argument("--newly-due", type=int, default=100)
    args = parser.parse_args()
    drop = None
    if args.postgres:
        url, drop = await postgres_database(args.postgres)
        where = "PostgreSQL"
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/sweep.sqlite3"
        where = "SQLite"
    try:
        result = await run(url, args)
    finally:
        if drop is not None:
            await drop()
    print(f"\n{where}: {args.tenants} tenants, {args.chats} chats, {args.tasks} open tasks, "
          f"{args.due} due or late "
          f"(seeded in {result['seed_s']:.1f} s)")
    print(f"{'sweep':<44} {'seconds':>8} {'queued':>8}")
    for label, seconds, queued in result["timings"]:
        print(f"{label:<44} {seconds:>8.2f} {queued:>8}")
    print("per sweep, seconds (first, then each later minute): " + "; ".join(
        f"{name} " + "/".join(f"{t:.2f}" for t in times) for name, times in result["parts"].items()))
    print(f"quiet minute (median): {result['quiet_median']:.2f} s; outbox rows: {result['outbox']}; "
          f"peak RSS: {result['rss_mb']:.0f} MB")
    # A sweep that finds nothing to do is fast for the wrong reason: the seeded rows must be seen.
    backlog, last = result["backlog"], result["timings"][-1][2]
    if backlog < args.due or last < args.newly_due:
        print(f"FAILED: the sweeps queued {backlog} reminders for {args.due} due or late tasks, the last "
              f"{last} for {args.newly_due} newly due", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
