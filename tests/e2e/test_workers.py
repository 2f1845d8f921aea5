"""`tuijin serve --workers 2`: two processes share the port; one is killed -9 mid-work; nothing is lost.

A real subprocess on PostgreSQL and Redis, Feishu in webhook mode against the recording fake Open
API (its contact API is slow, so events are in flight when a worker dies). The supervisor must
start the killed worker again, the survivors and the recovery loop must finish every
acknowledged event exactly once, /metrics must count the events of all workers, and SIGTERM must
stop the whole server cleanly.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from storage.redis_cache import RedisCache
from tests.adapters.feishu.fake_server import FakeFeishu
from tests.adapters.feishu.signed import ENCRYPT_KEY, VERIFICATION_TOKEN, encrypted_body, signed_headers
from tests.conftest import REDIS_URL, needs_postgres, needs_redis, own_pg_database
from tests.e2e.test_crash_recovery import EVENTS, Server, _free_port, _message, _scalar_rows, slow_feishu

__all__ = ["slow_feishu"]  # a fixture reused from the single-process crash test
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, needs_postgres, needs_redis]


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    yield from own_pg_database("tj_workers")


def worker_pids(parent: int) -> set[int]:
    """The serving children of the supervisor (multiprocessing also starts a resource tracker)."""
    pids = set()
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            pids.add(int(child))
    return pids


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def until(check, what: str, seconds: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.2)  # polling an outcome with a deadline
    raise AssertionError(f"timed out waiting for {what}")


async def post_until_acknowledged(port: int, i: int) -> int:
    """As Feishu does: a reset connection (the worker holding it died) is sent again."""
    body = encrypted_body(_message(i), ENCRYPT_KEY)
    for _ in range(50):
        headers = signed_headers(body, ENCRYPT_KEY, int(time.time()), nonce=f"nonce-{i}-{uuid.uuid4().hex[:6]}")
        # A new connection per request, so the kernel spreads them over the workers' sockets.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            try:
                async with session.post(f"http://127.0.0.1:{port}/webhooks/feishu", data=body,
                                        headers=headers) as response:
                    if response.status == 200:
                        return i
            except aiohttp.ClientError:
                pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"event {i} was never acknowledged")


async def test_two_workers_survive_a_kill_9_and_answer_every_event_once(
    slow_feishu: FakeFeishu, tmp_path: Path, pg_database_url: str,
) -> None:
    port = _free_port()
    prefix = f"tjtest:workers:{uuid.uuid4().hex[:8]}:"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TUIJIN_")},
        "TUIJIN_DATABASE_URL": pg_database_url, "TUIJIN_REDIS_URL": REDIS_URL, "TUIJIN_REDIS_PREFIX": prefix,
        "TUIJIN_WORKERS": "2", "TUIJIN_LOG_LEVEL": "WARNING", "TUIJIN_CONSOLE__ENABLED": "false",
        "TUIJIN_FEISHU__APP_ID": slow_feishu.app_id, "TUIJIN_FEISHU__APP_SECRET": slow_feishu.app_secret,
        "TUIJIN_FEISHU__ENCRYPT_KEY": ENCRYPT_KEY, "TUIJIN_FEISHU__VERIFICATION_TOKEN": VERIFICATION_TOKEN,
        "TUIJIN_FEISHU__API_BASE": slow_feishu.base_url,
        "TUIJIN_INBOX__LEASE_SECONDS": "3", "TUIJIN_INBOX__RECOVERY_EVERY_SECONDS": "1",
    }
    server = Server(tmp_path, env, port)
    server.command("db", "upgrade")
    cache = RedisCache(REDIS_URL, prefix=prefix)
    try:
        await server.start()
        assert server.process is not None
        parent = server.process.pid
        first = await until(lambda: len(pids := worker_pids(parent)) == 2 and pids, "two workers")

        half = EVENTS // 2
        await asyncio.gather(*(post_until_acknowledged(port, i) for i in range(half)))
        victim = max(first)
        os.kill(victim, signal.SIGKILL)
        await asyncio.gather(*(post_until_acknowledged(port, i) for i in range(half, EVENTS)))
        restarted = await until(lambda: len(pids := worker_pids(parent)) == 2 and victim not in pids and pids,
                                "the killed worker to be started again")
        assert restarted & first == first - {victim}

        async def finished() -> bool:
            pending = await _scalar_rows(pg_database_url, "SELECT count(*) FROM inbox_event WHERE status <> 'done'")
            return pending[0][0] == 0 and len({r["to"] for r in slow_feishu.replies}) >= EVENTS

        await until(finished, "every acknowledged event to be answered", seconds=120)
        titles = [row[0] for row in await _scalar_rows(pg_database_url, "SELECT title FROM task")]
        assert sorted(titles) == sorted(f"崩溃恢复{i:03d}" for i in range(EVENTS)), server.log.read_text()[-3000:]
        replies = Counter(reply["to"] for reply in slow_feishu.replies)
        assert set(replies) == {f"om_crash_{i:03d}" for i in range(EVENTS)}
        assert all(count == 1 for count in replies.values()), replies

        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
            metrics = await response.text()
        accepted = sum(float(value) for value in re.findall(
            r'^tuijin_inbound_events_total\{kind="message",platform="feishu"\} (\S+)$', metrics, re.M))
        # Every worker's count, the dead one's included; a re-sent event that was already stored is a duplicate.
        assert accepted == EVENTS, metrics

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0, server.log.read_text()[-3000:]
        assert not any(alive(pid) for pid in restarted)
    finally:
        server.stop()
        await cache.delete_prefix()
        await cache.close()
