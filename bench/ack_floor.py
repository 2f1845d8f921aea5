"""The floor under a durable acknowledgement: how long PostgreSQL takes to commit an event (issue 7).

    .venv/bin/python bench/ack_floor.py --postgres postgresql://postgres@127.0.0.1:5432/speedbench
    # options: --rate 1000 --seconds 3 --parallel 2 --runs 3

An event is acknowledged only once its row has committed (durably: the commit returns after
PostgreSQL has flushed its write-ahead log). This measures that commit on its own, with no
HTTP, no SQLAlchemy and no Tuijin code: asyncpg inserting rows shaped like inbox rows into a table
of its own, events arriving open loop at `--rate` per second and collected into one INSERT per
flush, with `--parallel` flushes at a time on a pool of that many connections: the shape of the
server's ack path (bot/pipeline.py, storage/batch.py). Latency runs from each event's scheduled
arrival to its commit.

What it tells: if this alone is near or above a latency target, no change to the server can meet
that target on this machine without acknowledging before the commit, which Tuijin does not do.
The table is created in a schema of its own and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.batch import GroupCommit

PAYLOAD = '{"text": "@推进 帮助", "sender": "ou_bench", "chat": "oc_bench"}'


class Inserts:
    """The flush the server's group commit (storage/batch.py) runs: one INSERT for all that wait."""

    def __init__(self, pool: asyncpg.Pool, table: str) -> None:
        self.pool = pool
        self.sql = (f"INSERT INTO {table} (event_id, received_at, payload) "
                    "SELECT e, r, CAST(p AS json) FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS b(e, r, p)")
        self.flushes: list[int] = []

    async def __call__(self, event_ids: list[str]) -> list[None]:
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn:
            await conn.execute(self.sql, event_ids, [now] * len(event_ids), [PAYLOAD] * len(event_ids))
        self.flushes.append(len(event_ids))
        return [None] * len(event_ids)


async def one_run(url: str, rate: float, seconds: float, parallel: int) -> dict[str, float]:
    schema = "ack_floor_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    table = f"{schema}.event"
    await admin.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, event_id text UNIQUE NOT NULL,"
                        " received_at timestamptz NOT NULL, payload json)")
    pool = await asyncpg.create_pool(url, min_size=parallel, max_size=parallel)
    try:
        inserts = Inserts(pool, table)
        writer: GroupCommit[str, None] = GroupCommit(inserts, parallel=parallel)
        for i in range(20):  # the statement prepared and the connections warm
            await writer.submit(f"warm-{i}")
        inserts.flushes.clear()
        latencies: list[float] = []
        start = time.perf_counter() + 0.05
        n = int(rate * seconds)

        async def event(i: int) -> None:
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await writer.submit(f"ev-{i}")
            latencies.append(time.perf_counter() - due)

        await asyncio.gather(*(event(i) for i in range(n)))
        latencies.sort()
        return {
            "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000,
            "max": latencies[-1] * 1000,
            "rows_per_flush": statistics.fmean(inserts.flushes),
        }
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def main(args: argparse.Namespace) -> None:
    url = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
    runs = [await one_run(url, args.rate, args.seconds, args.parallel) for _ in range(args.runs)]

    def spread(key: str) -> str:
        values = sorted(run[key] for run in runs)
        return "/".join(f"{v:.1f}" for v in (values[0], statistics.median(values), values[-1]))

    print(f"durable commit of events arriving at {args.rate:g}/s for {args.seconds:g} s, "
          f"{args.parallel} flushes at a time (min/median/max of {args.runs} runs)")
    print("| commit p50 ms | commit p99 ms | max ms | events per flush |\n|---|---|---|---|")
    print(f"| {spread('p50')} | {spread('p99')} | {spread('max')} | {spread('rows_per_flush')} |")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", required=True, help="a database to work in (own schema, dropped after)")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
