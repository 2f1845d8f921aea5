"""SIGTERM with a backlog: what the stopping server leased but did not finish is given back at once.

`tuijin serve` runs as a real subprocess against the fake Feishu, whose slow contact API keeps
acknowledged events waiting. The leases are ten minutes long, so a restarted server that had to
wait for them could not finish within the test's deadline: it finishes only because the stopping
server gave its unfinished rows back (bot/leases.py). Each event still has its effect once.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.feishu.fake_server import FakeFeishu
from tests.adapters.feishu.signed import ENCRYPT_KEY, VERIFICATION_TOKEN
from tests.e2e.test_crash_recovery import (
    EVENTS,
    Server,
    _free_port,
    _post,
    _scalar_rows,
    database_url,
    slow_feishu,
)

__all__ = ["database_url", "slow_feishu"]  # fixtures reused from the crash test

pytestmark = pytest.mark.slow

LEASE_SECONDS = 600
DEADLINE_SECONDS = 90


async def test_sigterm_gives_back_the_backlog_and_a_restart_takes_it_at_once(
    database_url: str, slow_feishu: FakeFeishu, tmp_path: Path
) -> None:
    slow_feishu.contact_delay = 5.0
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TUIJIN_")},
        "TUIJIN_DATABASE_URL": database_url, "TUIJIN_REDIS_URL": "", "TUIJIN_LOG_LEVEL": "INFO",
        "TUIJIN_CONSOLE__ENABLED": "false",
        "TUIJIN_FEISHU__APP_ID": slow_feishu.app_id, "TUIJIN_FEISHU__APP_SECRET": slow_feishu.app_secret,
        "TUIJIN_FEISHU__ENCRYPT_KEY": ENCRYPT_KEY, "TUIJIN_FEISHU__VERIFICATION_TOKEN": VERIFICATION_TOKEN,
        "TUIJIN_FEISHU__API_BASE": slow_feishu.base_url,
        "TUIJIN_INBOX__LEASE_SECONDS": str(LEASE_SECONDS), "TUIJIN_INBOX__RECOVERY_EVERY_SECONDS": "1",
        "TUIJIN_DRAIN_SECONDS": "2",
    }
    server = Server(tmp_path, env, port)
    server.command("db", "upgrade")
    try:
        await server.start()
        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(*(_post(session, port, i) for i in range(EVENTS)))
        assert all(status == 200 for _, status in results), results
        server.stop()  # SIGTERM: drains for a while, cancels the rest, gives back its leases
        assert server.process is not None and server.process.returncode == 0, server.log.read_text()[-3000:]

        left = await _scalar_rows(
            database_url, "SELECT lease_until, lease_owner FROM inbox_event WHERE status = 'received'")
        assert left, "the backlog was finished before the stop: the window was not exercised"
        assert all(row == (None, None) for row in left), left
        assert "leases given back at shutdown" in server.log.read_text()

        slow_feishu.contact_delay = 0.0
        started = time.monotonic()
        await server.start()
        while time.monotonic() - started < DEADLINE_SECONDS:
            pending = await _scalar_rows(database_url, "SELECT count(*) FROM inbox_event WHERE status <> 'done'")
            if pending[0][0] == 0 and len(slow_feishu.replies) >= EVENTS:
                break
            await asyncio.sleep(0.2)  # polling the outcome with a deadline far below the lease
        titles = [row[0] for row in await _scalar_rows(database_url, "SELECT title FROM task")]
        assert sorted(titles) == sorted(f"崩溃恢复{i:03d}" for i in range(EVENTS)), server.log.read_text()[-3000:]
        replies = Counter(reply["to"] for reply in slow_feishu.replies)
        assert replies == Counter({f"om_crash_{i:03d}": 1 for i in range(EVENTS)}), replies
    finally:
        server.stop()
