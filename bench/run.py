"""The speed benchmark (issue 7): acknowledgement, end to end and card clicks, against a bare aiohttp ceiling.

One command for a newcomer:

    .venv/bin/python bench/run.py                                  # ceiling + SQLite
    .venv/bin/python bench/run.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/run.py --runs 3 --postgres ...         # min/median/max of three runs

The server under test runs in its own process: the real app (build_services + create_app, the
delivery worker and recovery loop on), Feishu configured with an encrypt key and a verification
token, its Open API pointed at a fake that runs in this (the load) process. Replies therefore
arrive here, so event → reply latency is measured on one clock, and every command's reply is
counted: each must arrive exactly once. The fake has no quota, so the server is started with the
Feishu send quota raised (`send_per_second`): the benchmark measures the bot, not Feishu's limit.
The queue tables start with a day of history (`--history`, 20,000 finished events and sent
messages, statistics gathered: bench/history.py), as on a server that has been running.

Phases for each target:
  ack      N distinct `@bot 帮助` events from C (32) concurrent clients, closed loop: events/s, p50/p99.
  paced    events offered at a fixed rate (1000/s) open loop: p50/p99 from the scheduled send time.
  e2e      M commands (a --mix share `@bot 新建任务 …`, the rest `@bot 帮助`, both answered with a card)
           from C clients (a 503 is retried, as Feishu does):
           commands/s from the first event to the last reply received, p50/p99 event → reply.
  clicks   the owner presses 完成 on each created task's card at 200/s: p50/p99 of the inline answer.
  steady   commands (the e2e mix) offered open loop at 150 and 400/s for 8 s each (a 503 re-sent 1 s
           later): served/s, p50/p99 from the scheduled send to the reply, 503s (bench/steady.py).
The ceiling (an aiohttp handler that returns {}) runs the ack and paced phases, and stays up: each
app's ack phase is compared with it measured right before and again right after (× ceiling).
The server counts SQL statements and transactions; the table shows them per event.
Everything is on 127.0.0.1 and bounded by --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from history import HISTORY_TENANT, migrated_with_history
from pg_schema import create_schema, drop_schema
from server_log import log_to_file, summarise
from sql_counts import SqlCounts
from steady import RESEND_AFTER, results
from yarl import URL

from bot.pipeline import LATER

ENCRYPT_KEY = "bench-encrypt-key"
VERIFICATION_TOKEN = "bench-verification-token"
APP_ID = "cli_bench"
APP_SECRET = "bench-secret"
BOT_OPEN_ID = "ou_bench_bot"
TENANT = "tenant_bench"
# Replies to one chat are paced to Feishu's 5 a second (adapters/feishu/client.py), so the chats
# the commands are spread over cap the reply rate at 5 × CHATS a second (--chats).
CHATS = 200
PEOPLE = 100
WARMUP = 100
CLICK_WARMUP = 20


# -- the fake Open API (this process) ----------------------------------------------------------------

@dataclass
class Fake:
    """Answers at once and records, per inbound message id, when each reply arrived."""

    replies: dict[str, list[float]] = field(default_factory=dict)
    uuids: Counter[str] = field(default_factory=Counter)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # inbound message id -> reply card
    patches: Counter[str] = field(default_factory=Counter)  # message id -> card updates received
    sends: int = 0
    arrived: asyncio.Event | None = None

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.Response:
            return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": "t-bench", "expire": 7200})

        async def bot_info(request: web.Request) -> web.Response:
            return web.json_response({"code": 0, "msg": "ok", "bot": {"open_id": BOT_OPEN_ID, "app_name": "推进"}})

        async def send(request: web.Request) -> web.Response:
            body = await request.json()
            self.sends += 1
            if body.get("uuid"):
                self.uuids[body["uuid"]] += 1
            return web.json_response({"code": 0, "msg": "success", "data": {"message_id": f"om_out{self.sends}"}})

        async def reply(request: web.Request) -> web.Response:
            at = time.perf_counter()
            body = await request.json()
            self.sends += 1
            if body.get("uuid"):
                self.uuids[body["uuid"]] += 1
            inbound = request.match_info["message_id"]
            self.replies.setdefault(inbound, []).append(at)
            if body.get("msg_type") == "interactive":
                self.cards[inbound] = json.loads(body["content"])
            reply_id = f"om_out{self.sends}"
            if self.arrived is not None:
                self.arrived.set()
            return web.json_response({"code": 0, "msg": "success", "data": {"message_id": reply_id}})

        async def patch(request: web.Request) -> web.Response:
            await request.read()
            self.patches[request.match_info["message_id"]] += 1
            if self.arrived is not None:
                self.arrived.set()
            return web.json_response({"code": 0, "msg": "success", "data": {}})

        async def user(request: web.Request) -> web.Response:
            open_id = request.match_info["user_id"]
            return web.json_response({"code": 0, "msg": "success", "data": {
                "user": {"open_id": open_id, "name": f"成员{open_id[-3:]}", "department_ids": []}}})

        app = web.Application()
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", token)
        app.router.add_get("/open-apis/bot/v3/info", bot_info)
        app.router.add_post("/open-apis/im/v1/messages", send)
        app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", reply)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", patch)
        app.router.add_get("/open-apis/contact/v3/users/{user_id}", user)
        return app


async def _listen(app: web.Application, port: int = 0, *, reuse_port: bool = False) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024, reuse_port=reuse_port or None)
    await site.start()
    return runner, runner.addresses[0][1]


# -- the server under test (its own process) ---------------------------------------------------------

async def _write_profile(profiler: Any, path: str) -> None:
    """The call tree as text, and the session beside it for bench/profile_libs.py (time by library)."""
    profiler.stop()
    await asyncio.to_thread(Path(path).write_text, profiler.output_text(unicode=True, show_all=False))
    if profiler.last_session is not None:
        await asyncio.to_thread(profiler.last_session.save, str(Path(path).with_suffix(".pyisession")))


class Profiling:
    """A server process's `profile` and `profile-stop` commands (--profile): one profile at a time.

    pyinstrument hooks every call, so call-heavy code looks dearer than it is; py-spy
    (`--profiler py-spy`, installed apart: `pip install py-spy`) samples the process from outside
    without stopping it and writes collapsed stacks (PREFIX.*.raw) for bench/spy_shares.py.
    """

    def __init__(self, path: str, tool: str = "pyinstrument") -> None:
        self.path = path
        self.tool = tool
        self.profiler: Any = None

    def start(self) -> None:
        if self.tool == "py-spy":
            import subprocess

            # --nonblocking: read the process's memory without pausing it (--native would pause it
            # for each sample and halve the rates measured).
            self.profiler = subprocess.Popen(
                ["py-spy", "record", "--pid", str(os.getpid()), "--rate", "1000", "--nonblocking",
                 "--format", "raw", "--output", str(Path(self.path).with_suffix(".raw"))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached before the phase starts
            return
        from pyinstrument import Profiler  # only with --profile

        self.profiler = Profiler(async_mode="disabled")
        self.profiler.start()

    async def stop(self) -> None:
        if self.profiler is None:
            return
        if self.tool == "py-spy":
            import signal

            self.profiler.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
            await asyncio.to_thread(self.profiler.wait, 30)
        else:
            await _write_profile(self.profiler, self.path)
        self.profiler = None


def _profiling(target: dict[str, Any]) -> Profiling:
    return Profiling(target["profile"], target.get("profiler", "pyinstrument"))


async def _next_command(conn: Connection, profiling: Profiling) -> str:
    """The next command for a server process's loop; `profile` is answered here, `profile-stop` done."""
    while True:
        command: str = await asyncio.to_thread(conn.recv)
        if command == "profile":
            profiling.start()
            conn.send({})
            continue
        if command == "profile-stop":
            await profiling.stop()
        return command


def _stats(counts: SqlCounts, metrics: Any) -> dict[str, Any]:
    """What a server process has cost so far: per-event cost that a busy machine does not distort.

    Also how many commands it has handled and messages it has sent (a processor's, with --processors).
    """
    statements, commits = counts.snapshot()
    done = {"handled": _total(metrics.commands), "sent": _total(metrics.sent)}
    return {"statements": statements, "commits": commits, "cpu_ms": time.process_time() * 1000,
            "peak_rss_now_mb": rss_mb(), "rss_total_mb": rss_mb(), "peak_rss_mb": rss_mb("VmHWM"), **done}


def _total(counter: Any) -> float:
    return sum(sample.value for metric in counter.collect() for sample in metric.samples
               if sample.name.endswith("_total"))


async def _until_none_left(db: Any, *counts: str) -> None:
    """Until every count is 0: the work is another task's or process's, so it is polled."""
    from sqlalchemy import text

    while True:
        async with db.session() as session:
            left = [int((await session.execute(text(sql))).scalar_one()) for sql in counts]
        if not any(left):
            return
        await asyncio.sleep(0.05)


UNSENT = "SELECT count(*) FROM outbox_message WHERE status = 'pending'"


def serve(target: dict[str, Any], conn: Connection) -> None:
    import logging

    from bot.event_loop import new_event_loop

    if target["kind"] == "ceiling":
        logging.basicConfig(level=logging.WARNING, format="  [server] %(levelname)s %(name)s: %(message)s")
    else:
        log_to_file(target["log_path"], target["log_level"])
    loop = new_event_loop(target["loop"])
    try:
        loop.run_until_complete(_serve(target, conn))
    finally:
        loop.close()


async def _serve(target: dict[str, Any], conn: Connection) -> None:
    if target["kind"] == "ceiling":
        async def ok(request: web.Request) -> web.Response:
            await request.read()
            return web.json_response({})

        async def healthz(request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/webhooks/feishu", ok)
        app.router.add_get("/healthz", healthz)
        runner, port = await _listen(app, target["port"], reuse_port=target["reuse_port"])
        conn.send(port)
        while (await asyncio.to_thread(conn.recv)) != "stop":
            conn.send({"cpu_ms": time.process_time() * 1000})
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

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url="", database_url=target["url"], console=ConsoleSettings(enabled=False),
        feishu=FeishuSettings(app_id=APP_ID, app_secret=SecretStr(APP_SECRET), encrypt_key=SecretStr(ENCRYPT_KEY),
                              verification_token=SecretStr(VERIFICATION_TOKEN), api_base=target["api_base"],
                              send_per_second=100_000, send_per_minute=6_000_000),
        processors=target.get("processors", 0),
    )
    db = Database(target["url"], schema=target.get("schema"))
    counts = SqlCounts(db)
    if target["kind"] == "processor":
        await _serve_processor(settings, db, counts, conn, _profiling(target))
        return
    services = build_services(settings, db=db)
    app = create_app(services, migrate=False, start_worker=True, primary=target["index"] == 0)
    runner, port = await _listen(app, target["port"], reuse_port=target["reuse_port"])
    conn.send(port)
    profiling = _profiling(target)
    while (command := await _next_command(conn, profiling)) != "stop":
        if command in ("idle", "drain"):
            await services.supervisor.idle()
        if command == "drain":  # and until the outbox has sent everything
            await _until_none_left(db, UNSENT)
        conn.send(_stats(counts, services.metrics))
    await profiling.stop()
    async with db.session() as session:
        inbox: dict[str, int] = dict(
            (await session.execute(text("SELECT status, count(*) FROM inbox_event WHERE tenant_key <> :history "
                                        "GROUP BY status"), {"history": HISTORY_TENANT})).all())
        outbox: dict[str, int] = dict((await session.execute(
            text("SELECT status, count(*) FROM outbox_message WHERE tenant_key <> :history GROUP BY status"),
            {"history": HISTORY_TENANT})).all())
    await runner.cleanup()
    conn.send({"inbox": inbox, "outbox": outbox})


async def _serve_processor(settings: Any, db: Any, counts: SqlCounts, conn: Connection,
                           profiling: Profiling) -> None:
    """A processor process (bot/processor.py) beside the server: it has no port, only the pipe."""
    from bot.app import build_services
    from bot.processor import lower_priority, run_processor

    lower_priority(settings)
    services = build_services(settings, db=db, role="processor")
    stop = asyncio.Event()
    running = asyncio.create_task(run_processor(services, primary=True, stop=stop))
    conn.send(None)
    unprocessed = "SELECT count(*) FROM inbox_event WHERE status = 'received'"
    while (command := await _next_command(conn, profiling)) != "stop":
        # idle: until nothing handed over is left; drain: and nothing is left to send
        if command in ("idle", "drain"):
            await _until_none_left(db, unprocessed, *([UNSENT] if command == "drain" else []))
            await services.supervisor.idle()
        conn.send(_stats(counts, services.metrics))
    await profiling.stop()
    stop.set()
    await running
    conn.send({})


# -- load (this process) -------------------------------------------------------------------------------

def _signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    from adapters.feishu.crypto import encrypt
    from adapters.feishu.signature import expected_signature

    now = str(int(time.time()))
    body = json.dumps({"encrypt": encrypt(json.dumps(payload, ensure_ascii=False), ENCRYPT_KEY)}).encode()
    nonce = uuid.uuid4().hex[:16]
    return body, {"X-Lark-Request-Timestamp": now, "X-Lark-Request-Nonce": nonce,
                  "X-Lark-Signature": expected_signature(now, nonce, ENCRYPT_KEY, body),
                  "Content-Type": "application/json"}


def owner_of(i: int) -> str:
    return f"ou_person_{(i + 7) % PEOPLE:03d}"


def message(i: int, tag: str, creates: bool) -> tuple[str, bytes, dict[str, str]]:
    """One signed, encrypted `im.message.receive_v1`; returns (its message id, body, headers)."""
    owner = owner_of(i)
    text = f"@_user_1 新建任务 压测任务{tag}{i} 负责人 @_user_2 截止 明天" if creates else "@_user_1 帮助"
    mentions = [{"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID}, "name": "推进", "tenant_key": TENANT}]
    if creates:
        mentions.append({"key": "@_user_2", "id": {"open_id": owner}, "name": f"成员{owner[-3:]}",
                         "tenant_key": TENANT})
    message_id = f"om-{tag}-{i}"
    payload = {
        "schema": "2.0",
        "header": {"event_id": f"ev-{tag}-{i}", "event_type": "im.message.receive_v1",
                   "create_time": str(int(time.time() * 1000)), "token": VERIFICATION_TOKEN, "app_id": APP_ID,
                   "tenant_key": TENANT},
        "event": {
            "sender": {"sender_id": {"open_id": f"ou_person_{i % PEOPLE:03d}"}, "sender_type": "user",
                       "tenant_key": TENANT},
            "message": {"message_id": message_id, "chat_id": f"oc_bench_{i % CHATS:02d}", "chat_type": "group",
                        "message_type": "text", "content": json.dumps({"text": text}, ensure_ascii=False),
                        "mentions": mentions},
        },
    }
    return (message_id, *_signed(payload))


def click(value: dict[str, Any], operator: str, card_message_id: str, chat_id: str, tag: str, i: int,
          ) -> tuple[bytes, dict[str, str]]:
    payload = {
        "schema": "2.0",
        "header": {"event_id": f"ev-click-{tag}-{i}", "event_type": "card.action.trigger",
                   "create_time": str(int(time.time() * 1_000_000)), "token": VERIFICATION_TOKEN,
                   "app_id": APP_ID, "tenant_key": TENANT},
        "event": {
            "operator": {"tenant_key": TENANT, "open_id": operator},
            "token": f"c-{tag}-{i}",
            "action": {"value": value, "tag": "button", "timezone": "Asia/Shanghai"},
            "host": "im_message",
            "context": {"open_message_id": card_message_id, "open_chat_id": chat_id},
        },
    }
    return _signed(payload)


def done_button(card: dict[str, Any]) -> dict[str, Any] | None:
    stack: list[Any] = [card]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("tag") == "button" and node.get("text", {}).get("content") == "完成":
                for behavior in node.get("behaviors", []):
                    if behavior.get("type") == "callback":
                        return dict(behavior["value"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


@dataclass
class Load:
    seconds: float = 0.0
    started: float = 0.0
    latencies: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    resent: int = 0  # 503s sent again (closed_loop's `retry_503`, open_loop's `resend_503_after`)
    bodies: dict[int, dict[str, Any]] = field(default_factory=dict)  # request's index -> JSON answer

    def errors_and_resent(self) -> dict[str, int]:
        """The errors, and the 503s sent again as one more entry."""
        return {**self.errors, **({"503 (retried)": self.resent} if self.resent else {})}


# Connections the open loop opens before its clock starts (to /healthz, on both targets alike).
WARM_CONNECTIONS = 64
# How long the open loop keeps re-sending a request answered 503, when asked to.
RESEND_FOR = 120.0


def quiet_gc() -> None:
    """Keep this process's garbage collector out of the timed phases.

    This process holds every signed event, reply and card of the run: a full collection over them
    stopped it for 100-200 ms at a time, and every request scheduled meanwhile counted that pause
    as server latency (the bare handler's p99 at 1000/s was 55-235 ms; 4 ms without the pauses).
    Moving what exists now out of the collector's sight leaves it only the phase's new objects.
    """
    gc.collect()
    gc.freeze()


async def _warm_connections(session: aiohttp.ClientSession, url: str, n: int) -> None:
    """Open `n` keep-alive connections first: an open loop times requests, not TCP handshakes.

    A platform that pushes events at 1000/s keeps its connections open; opening a hundred at once
    at the start of a two-second phase measured the handshakes (p99 16-173 ms on the bare handler).
    """
    health = str(URL(url).with_path("/healthz"))

    async def one() -> None:
        async with session.get(health) as response:
            await response.read()

    await asyncio.gather(*(one() for _ in range(n)))


async def closed_loop(url: str, requests: list[tuple[str, bytes, dict[str, str]]], concurrency: int, *,
                      retry_503: bool = False) -> Load:
    load = Load()
    queue = list(reversed(requests))

    async def client(session: aiohttp.ClientSession) -> None:
        while queue:
            message_id, body, headers = queue.pop()
            started = time.perf_counter()
            load.sent_at.setdefault(message_id, started)
            while True:
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                if status == "503" and retry_503:
                    load.resent += 1
                    await asyncio.sleep(0.05)
                    continue
                break
            load.latencies.append(time.perf_counter() - started)
            if status != "200":
                load.errors[status] += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        quiet_gc()
        load.started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        load.seconds = time.perf_counter() - load.started
    return load


async def open_loop(url: str, requests: list[tuple[bytes, dict[str, str]]], rate: float, *,
                    keep_bodies: bool = False, resend_503_after: float | None = None) -> Load:
    """Each request at its scheduled time, whatever the answers before it; latency from that time.

    With `resend_503_after`, a 503 is sent again that many seconds later (for up to two minutes),
    as the platform re-sends what it was refused.
    """
    load = Load()

    async def one(session: aiohttp.ClientSession, index: int, due: float, body: bytes, headers: dict[str, str],
                  ) -> None:
        delay = due - time.perf_counter()
        while True:
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    raw = await response.read()
                    status = str(response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, raw = type(exc).__name__, b""
            if status == "503" and resend_503_after is not None and time.perf_counter() - due < RESEND_FOR:
                load.resent += 1
                delay = resend_503_after
                continue
            break
        load.latencies.append(time.perf_counter() - due)
        if status != "200":
            load.errors[status] += 1
        elif keep_bodies:
            load.bodies[index] = json.loads(raw)

    connector = aiohttp.TCPConnector(limit=1024)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        await _warm_connections(session, url, WARM_CONNECTIONS)
        quiet_gc()
        load.started = time.perf_counter() + 0.05
        await asyncio.gather(*(one(session, i, load.started + i / rate, body, headers)
                               for i, (body, headers) in enumerate(requests)))
        load.seconds = time.perf_counter() - load.started
    return load


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), in MB; 0 without /proc.

    Not getrusage's ru_maxrss for the peak: Linux keeps that across exec, so a server process
    spawned from this one reported this process's own size, which grows from run to run.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def postgres_cpu_seconds() -> float | None:
    """CPU used so far by the local PostgreSQL's processes (Linux /proc), None where unreadable."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name.startswith("postgres"):
            total += (int(rest[11]) + int(rest[12])) / ticks  # utime, stime
    return total


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


class Server:
    """The server under test: one process, or `workers` processes sharing one port (SO_REUSEPORT)
    as `tuijin serve --workers N` runs them (worker 0 the primary), and `processors` processor
    processes beside them as `tuijin serve --processors M` runs them (bot/processor.py)."""

    def __init__(self, name: str, target: dict[str, Any], timeout: float) -> None:
        ctx = mp.get_context("spawn")
        self.timeout = timeout
        self.profiled = target.get("profile_index", 0)
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        self.logs: list[Path] = []
        workers = target.get("workers", 1)
        port = 0
        for index in range(workers + target.get("processors", 0)):
            conn, child = ctx.Pipe()
            kind = {"kind": "processor"} if index >= workers else {}
            log = {}
            if "log_dir" in target:  # the app's processes; the bare handler logs nothing of its own
                self.logs.append(Path(target["log_dir"]) / f"server-{index}.log")
                log = {"log_path": str(self.logs[-1])}
            process = ctx.Process(target=serve, name=f"bench-{name}-{index}", daemon=True, args=(
                {**target, **kind, **log, "index": index, "port": port, "reuse_port": workers > 1}, child))
            process.start()
            if not conn.poll(90):
                raise RuntimeError(f"{name}: server {index} did not start")
            port = conn.recv() or port  # a processor has none
            self.conns.append(conn)
            self.processes.append(process)
        self.url = f"http://127.0.0.1:{port}/webhooks/feishu"

    def _ask_one(self, conn: Connection, command: str) -> dict[str, Any]:
        conn.send(command)
        if not conn.poll(self.timeout):
            raise RuntimeError(f"server did not answer {command!r} within {self.timeout} s")
        answer: dict[str, Any] = conn.recv()
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        """Every process is asked (a profile is taken of one only, --profile-process); their counts are summed."""
        if command.startswith("profile"):
            return self._ask_one(self.conns[self.profiled], command)
        total: Counter[str] = Counter()
        peaks: dict[str, float] = {}
        for conn in self.conns:
            answer = self._ask_one(conn, command)
            for key in [k for k in answer if k.startswith("peak_")]:
                peaks[key] = max(peaks.get(key, 0.0), answer.pop(key))  # per process, the largest
            total.update(answer)
        return {**total, **peaks}

    def stop(self) -> dict[str, Any]:
        try:
            finals = [self._ask_one(conn, "stop") for conn in self.conns]
            return {key: value for final in finals for key, value in final.items()}  # the tables: the servers
        finally:
            for process in self.processes:
                process.join(30)
                if process.is_alive():
                    process.terminate()


async def wait_for_fake(fake: Fake, done: Callable[[], bool], timeout: float) -> bool:
    """Until `done()` holds of what the fake received (False when `timeout` passes first), and a
    moment more, since a duplicate would come right behind."""
    deadline = time.perf_counter() + timeout
    assert fake.arrived is not None
    while not done():
        left = deadline - time.perf_counter()
        if left <= 0:
            return False
        fake.arrived.clear()
        try:
            await asyncio.wait_for(fake.arrived.wait(), min(left, 1.0))
        except TimeoutError:
            pass
    await asyncio.sleep(0.5)
    return True


async def wait_replies(fake: Fake, ids: list[str], timeout: float) -> bool:
    return await wait_for_fake(fake, lambda: all(i in fake.replies for i in ids), timeout)


async def wait_patches(fake: Fake, ids: list[str], timeout: float) -> None:
    if ids:
        await wait_for_fake(fake, lambda: all(fake.patches[i] > 0 for i in ids), timeout)


async def run_target(name: str, target: dict[str, Any], args: argparse.Namespace, ceiling: Server) -> dict[str, Any]:
    """One target's phases. The bare handler's target runs on `ceiling`, which the run keeps up; an
    app's target also measures `ceiling` right before its own ack phase and again once the burst it
    acknowledged has been processed (seconds later), with the app idle both times."""
    with tempfile.TemporaryDirectory(prefix="tuijin-bench-log-") as log_dir:
        return await _run_target(name, {**target, "log_dir": log_dir, "log_level": args.log_level}, args,
                                 ceiling)


async def bare_rate(ceiling: Server, tag: str, args: argparse.Namespace) -> float:
    """The bare handler's ack rate now: the same events, clients and machine as the phase beside it."""
    bare = [message(i, tag, False) for i in range(args.events)]
    load = await closed_loop(ceiling.url, bare, args.concurrency)
    return len(bare) / load.seconds


async def _run_target(name: str, target: dict[str, Any], args: argparse.Namespace,
                      ceiling: Server) -> dict[str, Any]:
    fake = Fake(arrived=asyncio.Event())
    fake_runner, fake_port = await _listen(fake.app())
    target = {**target, "api_base": f"http://127.0.0.1:{fake_port}"}
    app = target["kind"] != "ceiling"  # an app's server of its own, measured beside the bare handler
    server = await asyncio.to_thread(Server, name, target, args.timeout) if app else ceiling
    row: dict[str, Any] = {"name": name}
    try:
        tag = uuid.uuid4().hex[:6]
        warm = [message(i, f"{tag}w", False) for i in range(WARMUP)]
        await closed_loop(server.url, warm, 4)
        if app:
            await wait_replies(fake, [m for m, _, _ in warm], args.timeout)
            await asyncio.to_thread(server.ask, "idle")

        # ack
        if args.profile and args.profile_phase == "ack" and app:
            await asyncio.to_thread(server.ask, "profile")
        bare_before = await bare_rate(ceiling, f"{tag}b", args) if app else 0.0
        before = await asyncio.to_thread(server.ask, "stats")
        helps = [message(i, f"{tag}a", False) for i in range(args.events)]
        load_cpu = time.process_time()
        load = await closed_loop(server.url, helps, args.concurrency)
        load_cpu = time.process_time() - load_cpu
        during = await asyncio.to_thread(server.ask, "stats")
        row.update(ack_rate=len(helps) / load.seconds, ack_p50=pct(load.latencies, 0.5),
                   ack_p99=pct(load.latencies, 0.99), ack_errors=dict(load.errors),
                   ack_cpu=(during["cpu_ms"] - before["cpu_ms"]) * 1000 / len(helps),
                   ack_load_cpu=load_cpu * 1e6 / len(helps),
                   ack_handled=during.get("handled", 0) - before.get("handled", 0),
                   ack_sent=during.get("sent", 0) - before.get("sent", 0))
        if args.profile and args.profile_phase == "ack" and app:
            await asyncio.to_thread(server.ask, "profile-stop")
        # paced
        paced = [message(i, f"{tag}p", False)[1:] for i in range(int(args.rate * args.paced_seconds))]
        await asyncio.sleep(0 if app else 0.5)
        if app:
            await wait_replies(fake, [m for m, _, _ in helps], args.timeout)
            await asyncio.to_thread(server.ask, "idle")
        if app:
            # Once the burst is processed: while it is, the bare handler would share the CPU with it.
            row["bare_rates"] = (bare_before, await bare_rate(ceiling, f"{tag}B", args))
        load = await open_loop(server.url, paced, args.rate)
        row.update(paced_p50=pct(load.latencies, 0.5), paced_p99=pct(load.latencies, 0.99),
                   paced_errors=dict(load.errors))
        if not app:
            return row
        paced_ids = [f"om-{tag}p-{i}" for i in range(len(paced))]
        ok = await wait_replies(fake, paced_ids, args.timeout)
        stats = await asyncio.to_thread(server.ask, "idle")
        events = len(helps) + len(paced)
        row.update(help_cpu=(stats["cpu_ms"] - before["cpu_ms"]) / events,
                   help_statements=(stats["statements"] - before["statements"]) / events,
                   help_commits=(stats["commits"] - before["commits"]) / events)
        if not ok:
            row["missing"] = sum(1 for i in paced_ids if i not in fake.replies)

        # e2e
        if args.profile and args.profile_phase == "e2e":
            await asyncio.to_thread(server.ask, "profile")
        before = await asyncio.to_thread(server.ask, "stats")
        every = round(1 / args.mix) if args.mix > 0 else 0
        commands = [message(i, f"{tag}c", every > 0 and i % every == 0) for i in range(args.commands)]
        ids = [m for m, _, _ in commands]
        # The events are signed beforehand (that is the platform's work); from here this process
        # sends them and takes the replies, and PostgreSQL serves the server: their CPU counts too.
        load_cpu, db_cpu = time.process_time(), postgres_cpu_seconds()
        load = await closed_loop(server.url, commands, args.concurrency, retry_503=True)
        ok = await wait_replies(fake, ids, args.timeout)
        stats = await asyncio.to_thread(server.ask, "idle")
        db_after = postgres_cpu_seconds()
        if args.profile and args.profile_phase == "e2e":
            await asyncio.to_thread(server.ask, "profile-stop")
        row.update(load_cpu=(time.process_time() - load_cpu) * 1000 / len(ids),
                   db_cpu=(db_after - db_cpu) * 1000 / len(ids) if db_cpu is not None and db_after is not None
                   else None)
        received = [fake.replies[i][0] for i in ids if i in fake.replies]
        last = max(received) if received else load.started
        e2e = [fake.replies[i][0] - load.sent_at[i] for i in ids if i in fake.replies]
        row.update(e2e_rate=len(received) / (last - load.started), e2e_p50=pct(e2e, 0.5), e2e_p99=pct(e2e, 0.99),
                   e2e_errors=load.errors_and_resent(), e2e_ack_rate=len(ids) / load.seconds,
                   cmd_cpu=(stats["cpu_ms"] - before["cpu_ms"]) / len(ids),
                   cmd_statements=(stats["statements"] - before["statements"]) / len(ids),
                   cmd_commits=(stats["commits"] - before["commits"]) / len(ids))
        if not ok:
            row["e2e_missing"] = sum(1 for i in ids if i not in fake.replies)

        # clicks, once everything before has been sent
        await asyncio.to_thread(server.ask, "drain")
        clicks: list[tuple[bytes, dict[str, str]]] = []
        for message_id in ids:
            value = done_button(fake.cards.get(message_id, {}))
            i, n = int(message_id.rsplit("-", 1)[1]), len(clicks)
            if value is not None:
                clicks.append(click(value, owner_of(i), f"om_card_{n}", f"oc_bench_{i % CHATS:02d}", tag, n))
            if len(clicks) == int(args.click_rate * args.click_seconds) + CLICK_WARMUP:
                break
        # A few clicks first, slowly: a running server has compiled these statements long before.
        await open_loop(server.url, clicks[:CLICK_WARMUP], 20.0)
        clicks = clicks[CLICK_WARMUP:]
        if args.profile and args.profile_phase == "clicks":
            await asyncio.to_thread(server.ask, "profile")
        before = await asyncio.to_thread(server.ask, "stats")
        load = await open_loop(server.url, clicks, args.click_rate, keep_bodies=True)
        if args.profile and args.profile_phase == "clicks":
            await asyncio.to_thread(server.ask, "profile-stop")
        stats = await asyncio.to_thread(server.ask, "idle")
        # A click the server could not finish within its inline budget is answered 正在处理 and its
        # card updated through the outbox once done: that counts if exactly one update arrives.
        late = [n for n, b in load.bodies.items() if b.get("toast", {}).get("content") == LATER]
        await wait_patches(fake, [f"om_card_{CLICK_WARMUP + n}" for n in late], args.timeout)
        refused = len(clicks) - sum(
            1 for n in range(len(clicks)) if (b := load.bodies.get(n)) is not None and (
                b.get("toast", {}).get("type") == "success"
                or (n in late and fake.patches[f"om_card_{CLICK_WARMUP + n}"] == 1)))
        row.update(click_cpu=(stats["cpu_ms"] - before["cpu_ms"]) / max(len(clicks), 1))
        row.update(clicks=len(clicks), click_rate=len(clicks) / load.seconds,
                   click_p50=pct(load.latencies, 0.5), click_p99=pct(load.latencies, 0.99),
                   click_errors=dict(load.errors), click_not_success=refused, clicks_late=len(late))
        await asyncio.to_thread(server.ask, "idle")

        # steady: commands offered at a fixed rate for a while (bench/steady.py)
        steady_ids: list[str] = []
        for n, rate in enumerate(args.steady_rates):
            offered = [message(i, f"{tag}s{n}", every > 0 and i % every == 0)
                       for i in range(int(rate * args.steady_seconds))]
            offered_ids = [m for m, _, _ in offered]
            steady_ids += offered_ids
            before = await asyncio.to_thread(server.ask, "stats")
            load = await open_loop(server.url, [(body, headers) for _, body, headers in offered], rate,
                                   resend_503_after=RESEND_AFTER)
            await wait_replies(fake, offered_ids, args.timeout)
            stats = await asyncio.to_thread(server.ask, "idle")
            phase, waits = results(offered_ids, rate, load.started, fake.replies)
            row.setdefault("steady", []).append({
                **phase, "steady_p50": pct(waits, 0.5), "steady_p99": pct(waits, 0.99),
                "steady_refused": load.resent, "steady_errors": dict(load.errors),
                "steady_cpu": (stats["cpu_ms"] - before["cpu_ms"]) / max(len(offered), 1)})
        await asyncio.sleep(1.0)

        # exactly once: every event that asked for a reply got exactly one, and no send repeated
        expected = [m for m, _, _ in warm + helps] + paced_ids + ids + steady_ids
        row["replies_missing"] = sum(1 for i in expected if i not in fake.replies)
        row["replies_duplicated"] = sum(1 for i in expected if len(fake.replies.get(i, ())) > 1)
        row["uuid_repeats"] = sum(1 for c in fake.uuids.values() if c > 1)
        memory = await asyncio.to_thread(server.ask, "stats")
        row.update(peak_rss_mb=memory.get("peak_rss_mb"), rss_mb=memory.get("peak_rss_now_mb"),
                   rss_total_mb=memory.get("rss_total_mb"))
        return row
    finally:
        if app:
            row.update(await asyncio.to_thread(server.stop))
            row.update(summarise(server.logs))
        await fake_runner.cleanup()


# -- PostgreSQL: a fresh schema per run ----------------------------------------------------------------



async def one_run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One round: the bare handler's phases, then each target's. The bare handler stays up all round,
    so each app's ack phase is compared with it measured right beside, on the machine of that minute."""
    loop = {"loop": args.loop, "profiler": args.profiler}
    ceilings = {"ceiling": {"kind": "ceiling", **loop}}
    if args.workers > 1:
        ceilings[f"ceiling ×{args.workers}"] = {"kind": "ceiling", "workers": args.workers, **loop}
    up: dict[str, Server] = {}
    try:
        for name, target in ceilings.items():
            up[name] = await asyncio.to_thread(Server, name, target, args.timeout)
        return await _one_run(args, loop, up)
    finally:
        for server in up.values():
            await asyncio.to_thread(server.stop)


async def _one_run(args: argparse.Namespace, loop: dict[str, Any], up: dict[str, Server]) -> list[dict[str, Any]]:
    rows = [await run_target(name, {"kind": "ceiling", **loop}, args, server) for name, server in up.items()]
    bare, bare_workers = up["ceiling"], up.get(f"ceiling ×{args.workers}", up["ceiling"])
    if not args.postgres_only:
        with tempfile.TemporaryDirectory(prefix="tuijin-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
            # Migrated here, as on PostgreSQL: a deployment migrates once (`tuijin db upgrade`, or the
            # first start), and every later start, the server measured, finds its schema current.
            await migrated_with_history(url, args.history)
            rows.append(await run_target("sqlite", {"kind": "app", "url": url, **loop,
                                                    "profile": f"{args.profile}.sqlite.txt"}, args, bare))
    if args.postgres:
        schema = f"tj_bench_{uuid.uuid4().hex[:10]}"
        await create_schema(args.postgres, schema, history=args.history)
        try:
            name = f"postgres ×{args.workers}" if args.workers > 1 else "postgres"
            if args.processors:
                name += f" +{args.processors} processor{'s' if args.processors > 1 else ''}"
            rows.append(await run_target(name, {"kind": "app", "url": args.postgres, "schema": schema, **loop,
                                                "workers": args.workers, "processors": args.processors,
                                                "profile_index": args.profile_process,
                                                "profile": f"{args.profile}.postgres.txt"}, args,
                                         bare_workers))
        finally:
            await drop_schema(args.postgres, schema)
    return rows


# -- report --------------------------------------------------------------------------------------------

def spread(values: list[float], digits: int = 0) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    fmt = f"{{:.{digits}f}}"
    if len(values) == 1:
        return fmt.format(values[0])
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def is_ceiling(name: str) -> bool:
    return name.startswith("ceiling")


def report(runs: list[list[dict[str, Any]]], args: argparse.Namespace) -> None:
    names = [r["name"] for r in runs[0]]
    by = {n: [next(r for r in run if r["name"] == n) for run in runs] for n in names}

    def ceiling_of(name: str) -> list[dict[str, Any]]:
        # A target on N workers is compared with the bare handler on N processes.
        return by[f"ceiling ×{name.split('×')[1]}"] if "×" in name else by["ceiling"]

    def beside(row: dict[str, Any]) -> float:
        """The bare handler's rate right before and right after this row's ack phase, averaged."""
        return float(statistics.mean(row["bare_rates"]))

    label = "min/median/max of" if len(runs) > 1 else "one"
    print(f"\nTuijin speed benchmark ({label} {len(runs)} run(s)): {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}; ack {args.events} events × {args.concurrency} clients; paced "
          f"{args.rate:g}/s for {args.paced_seconds:g} s; e2e {args.commands} commands ({args.mix:.0%} 新建任务); "
          f"clicks {args.click_rate:g}/s; {args.chats} chats; the servers log at {args.log_level}")
    head = ["target", "ack ev/s", "× ceiling", "ack p50", "ack p99", f"p99@{args.rate:g}/s", "e2e cmd/s",
            "e2e p50", "e2e p99", "click p99", "SQL/help", "tx/help", "SQL/cmd", "tx/cmd",
            "CPU ms/help", "CPU ms/cmd", "CPU ms/click"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in names:
        rows = by[name]
        cells = [name, spread([r["ack_rate"] for r in rows]),
                 "—" if is_ceiling(name) else spread([r["ack_rate"] / beside(r) for r in rows], 2),
                 spread([r["ack_p50"] for r in rows], 1), spread([r["ack_p99"] for r in rows], 1),
                 spread([r["paced_p99"] for r in rows], 1)]
        if is_ceiling(name):
            cells += ["—"] * 11
        else:
            cells += [spread([r["e2e_rate"] for r in rows]), spread([r["e2e_p50"] for r in rows]),
                      spread([r["e2e_p99"] for r in rows]), spread([r["click_p99"] for r in rows], 1),
                      spread([r["help_statements"] for r in rows], 1), spread([r["help_commits"] for r in rows], 1),
                      spread([r["cmd_statements"] for r in rows], 1), spread([r["cmd_commits"] for r in rows], 1),
                      spread([r["help_cpu"] for r in rows], 1), spread([r["cmd_cpu"] for r in rows], 1),
                      spread([r["click_cpu"] for r in rows], 1)]
        print("| " + " | ".join(cells) + " |")
    apps = [n for n in names if not is_ceiling(n)]
    if apps:
        def against_row(n: str) -> str:
            return spread([r["ack_rate"] / c["ack_rate"] for r, c in zip(by[n], ceiling_of(n), strict=True)], 2)

        print("\n× ceiling: each ack phase against the bare handler measured right before and right after it"
              " (its rate then, " + "; ".join(f"{n} {spread([beside(r) for r in by[n]])}/s" for n in apps)
              + "); against the round's ceiling row instead, measured minutes earlier: "
              + "; ".join(f"{n} {against_row(n)}" for n in apps))
    steady_report(names, by)
    print("\nCPU per event in the ack phase (µs): the server (its processing of the burst so far included)"
          " and this load process (sending the events); the ceiling's server only answers:")
    for name in names:
        rows = by[name]
        handled = "" if is_ceiling(name) else (
            f"; meanwhile it handled {spread([r['ack_handled'] for r in rows])} commands"
            f" and sent {spread([r['ack_sent'] for r in rows])} replies")
        print(f"  {name}: server {spread([r['ack_cpu'] for r in rows])},"
              f" load {spread([r['ack_load_cpu'] for r in rows])}{handled}")
    print("\nCPU per e2e command (ms): the server, PostgreSQL (the whole local server: sqlite rows count"
          " what else it did) and this load process (sending events, taking replies); the last column is"
          f" what {os.cpu_count()} CPUs could do at that cost if nothing else ran:")
    for name in names:
        if is_ceiling(name):
            continue
        rows = by[name]
        server_ms = [r["cmd_cpu"] for r in rows]
        db_ms = [r["db_cpu"] or 0.0 for r in rows]
        load_ms = [r["load_cpu"] for r in rows]
        budget = [(os.cpu_count() or 1) * 1000 / (a + b + c) for a, b, c in zip(server_ms, db_ms, load_ms, strict=True)]
        print(f"  {name}: server {spread(server_ms, 1)}, PostgreSQL {spread(db_ms, 1)}, load {spread(load_ms, 1)}"
              f" -> at most {spread(budget)} commands/s")
    print("\nLatencies in ms. Exactly-once and errors:")
    failed = False
    for name in names:
        for n, r in enumerate(by[name]):
            errors = {k: v for k, v in r.items() if k.endswith("errors") and v}
            errors.update({f"steady {p['steady_rate']:g}/s": p["steady_errors"]
                           for p in r.get("steady", []) if p["steady_errors"]})
            checks = {k: r.get(k, 0) for k in ("replies_missing", "replies_duplicated", "uuid_repeats",
                                               "click_not_success")}
            if not is_ceiling(name) and any(checks.values()):
                failed = True
            memory = f"{r.get('rss_mb', 0):.0f} MB (peak {r.get('peak_rss_mb', 0):.0f} MB)"
            late = r.get("clicks_late", 0)
            extra = "" if is_ceiling(name) else (f" e2e acks {r.get('e2e_ack_rate', 0):.0f}/s,"
                                                 f" clicks answered 正在处理 and updated later {late}"
                                                 f" inbox={r.get('inbox')} outbox={r.get('outbox')}"
                                                 f" RSS of the largest server process after the load {memory},"
                                                 f" of all {r.get('rss_total_mb', 0):.0f} MB;"
                                                 f" server log {r.get('log_lines', 0)} lines at"
                                                 f" {args.log_level}, {r.get('log_serious', 0)} at warning or above")
            print(f"  run {n + 1} {name}: {'' if is_ceiling(name) else checks} errors={errors or 'none'}{extra}")
            for line in r.get("log_first", []):
                print(f"    [server log] {line}")
    print("exactly once: " + ("FAILED (see above)" if failed else "every command answered exactly once"))
    if failed:
        raise SystemExit(1)


def steady_report(names: list[str], by: dict[str, list[dict[str, Any]]]) -> None:
    """The steady phases (bench/steady.py): one row per target and offered rate."""
    apps = [n for n in names if not is_ceiling(n) and by[n][0].get("steady")]
    if not apps:
        return
    print("\nSteady: commands offered open loop at a fixed rate (a 503 re-sent 1 s later); served/s counts"
          " replies received within the offered window; p50/p99 from scheduled send to reply; drain: seconds"
          " after the window until the last reply")
    head = ["target", "offered/s", "served/s", "p50", "p99", "503s", "drain s", "CPU ms/cmd"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in apps:
        for k, phase in enumerate(by[name][0]["steady"]):
            rows = [r["steady"][k] for r in by[name]]
            print("| " + " | ".join([
                name, f"{phase['steady_rate']:g}", spread([r["steady_served"] for r in rows]),
                spread([r["steady_p50"] for r in rows]), spread([r["steady_p99"] for r in rows]),
                spread([r["steady_refused"] for r in rows]), spread([r["steady_drain"] for r in rows], 1),
                spread([r["steady_cpu"] for r in rows], 1)]) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TUIJIN_TEST_DATABASE_URL", ""),
                        help="also run on PostgreSQL (default: $TUIJIN_TEST_DATABASE_URL)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--postgres-only", action="store_true", help="skip the SQLite target")
    parser.add_argument("--events", type=int, default=2000, help="events in the ack phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s offered in the paced phase")
    parser.add_argument("--paced-seconds", type=float, default=2.0)
    parser.add_argument("--commands", type=int, default=1600, help="commands in the e2e phase")
    parser.add_argument("--mix", type=float, default=0.25,
                        help="share of the e2e commands that are 新建任务 (the rest are 帮助); 0..1")
    parser.add_argument("--steady-rates", type=lambda v: [float(x) for x in v.split(",") if x.strip()],
                        default=[150.0, 400.0],
                        help="commands/s offered in the steady phases, comma-separated ('' for none)")
    parser.add_argument("--steady-seconds", type=float, default=8.0, help="seconds each steady phase offers")
    parser.add_argument("--click-rate", type=float, default=200.0)
    parser.add_argument("--click-seconds", type=float, default=1.5,
                        help="seconds of clicks (needs --commands × --mix tasks, plus 20 to warm up)")
    parser.add_argument("--chats", type=int, default=200,
                        help="group chats the events come from; replies to each are paced to Feishu's 5/s")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds allowed for each wait")
    parser.add_argument("--history", type=int, default=20000,
                        help="finished events and sent messages in the queue tables before the run (bench/history.py)")
    parser.add_argument("--workers", type=int, default=1,
                        help="serving processes on PostgreSQL (TUIJIN_WORKERS); SQLite always runs one")
    parser.add_argument("--processors", type=int, default=0,
                        help="processor processes beside the PostgreSQL target's servers (TUIJIN_PROCESSORS)")
    parser.add_argument("--log-level", default="INFO",
                        help="the servers' log level, as TUIJIN_LOG_LEVEL (INFO, as deployed): they log as "
                             "`tuijin serve` does, into a file each (bench/server_log.py)")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                        help="event loop of the servers (TUIJIN_EVENT_LOOP)")
    parser.add_argument("--profile", default="", help="write a pyinstrument profile of one phase to PREFIX.*.txt")
    parser.add_argument("--profiler", choices=("pyinstrument", "py-spy"), default="pyinstrument",
                        help="py-spy samples from outside (collapsed stacks in PREFIX.*.raw; bench/spy_shares.py)")
    parser.add_argument("--profile-phase", choices=("ack", "e2e", "clicks"), default="e2e")
    parser.add_argument("--profile-process", type=int, default=0,
                        help="PostgreSQL server process to profile: 0 the first worker, --workers the first processor")
    args = parser.parse_args()
    if not 0 < args.events <= 100_000 or not 0 < args.concurrency <= 256 or not 0 < args.runs <= 10 \
            or not 0 < args.workers <= 16 or not 0 <= args.processors <= 16:
        parser.error("--events 1..100000, --concurrency 1..256, --runs 1..10, --workers 1..16, --processors 0..16")
    globals()["CHATS"] = args.chats  # the load's messages and clicks read it
    runs = [asyncio.run(one_run(args)) for _ in range(args.runs)]
    report(runs, args)


if __name__ == "__main__":
    main()
