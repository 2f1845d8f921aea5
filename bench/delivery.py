"""The delivery path alone: CPU and SQL statements per message, from the outbox insert to the platform.

    .venv/bin/python bench/delivery.py                       # SQLite in a temp dir
    .venv/bin/python bench/delivery.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

`--messages` replies across `--chats` chats are queued, each in its own transaction (as a command
would), `--concurrency` transactions at a time, and the real DeliveryWorker sends them to a fake
platform API: an aiohttp server in a child process, so its CPU is not counted. Three phases:

- `enqueue`: the inserts alone, no worker running (the part every command pays anyway);
- `backlog`: the worker started after the inserts, so every row goes through claim rounds;
- `live`: the worker running while the inserts commit, as under load (the hand-over path).

For each: CPU ms per message (time.process_time of this process: our code, SQLAlchemy, the
driver) and SQL statements and commits per message (engine events; an executemany is one).
Every phase checks that the fake received each message exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from pg_schema import create_schema, drop_schema
from sqlalchemy import event

from bot.clock import SystemClock
from bot.config import DeliverySettings
from bot.core import ConversationRef, OutboundMessage
from bot.core.platform import DeliveryReceipt
from bot.delivery.outbox import Outbox
from bot.delivery.worker import DeliveryWorker
from bot.metrics import Metrics
from storage.db import Database


def serve_fake(port: int) -> None:
    """The fake platform: remembers each uuid; a repeat is counted as a duplicate."""
    seen: dict[str, int] = {}

    async def send(request: web.Request) -> web.Response:
        body = await request.json()
        seen[body["uuid"]] = seen.get(body["uuid"], 0) + 1
        return web.json_response({"message_id": f"m-{len(seen)}"})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"distinct": len(seen), "calls": sum(seen.values())})

    async def reset(_request: web.Request) -> web.Response:
        seen.clear()
        return web.json_response({})

    app = web.Application()
    app.add_routes([web.post("/send", send), web.get("/stats", stats), web.post("/reset", reset)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass
class FakeAdapter:
    """A platform adapter that posts each message to the fake and counts answers."""

    base: str
    expected: int = 0
    platform: str = "fakeim"
    delivered: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    http: aiohttp.ClientSession | None = None

    def setup_routes(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def lookup_user(self, tenant_key: str, user_id: str) -> None:
        return None

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        assert self.http is not None
        async with self.http.post(f"{self.base}/send", json={
            "uuid": message.idempotency_key, "chat": message.conversation.chat_id, "text": message.text,
        }) as response:
            body = await response.json()
        self.delivered += 1
        if self.delivered >= self.expected:
            self.done.set()
        return DeliveryReceipt(body["message_id"])


@dataclass
class Counts:
    statements: int = 0
    commits: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def count_statements(db: Database) -> Counts:
    counts = Counts()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counts.statements += 1
        kind = " ".join(statement.split()[:2])
        counts.kinds[kind] = counts.kinds.get(kind, 0) + 1

    def on_commit(*_args: Any) -> None:
        counts.commits += 1

    # Delivery runs on the main engine only (acks, which have their own pool, are not part of it).
    event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(db.engine.sync_engine, "commit", on_commit)
    return counts


async def enqueue_all(db: Database, outbox: Outbox, run: str, messages: int, chats: int, concurrency: int) -> None:
    clock = SystemClock()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            conv = ConversationRef("fakeim", "t1", f"chat-{i % chats}")
            message = OutboundMessage(conv, idempotency_key=f"{run}:{i}", text=f"回复 {i}",
                                      reply_to=f"om_{i}")
            # Committed, the reply is handed to the worker or wakes it for a claim round (no wake() here).
            async with db.transaction() as session:
                await outbox.enqueue(session, message, tenant_id=None, at=clock.now())

    await asyncio.gather(*(one(i) for i in range(messages)))


async def phase(
    name: str, db: Database, counts: Counts, adapter: FakeAdapter, args: argparse.Namespace
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    outbox = Outbox()
    settings = DeliverySettings(concurrency=16, batch=100)
    worker = DeliveryWorker(db, outbox, {"fakeim": adapter}, SystemClock(), Metrics(), settings, poll_seconds=0.2)
    adapter.expected = args.messages if name != "enqueue" else 0
    adapter.delivered = 0
    adapter.done.clear()
    counts.statements = counts.commits = 0
    counts.kinds.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    if name == "live":
        worker.start()
    await enqueue_all(db, outbox, run, args.messages, args.chats, args.concurrency)
    if name == "backlog":
        worker.start()
    if name != "enqueue":
        await adapter.done.wait()
        await worker.stop()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result = {"phase": name, "cpu_ms_per_msg": 1000 * cpu / args.messages,
              "sql_per_msg": counts.statements / args.messages, "commits_per_msg": counts.commits / args.messages,
              "wall_s": wall, "kinds": {k: round(v / args.messages, 3) for k, v in counts.kinds.items()}}
    if name == "enqueue":
        # Leave nothing for the next phase: these rows are sent (uncounted) before it starts.
        adapter.expected = args.messages
        worker.start()
        await adapter.done.wait()
        await worker.stop()
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main_async(args: argparse.Namespace, port: int) -> None:
    schema = f"tj_deliver_{uuid.uuid4().hex[:8]}" if args.postgres else None
    tmp = tempfile.TemporaryDirectory(prefix="deliverbench-")
    url = args.postgres or f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    if schema:
        await create_schema(url, schema, migrate=False)
    db = Database(url, schema=schema)
    try:
        await db.upgrade()
        counts = count_statements(db)
        adapter = FakeAdapter(f"http://127.0.0.1:{port}")
        async with aiohttp.ClientSession() as http:
            adapter.http = http
            for _ in range(100):
                try:
                    async with http.post(f"{adapter.base}/reset"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            results = []
            for name in args.phases.split(","):
                async with http.post(f"{adapter.base}/reset"):
                    pass
                result = await phase(name, db, counts, adapter, args)
                async with http.get(f"{adapter.base}/stats") as response:
                    stats = await response.json()
                result["exactly_once"] = stats["distinct"] == stats["calls"] == args.messages
                results.append(result)
        print(f"{'phase':8} {'CPU ms/msg':>10} {'SQL/msg':>8} {'commits/msg':>11} {'wall s':>7} exactly once")
        for r in results:
            print(f"{r['phase']:8} {r['cpu_ms_per_msg']:10.3f} {r['sql_per_msg']:8.2f} {r['commits_per_msg']:11.2f} "
                  f"{r['wall_s']:7.1f} {r['exactly_once']}")
            if args.verbose:
                print(f"         statements per message: {r['kinds']}")
        if not all(r["exactly_once"] for r in results):
            sys.exit(1)
    finally:
        await db.dispose()
        if schema:
            await drop_schema(url, schema)
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8, help="transactions queueing replies at once")
    parser.add_argument("--phases", default="enqueue,backlog,live")
    parser.add_argument("--verbose", action="store_true", help="statements per message by their first words")
    parser.add_argument("--fake-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_port:
        serve_fake(args.fake_port)
        return
    port = free_port()
    fake = subprocess.Popen([sys.executable, __file__, "--fake-port", str(port)])
    try:
        asyncio.run(main_async(args, port))
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
