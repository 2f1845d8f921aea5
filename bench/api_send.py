"""CPU time our process spends per reply sent to Feishu's Open API (FeishuClient.reply_message).

A fake of the reply endpoint runs in a child process, so only the sending side is timed: token,
rate-limit bookkeeping, JSON encoding, the HTTP client and parsing the answer. `--concurrency`
senders share one client and send `--sends` interactive-card replies; each of `--runs` rounds
reports time.process_time() per send (CPU, not disturbed much by other load on the machine) and
the wall-clock rate. A warm-up round fetches the token and fills the connection pool first. The
sender runs on the server's event loop (`--loop auto`: uvloop where installed).

    python bench/api_send.py                        # 3000 sends, 16 senders, 3 rounds
    python bench/api_send.py --sends 5000 --concurrency 32 --runs 5 --loop asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from child_server import serve_until_told
from pydantic import SecretStr

from adapters.feishu.client import FeishuClient
from adapters.feishu.settings import FeishuSettings
from bot.clock import SystemClock
from bot.event_loop import loop_name, new_event_loop
from storage.cache import InProcessCache

# About the size of the 帮助 card the bot replies with.
CARD: dict[str, Any] = {
    "schema": "2.0",
    "config": {"update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "推进 · 帮助"}, "template": "blue"},
    "body": {"elements": [
        {"tag": "markdown", "content": f"**命令 {i}** `新建任务 Q4新品宣传物料制作 负责人 @张敏 截止 10月15日`"}
        for i in range(20)
    ]},
}


def serve(conn: Connection) -> None:
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    sent = 0

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": "t-bench", "expire": 7200})

    async def reply(request: web.Request) -> web.Response:
        nonlocal sent
        await request.read()
        sent += 1
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": f"om_out{sent}"}})

    app = web.Application()
    app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", token)
    app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", reply)
    await serve_until_told(app, conn)


async def send_all(client: FeishuClient, sends: int, concurrency: int) -> None:
    queue = iter(range(sends))

    async def sender() -> None:
        for i in queue:
            await client.reply_message(f"om_in{i}", "interactive", CARD, f"u-{i}")

    await asyncio.gather(*(sender() for _ in range(concurrency)))


async def measure(port: int, args: argparse.Namespace) -> list[tuple[float, float]]:
    settings = FeishuSettings(enabled=True, app_id="cli_bench", app_secret=SecretStr("secret"),
                              api_base=f"http://127.0.0.1:{port}", send_per_second=10**9, send_per_minute=10**9)
    cache = InProcessCache()
    client = FeishuClient(settings, cache, SystemClock())
    rounds = []
    try:
        await send_all(client, min(args.sends, 200), args.concurrency)
        for _ in range(args.runs):
            cpu, wall = time.process_time(), time.perf_counter()
            await send_all(client, args.sends, args.concurrency)
            rounds.append((time.process_time() - cpu, time.perf_counter() - wall))
    finally:
        await client.close()
        await cache.close()
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    fake = multiprocessing.get_context("spawn").Process(target=serve, args=(theirs,), daemon=True)
    fake.start()
    try:
        port = ours.recv()
        with asyncio.Runner(loop_factory=lambda: new_event_loop(args.loop)) as runner:
            loop = loop_name(runner.get_loop())
            rounds = runner.run(measure(port, args))
    finally:
        ours.send("stop")
        fake.join(10)
    per_send = [cpu / args.sends * 1000 for cpu, _ in rounds]
    for i, (cpu, wall) in enumerate(rounds, 1):
        print(f"round {i}: {cpu / args.sends * 1000:.3f} ms CPU/send, {args.sends / wall:.0f} sends/s")
    print(f"CPU per send (min/median/max): {min(per_send):.3f} / {statistics.median(per_send):.3f} / "
          f"{max(per_send):.3f} ms over {args.sends} sends, {args.concurrency} senders, {loop}")


if __name__ == "__main__":
    main()
