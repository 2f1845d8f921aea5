"""Benchmark: how fast the real app acknowledges Feishu webhook events, against a bare aiohttp ceiling.

The server under test runs in its own process (the real app: build_services + create_app with the
delivery worker on, Feishu configured with encrypt key + verification token, api_base at a tiny
local fake Open API that answers at once). This process is the load generator: N distinct signed,
encrypted im.message.receive_v1 events ("@bot 帮助", optionally a share of "新建任务 …") posted by C
concurrent clients to POST /webhooks/feishu, timing each request until its acknowledgement.
The same load then goes to a bare aiohttp handler that just returns {}: the ceiling on this machine.

Everything is on 127.0.0.1, bounded in count (--events) and time (--timeout per run).

    .venv/bin/python bench/feishu_webhook.py [--events 2000] [--concurrency 16] [--mix 0.1]
                                             [--postgres postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from pg_schema import create_schema, drop_schema

ENCRYPT_KEY = "bench-encrypt-key"
VERIFICATION_TOKEN = "bench-verification-token"
APP_ID = "cli_bench"
APP_SECRET = "bench-secret"
BOT_OPEN_ID = "ou_bench_bot"
TENANT = "tenant_bench"
CHATS = 20
PEOPLE = 50
WARMUP = 40


# -- the fake Open API (server process) --------------------------------------------------------------

@dataclass
class FakeCounts:
    sends: int = 0
    lookups: int = 0


def fake_feishu(counts: FakeCounts) -> web.Application:
    async def token(request: web.Request) -> web.Response:
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": "t-bench", "expire": 7200})

    async def bot_info(request: web.Request) -> web.Response:
        return web.json_response({"code": 0, "msg": "ok", "bot": {"open_id": BOT_OPEN_ID, "app_name": "推进"}})

    async def send(request: web.Request) -> web.Response:
        await request.read()
        counts.sends += 1
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": f"om_b{counts.sends}"}})

    async def user(request: web.Request) -> web.Response:
        counts.lookups += 1
        open_id = request.match_info["user_id"]
        return web.json_response({"code": 0, "msg": "success",
                                  "data": {"user": {"open_id": open_id, "name": f"成员{open_id[-3:]}",
                                                           "department_ids": []}}})

    app = web.Application()
    app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", token)
    app.router.add_get("/open-apis/bot/v3/info", bot_info)
    app.router.add_post("/open-apis/im/v1/messages", send)
    app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", send)
    app.router.add_patch("/open-apis/im/v1/messages/{message_id}", send)
    app.router.add_get("/open-apis/contact/v3/users/{user_id}", user)
    return app


async def _listen(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


# -- servers under test (each in its own process) ------------------------------------------------------

def serve(target: dict[str, Any], conn: Connection) -> None:
    """Child process entry: start the target, send its port, wait for 'done', report, stop."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="  [server] %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(target, conn))


async def _serve(target: dict[str, Any], conn: Connection) -> None:
    if target["kind"] == "ceiling":
        async def ok(request: web.Request) -> web.Response:
            await request.read()
            return web.json_response({})

        app = web.Application()
        app.router.add_post("/webhooks/feishu", ok)
        runner, port = await _listen(app)
        conn.send(port)
        await asyncio.to_thread(conn.recv)
        conn.send({})
        await runner.cleanup()
        return

    from pydantic import SecretStr
    from sqlalchemy import text

    from adapters.console.settings import ConsoleSettings
    from adapters.feishu.settings import FeishuSettings
    from bot.app import build_services, create_app
    from bot.config import Settings
    from storage.db import Database

    counts = FakeCounts()
    fake_runner, fake_port = await _listen(fake_feishu(counts))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url="", database_url=target["url"], console=ConsoleSettings(enabled=False),
        feishu=FeishuSettings(app_id=APP_ID, app_secret=SecretStr(APP_SECRET), encrypt_key=SecretStr(ENCRYPT_KEY),
                              verification_token=SecretStr(VERIFICATION_TOKEN),
                              api_base=f"http://127.0.0.1:{fake_port}"),
    )
    db = Database(target["url"], schema=target.get("schema"))
    if db.is_sqlite:
        await db.upgrade()
    services = build_services(settings, db=db)
    runner, port = await _listen(create_app(services, migrate=False, start_worker=True))
    conn.send(port)
    await asyncio.to_thread(conn.recv)  # the load is over
    started = time.perf_counter()
    await services.supervisor.idle()
    backlog_seconds = time.perf_counter() - started
    async with db.session() as session:
        inbox = (await session.execute(text("SELECT count(*) FROM inbox_event"))).scalar_one()
        tasks = (await session.execute(text("SELECT count(*) FROM task"))).scalar_one()
        outbox: dict[str, int] = dict((await session.execute(
            text("SELECT status, count(*) FROM outbox_message GROUP BY status"))).all())
    report = {"backlog_seconds": backlog_seconds, "inbox": inbox, "tasks": tasks, "outbox": outbox,
              "fake_sends": counts.sends}
    await runner.cleanup()
    await fake_runner.cleanup()
    conn.send(report)


# -- load (this process) -------------------------------------------------------------------------------

def build_events(n: int, mix: float, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    from adapters.feishu.crypto import encrypt
    from adapters.feishu.signature import expected_signature

    now = int(time.time())
    every = round(1 / mix) if mix > 0 else 0
    requests = []
    for i in range(n):
        creates = every > 0 and i % every == 0
        owner = f"ou_person_{(i + 7) % PEOPLE:03d}"
        text = f"@_user_1 新建任务 压测任务{i} 负责人 @_user_2 截止 明天" if creates else "@_user_1 帮助"
        mentions = [{"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID}, "name": "推进", "tenant_key": TENANT}]
        if creates:
            mentions.append({"key": "@_user_2", "id": {"open_id": owner}, "name": f"成员{owner[-3:]}",
                             "tenant_key": TENANT})
        payload = {
            "schema": "2.0",
            "header": {"event_id": f"ev-{tag}-{i}", "event_type": "im.message.receive_v1",
                       "create_time": str(now * 1000), "token": VERIFICATION_TOKEN, "app_id": APP_ID,
                       "tenant_key": TENANT},
            "event": {
                "sender": {"sender_id": {"open_id": f"ou_person_{i % PEOPLE:03d}"}, "sender_type": "user",
                           "tenant_key": TENANT},
                "message": {"message_id": f"om-{tag}-{i}", "chat_id": f"oc_bench_{i % CHATS:02d}",
                            "chat_type": "group", "message_type": "text",
                            "content": json.dumps({"text": text}, ensure_ascii=False), "mentions": mentions},
            },
        }
        body = json.dumps({"encrypt": encrypt(json.dumps(payload, ensure_ascii=False), ENCRYPT_KEY)}).encode()
        nonce = uuid.uuid4().hex[:16]
        requests.append((body, {
            "X-Lark-Request-Timestamp": str(now), "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": expected_signature(str(now), nonce, ENCRYPT_KEY, body),
            "Content-Type": "application/json",
        }))
    return requests


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


async def drive(url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int) -> LoadResult:
    result = LoadResult(seconds=0.0)
    next_index = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < len(requests):
            body, headers = requests[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = str(response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            result.latencies.append(time.perf_counter() - started)
            if status != "200":
                result.errors[status] = result.errors.get(status, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


def run_target(name: str, target: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve, args=(target, child), name=f"bench-{name}", daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError(f"{name}: server did not start")
        port = parent.recv()
        url = f"http://127.0.0.1:{port}/webhooks/feishu"
        tag = uuid.uuid4().hex[:6]
        warmup = build_events(WARMUP, 0.0, f"{tag}w")
        events = build_events(args.events, args.mix, tag)
        asyncio.run(asyncio.wait_for(drive(url, warmup, min(4, args.concurrency)), args.timeout))
        load = asyncio.run(asyncio.wait_for(drive(url, events, args.concurrency), args.timeout))
        parent.send("done")
        if not parent.poll(args.timeout):
            raise RuntimeError(f"{name}: server did not report within {args.timeout} s")
        report: dict[str, Any] = parent.recv()
    finally:
        process.join(args.timeout)
        if process.is_alive():
            process.terminate()
    lat = sorted(load.latencies)
    return {
        "name": name, "events": len(events), "seconds": load.seconds, "rate": len(events) / load.seconds,
        "p50": statistics.median(lat) * 1000, "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
        "max": lat[-1] * 1000, "errors": load.errors, **report,
    }


# -- PostgreSQL: a fresh schema per run ----------------------------------------------------------------



# -- report --------------------------------------------------------------------------------------------

def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nFeishu webhook ack benchmark: {args.events} events, {args.concurrency} concurrent clients, "
          f"mix {args.mix:.0%} 新建任务, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    header = f"{'target':<18}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}" \
             f"{'backlog s':>11}{'tasks':>7}{'outbox':>22}"
    print(header)
    print("-" * len(header))
    for r in rows:
        errors = sum(r["errors"].values())
        outbox = ",".join(f"{k}={v}" for k, v in sorted(r.get("outbox", {}).items())) or "-"
        backlog = f"{r['backlog_seconds']:.1f}" if "backlog_seconds" in r else "-"
        print(f"{r['name']:<18}{r['rate']:>10.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}{errors:>8}"
              f"{backlog:>11}{r.get('tasks', '-')!s:>7}{outbox:>22}")
        if r["errors"]:
            print(f"{'':<18}errors: {r['errors']}")
    ceiling = next(r for r in rows if r["name"] == "ceiling (bare)")
    print("\nratio ours / ceiling (throughput: higher is better; latency: lower is better)")
    for r in rows:
        if r is ceiling:
            continue
        print(f"  {r['name']:<16} throughput {r['rate'] / ceiling['rate']:.2f}x   "
              f"p50 {r['p50'] / ceiling['p50']:.1f}x   p99 {r['p99'] / ceiling['p99']:.1f}x")
    print("\nbacklog s: after the last ack, seconds until the background work (command, card, outbox row)\n"
          "for every event had finished; outbox: rows by status when it had (the worker sends at Feishu's\n"
          "per-app limit of 50/s, so most replies are still pending then).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--mix", type=float, default=0.0, help="share of events that are 新建任务 (0..1)")
    parser.add_argument("--postgres", default=os.environ.get("TUIJIN_TEST_DATABASE_URL", ""),
                        help="also run on PostgreSQL (default: $TUIJIN_TEST_DATABASE_URL)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds allowed per run")
    args = parser.parse_args()
    if not 0 < args.events <= 100_000 or not 0 < args.concurrency <= 256 or not 0 <= args.mix <= 1:
        parser.error("--events 1..100000, --concurrency 1..256, --mix 0..1")

    rows = [run_target("ceiling (bare)", {"kind": "ceiling"}, args)]
    with tempfile.TemporaryDirectory(prefix="tuijin-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        rows.append(run_target("tuijin sqlite", {"kind": "app", "url": url}, args))
    if args.postgres:
        schema = f"tj_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(create_schema(args.postgres, schema))
        try:
            rows.append(run_target("tuijin postgres", {"kind": "app", "url": args.postgres, "schema": schema}, args))
        finally:
            asyncio.run(drop_schema(args.postgres, schema))
    print_table(rows, args)


if __name__ == "__main__":
    main()
