"""Delivery against Feishu's send quota in real time: sends/s next to the ceiling, and the 429s it earned.

    .venv/bin/python bench/quota.py                       # SQLite in a temp dir
    .venv/bin/python bench/quota.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

A fake of Feishu's Open API runs in a child process and enforces the quota on the wall clock: at
most 50 sends and replies per app and 5 per chat in any one-second span (the rule of
tests/adapters/feishu/quota.py, imported from there, with the system clock). Beyond that it answers
as Feishu does: HTTP 429, code 99991400 and an `x-ogw-ratelimit-reset` header. It counts every call,
every 429, and how often each message `uuid` was accepted.

This process runs the real delivery path with the default Feishu quota settings (send_per_second=50,
send_per_minute=1000): replies are queued in the outbox, each in its own transaction, and the real
DeliveryWorker sends them through the real FeishuAdapter and FeishuClient. Half are replies to a
message (counted against its chat), half plain posts to the chat. Three shapes, each with a fresh
worker, client and quota:

- `many chats`: `--many` replies across `--chats` chats, queued at twice the app's ceiling while the
  worker runs (the app's 50/s is the limit);
- `one busy chat`: `--busy` replies to one chat, queued at twice its ceiling (the chat's 5/s);
- `burst`: `--burst` replies across `--burst-chats` chats, queued as fast as they commit (a
  morning stand-up, or the backlog after an outage): more than the worker holds at once, so the
  rest reach it through claim rounds.

Columns: `sends/s` is messages / (seconds from the first accepted send to the last + 1 s): a quota
of C in any one-second span allows at most C × (span + 1) sends, so this is at most the ceiling and
a bursty start cannot flatter it; `ratio` is it over the ceiling. `wall s` runs from the first reply
queued until the last was recorded as sent; `ours s` from the first reply queued to the last
accepted, and `quota s` the same for the fastest sender the quota allows (fastest_finish). `429`
counts the calls the fake refused, `429 %` their share of all send calls (target: at most 1 %);
for each, how much too early it came is printed. The run fails (exit 1) unless every message was
accepted exactly once and every outbox row is `sent`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from child_server import serve_until_told
from pg_schema import create_schema, drop_schema
from pydantic import SecretStr
from sqlalchemy import text

from adapters.feishu.adapter import FeishuAdapter, feishu_uuid
from adapters.feishu.client import CHAT_QPS, FeishuClient
from adapters.feishu.settings import FeishuSettings
from bot.clock import SystemClock
from bot.config import DeliverySettings
from bot.core import CardActionEvent, CardActionResult, ConversationRef, MessageEvent, OutboundMessage
from bot.core.platform import DeliveryReceipt
from bot.delivery.outbox import Outbox
from bot.delivery.worker import DeliveryWorker
from bot.event_loop import loop_name, new_event_loop
from bot.metrics import Metrics
from storage.cache import InProcessCache
from storage.db import Database
from tests.adapters.feishu.quota import SendQuota

APP_ID, APP_SECRET = "cli_quota_bench", "bench-secret"
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
REPLY_MARK = "_in_"  # a reply's target is named om_<n>_in_<chat>: the fake counts it against that chat


# -- the fake Open API (child process) ---------------------------------------------------------------

def serve(conn: Connection, per_app: int, per_chat: int) -> None:
    asyncio.run(_serve(conn, per_app, per_chat))


async def _serve(conn: Connection, per_app: int, per_chat: int) -> None:
    clock = SystemClock()
    state: dict[str, Any] = {}

    def reset() -> None:
        state.update(quota=SendQuota(clock, per_app=per_app, per_chat=per_chat), accepted={}, first=None,
                     last=None, early=[])

    reset()

    def admit(chat: str, body: dict[str, Any]) -> web.Response:
        quota: SendQuota = state["quota"]
        if not quota.admit(chat):
            # How much sooner than the span allows it came, under the limit it broke (the quota's own logs).
            now = clock.now().timestamp()
            mine = quota._chats[chat]
            log = mine if len(mine) >= per_chat else quota._app
            state["early"].append((now - log[0], "chat" if log is mine else "app"))
            return web.json_response({"code": 99991400, "msg": "request trigger frequency limit"}, status=429,
                                     headers={"x-ogw-ratelimit-limit": str(per_chat), "x-ogw-ratelimit-reset": "1"})
        now = time.time()
        state["first"] = state["first"] or now
        state["last"] = now
        accepted: dict[str, int] = state["accepted"]
        key = str(body.get("uuid"))
        accepted[key] = accepted.get(key, 0) + 1
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": f"om_out_{key}"}})

    async def token(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("app_secret") != APP_SECRET:
            return web.json_response({"code": 10014, "msg": "app secret invalid"}, status=400)
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": "t-bench", "expire": 7200})

    async def send(request: web.Request) -> web.Response:
        body = await request.json()
        return admit(str(body["receive_id"]), body)

    async def reply(request: web.Request) -> web.Response:
        body = await request.json()
        to = request.match_info["message_id"]
        return admit(to.split(REPLY_MARK, 1)[-1], body)

    async def stats(_request: web.Request) -> web.Response:
        quota: SendQuota = state["quota"]
        return web.json_response({"accepted": quota.accepted, "refused": quota.refused, "uuids": state["accepted"],
                                  "first": state["first"], "last": state["last"], "early": state["early"]})

    async def do_reset(_request: web.Request) -> web.Response:
        reset()
        return web.json_response({})

    app = web.Application()
    app.router.add_post(TOKEN_PATH, token)
    app.router.add_post("/open-apis/im/v1/messages", send)
    app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", reply)
    app.router.add_get("/bench/stats", stats)
    app.router.add_post("/bench/reset", do_reset)
    await serve_until_told(app, conn)


# -- the sending side (this process) -----------------------------------------------------------------

class NoEvents:
    """The adapter's event sink: this benchmark only sends."""

    async def accept_message(self, event: MessageEvent) -> bool:
        raise AssertionError("no events in this benchmark")

    async def accept_card_action(self, event: CardActionEvent) -> CardActionResult:
        raise AssertionError("no events in this benchmark")


class CountingFeishuAdapter(FeishuAdapter):
    """The real adapter; only counts what it delivered, so the benchmark knows when to stop."""

    expected = 0
    delivered = 0
    done: asyncio.Event

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        receipt = await super().deliver(message)
        self.delivered += 1
        if self.delivered >= self.expected:
            self.done.set()
        return receipt


@dataclass(frozen=True)
class Shape:
    name: str
    messages: int
    chats: int
    ceiling: int
    offered_per_second: float | None  # None: as fast as the transactions commit


@dataclass
class Result:
    shape: Shape
    wall: float
    span: float  # from the first accepted send to the last
    ours: float  # from the first reply queued to the last accepted
    fastest: float  # the same, at best under the quota (fastest_finish)
    calls: int
    refused: int
    exactly_once: bool
    problems: list[str]
    early: list[tuple[float, str]]  # per 429: how old the oldest send in the span was, and which limit

    @property
    def rate(self) -> float:
        return self.shape.messages / (self.span + 1.0)

    @property
    def share(self) -> float:
        return self.refused / self.calls if self.calls else 0.0


def messages_of(shape: Shape, run: str) -> list[OutboundMessage]:
    """Round-robin over the chats; every other one a reply to a message in its chat."""
    out = []
    for i in range(shape.messages):
        chat = f"oc_{run}_{i % shape.chats}"
        reply_to = f"om_{i}{REPLY_MARK}{chat}" if i % 2 else None
        out.append(OutboundMessage(ConversationRef("feishu", "t1", chat), text=f"回复 {i}",
                                   idempotency_key=f"{run}:{shape.name}:{i}", reply_to=reply_to))
    return out


async def offer(db: Database, outbox: Outbox, messages: list[OutboundMessage], per_second: float | None,
                concurrency: int = 8) -> list[tuple[float, str]]:
    """Each reply in its own transaction, as a command queues it; paced to `per_second` when given.

    Returns when each committed (epoch seconds) and its chat, in commit order.
    """
    clock = SystemClock()
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()
    committed: list[tuple[float, str]] = []

    async def one(i: int, message: OutboundMessage) -> None:
        if per_second:
            await asyncio.sleep(max(0.0, start + i / per_second - time.perf_counter()))
        async with gate:
            async with db.transaction() as session:
                await outbox.enqueue(session, message, tenant_id=None, at=clock.now())
            committed.append((time.time(), message.conversation.chat_id))

    await asyncio.gather(*(one(i, m) for i, m in enumerate(messages)))
    return committed


def fastest_finish(committed: list[tuple[float, str]], per_app: int, per_chat: int, span: float = 1.0) -> float:
    """When the last message could at best be accepted under the quota, sent in commit order.

    Each goes at the earliest moment after its commit, after the one before it, and outside the
    span of the `per_app`-th send before it and of the `per_chat`-th before it in its chat: what a
    sender with no round trip and no cost could do against the fake, given when replies were queued.
    """
    sent: list[float] = []
    chats: dict[str, list[float]] = {}
    for at, chat in sorted(committed):
        mine = chats.setdefault(chat, [])
        if sent:
            at = max(at, sent[-1])
        if len(sent) >= per_app:
            at = max(at, sent[-per_app] + span)
        if len(mine) >= per_chat:
            at = max(at, mine[-per_chat] + span)
        sent.append(at)
        mine.append(at)
    return sent[-1] if sent else 0.0


async def run_shape(shape: Shape, db: Database, http: aiohttp.ClientSession, base: str, timeout: float) -> Result:
    run = uuid.uuid4().hex[:8]
    async with http.post(f"{base}/bench/reset"):
        pass
    clock = SystemClock()
    settings = FeishuSettings(enabled=True, app_id=APP_ID, app_secret=SecretStr(APP_SECRET), api_base=base)
    cache = InProcessCache()
    client = FeishuClient(settings, cache, clock)
    adapter = CountingFeishuAdapter(settings, sink=NoEvents(), cache=cache, clock=clock, client=client)
    adapter.expected, adapter.done = shape.messages, asyncio.Event()
    outbox = Outbox()
    # As the server builds it: default delivery settings and poll interval.
    worker = DeliveryWorker(db, outbox, {"feishu": adapter}, clock, Metrics(), DeliverySettings())
    messages = messages_of(shape, run)
    problems: list[str] = []
    try:
        await client.tenant_access_token()  # as a running server would have it already
        started = time.perf_counter()
        worker.start()
        committed = await offer(db, outbox, messages, shape.offered_per_second)
        try:
            await asyncio.wait_for(adapter.done.wait(), timeout)
        except TimeoutError:
            problems.append(f"only {adapter.delivered} of {shape.messages} delivered "
                            f"{timeout:g}s after the last was queued")
        await worker.stop()
        wall = time.perf_counter() - started
    finally:
        await adapter.stop()
        await cache.close()
    async with http.get(f"{base}/bench/stats") as response:
        stats = await response.json()
    uuids: dict[str, int] = stats["uuids"]
    expected = {feishu_uuid(m.idempotency_key) for m in messages}
    twice = sum(1 for n in uuids.values() if n > 1)
    missing = len(expected - uuids.keys())
    stray = len(uuids.keys() - expected)
    if twice or missing or stray:
        problems.append(f"fake accepted {twice} messages more than once, missed {missing}, got {stray} unknown")
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT status, count(*) FROM outbox_message WHERE idempotency_key LIKE :p "
                                       "GROUP BY status"), {"p": f"{run}:%"})
        statuses = {str(status): int(n) for status, n in rows}
    if statuses != {"sent": shape.messages}:
        problems.append(f"outbox rows by status: {statuses}")
    span = (stats["last"] - stats["first"]) if stats["first"] is not None else float("inf")
    first_queued = min(at for at, _ in committed)
    ours = (stats["last"] or float("inf")) - first_queued
    fastest = fastest_finish(committed, FeishuSettings().send_per_second, CHAT_QPS) - first_queued
    return Result(shape, wall, span, ours, fastest, stats["accepted"] + stats["refused"], stats["refused"],
                  exactly_once=not twice and not missing and not stray, problems=problems,
                  early=[(float(age), str(limit)) for age, limit in stats["early"]])


async def with_database(url: str, schema: str | None, body: Callable[[Database], Awaitable[None]]) -> None:
    if schema:
        await create_schema(url, schema, migrate=False)
    db = Database(url, schema=schema)
    try:
        await db.upgrade()
        await body(db)
    finally:
        await db.dispose()
        if schema:
            await drop_schema(url, schema)


async def measure(args: argparse.Namespace, port: int, shapes: list[Shape]) -> list[Result]:
    base = f"http://127.0.0.1:{port}"
    results: list[Result] = []

    async def body(db: Database) -> None:
        async with aiohttp.ClientSession() as http:
            for shape in shapes:
                results.append(await run_shape(shape, db, http, base, args.timeout))

    with tempfile.TemporaryDirectory(prefix="quotabench-") as tmp:
        url = args.postgres or f"sqlite+aiosqlite:///{tmp}/bench.db"
        schema = f"tj_quota_{uuid.uuid4().hex[:8]}" if args.postgres else None
        await with_database(url, schema, body)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
    parser.add_argument("--many", type=int, default=400, help="replies in the `many chats` shape")
    parser.add_argument("--chats", type=int, default=40, help="chats in the `many chats` shape")
    parser.add_argument("--busy", type=int, default=50, help="replies in the `one busy chat` shape")
    parser.add_argument("--burst", type=int, default=150, help="replies in the `burst` shape")
    parser.add_argument("--burst-chats", type=int, default=25)
    parser.add_argument("--shapes", default="many chats,one busy chat,burst")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each shape may take")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    parser.add_argument("--verbose", action="store_true", help="show the client's and worker's warnings (429s)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR)
    per_app = FeishuSettings().send_per_second
    known = {
        "many chats": Shape("many chats", args.many, args.chats, per_app, 2.0 * per_app),
        "one busy chat": Shape("one busy chat", args.busy, 1, CHAT_QPS, 2.0 * CHAT_QPS),
        "burst": Shape("burst", args.burst, args.burst_chats, per_app, None),
    }
    shapes = [known[name.strip()] for name in args.shapes.split(",")]

    ours, theirs = multiprocessing.Pipe()
    fake = multiprocessing.get_context("spawn").Process(target=serve, args=(theirs, per_app, CHAT_QPS), daemon=True)
    fake.start()
    try:
        port = ours.recv()
        with asyncio.Runner(loop_factory=lambda: new_event_loop(args.loop)) as runner:
            loop = loop_name(runner.get_loop())
            results = runner.run(measure(args, port, shapes))
    finally:
        ours.send("stop")
        fake.join(10)

    db = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{db}, {loop}; the fake allows {per_app}/s per app and {CHAT_QPS}/s per chat in any one-second span")
    print(f"{'shape':14} {'messages':>8} {'chats':>5} {'wall s':>6} {'sends/s':>7} {'ceiling':>7} {'ratio':>5} "
          f"{'ours s':>6} {'quota s':>7} {'calls':>5} {'429':>4} {'429 %':>5} exactly once")
    for r in results:
        print(f"{r.shape.name:14} {r.shape.messages:8d} {r.shape.chats:5d} {r.wall:6.2f} {r.rate:7.2f} "
              f"{r.shape.ceiling:7d} {r.rate / r.shape.ceiling:5.3f} {r.ours:6.2f} {r.fastest:7.2f} {r.calls:5d} "
              f"{r.refused:4d} {100 * r.share:5.2f} {r.exactly_once}")
    for r in results:
        if r.early:
            shortfalls = ", ".join(f"{1000 * (1 - age):.2f} ms ({limit})" for age, limit in r.early[:12])
            print(f"{r.shape.name}: each 429 came this much before the span allowed it: {shortfalls}")
    total_calls = sum(r.calls for r in results)
    refused = sum(r.refused for r in results)
    print(f"all shapes: {refused} of {total_calls} calls answered 429 "
          f"({100 * refused / max(total_calls, 1):.2f} %, target <= 1 %); "
          f"median ratio {statistics.median(r.rate / r.shape.ceiling for r in results):.3f}")
    problems = [f"{r.shape.name}: {p}" for r in results for p in r.problems]
    for problem in problems:
        print("FAIL", problem)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
