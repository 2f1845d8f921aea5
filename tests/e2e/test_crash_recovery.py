"""kill -9 while acknowledged events are in flight: after a restart every one has its effect, once.

`tuijin serve` runs as a real subprocess (Feishu webhook mode) against the recording fake Open
API, whose contact API is slow, so many events are acknowledged but unfinished when the process
is killed. The restarted server's recovery loop must replay exactly those.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from storage.db import Database
from tests.adapters.feishu.fake_server import FakeFeishu
from tests.adapters.feishu.signed import BOT_OPEN_ID, ENCRYPT_KEY, VERIFICATION_TOKEN, encrypted_body, signed_headers
from tests.conftest import needs_postgres, own_pg_database
from tests.support import serving

pytestmark = pytest.mark.slow

TENANT = "tenant_crash"
CHAT = "oc_crash_chat"
OWNER = ("ou_owner_crash", "李四")
EVENTS = 24
TUIJIN = shutil.which("tuijin") or str(Path(sys.executable).with_name("tuijin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[needs_postgres, pytest.mark.postgres])])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'crash.sqlite3'}"
        return
    yield from own_pg_database("tj_crash")


@pytest.fixture
async def slow_feishu() -> AsyncIterator[FakeFeishu]:
    fake = FakeFeishu()
    fake.bot_open_id = BOT_OPEN_ID
    fake.contact_delay = 1.5
    fake.users[OWNER[0]] = {"open_id": OWNER[0], "name": OWNER[1], "department_ids": []}
    for i in range(EVENTS):
        open_id = f"ou_sender_{i:03d}"
        fake.users[open_id] = {"open_id": open_id, "name": f"同事{i}", "department_ids": []}
    async with serving(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake


class Server:
    """`tuijin serve` in a subprocess, started and killed like an operator (or the OOM killer) would."""

    def __init__(self, workdir: Path, env: dict[str, str], port: int) -> None:
        self.workdir, self.env, self.port = workdir, env, port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "serve.log"

    def command(self, *args: str) -> None:
        subprocess.run([TUIJIN, *args], cwd=self.workdir, env=self.env, check=True, capture_output=True,
                       timeout=120)

    def spawn(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            return subprocess.Popen([TUIJIN, "serve", "--port", str(self.port)], cwd=self.workdir,
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self.process = self.spawn()
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)  # polling for readiness, not standing in for a result
        raise AssertionError("tuijin serve did not become healthy:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _message(i: int) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    text_ = f"@_user_1 新建任务 崩溃恢复{i:03d} 负责人 @_user_2 截止 明天 交付标准 一份报告"
    return {
        "schema": "2.0",
        "header": {"event_id": f"ev_crash_{i:03d}", "event_type": "im.message.receive_v1",
                   "create_time": str(now_ms), "token": VERIFICATION_TOKEN, "app_id": "cli_test_app",
                   "tenant_key": TENANT},
        "event": {
            "sender": {"sender_id": {"open_id": f"ou_sender_{i:03d}", "union_id": "", "user_id": ""},
                       "sender_type": "user", "tenant_key": TENANT},
            "message": {
                "message_id": f"om_crash_{i:03d}", "chat_id": CHAT, "chat_type": "group", "message_type": "text",
                "content": json.dumps({"text": text_}, ensure_ascii=False),
                "mentions": [
                    {"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID}, "name": "推进", "tenant_key": TENANT},
                    {"key": "@_user_2", "id": {"open_id": OWNER[0]}, "name": OWNER[1], "tenant_key": TENANT},
                ],
            },
        },
    }


async def _post(session: aiohttp.ClientSession, port: int, i: int) -> tuple[int, int]:
    body = encrypted_body(_message(i), ENCRYPT_KEY)
    headers = signed_headers(body, ENCRYPT_KEY, int(time.time()), nonce=f"nonce-{i}")
    async with session.post(f"http://127.0.0.1:{port}/webhooks/feishu", data=body, headers=headers) as response:
        return i, response.status


async def _scalar_rows(url: str, sql: str) -> list[Any]:
    db = Database(url)
    try:
        async with db.session() as session:
            return list((await session.execute(text(sql))).all())
    finally:
        await db.dispose()


async def test_kill_9_mid_work_loses_no_acknowledged_event_and_repeats_none(
    database_url: str, slow_feishu: FakeFeishu, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TUIJIN_")},
        "TUIJIN_DATABASE_URL": database_url, "TUIJIN_REDIS_URL": "", "TUIJIN_LOG_LEVEL": "WARNING",
        "TUIJIN_CONSOLE__ENABLED": "false",
        "TUIJIN_FEISHU__APP_ID": slow_feishu.app_id, "TUIJIN_FEISHU__APP_SECRET": slow_feishu.app_secret,
        "TUIJIN_FEISHU__ENCRYPT_KEY": ENCRYPT_KEY, "TUIJIN_FEISHU__VERIFICATION_TOKEN": VERIFICATION_TOKEN,
        "TUIJIN_FEISHU__API_BASE": slow_feishu.base_url,
        "TUIJIN_INBOX__LEASE_SECONDS": "3", "TUIJIN_INBOX__RECOVERY_EVERY_SECONDS": "1",
    }
    server = Server(tmp_path, env, port)
    server.command("db", "upgrade")
    try:
        await server.start()
        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(*(_post(session, port, i) for i in range(EVENTS)))
        acknowledged = {i for i, status in results if status == 200}
        server.kill()

        assert len(acknowledged) == EVENTS, results
        unfinished = await _scalar_rows(database_url, "SELECT count(*) FROM inbox_event WHERE status = 'received'")
        assert unfinished[0][0] > 0, "the kill came after all work was done: the window was not exercised"

        await server.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pending = await _scalar_rows(database_url, "SELECT count(*) FROM inbox_event WHERE status <> 'done'")
            replied = {reply["to"] for reply in slow_feishu.replies}
            if pending[0][0] == 0 and len(replied) >= len(acknowledged):
                break
            await asyncio.sleep(0.2)  # polling the outcome with a deadline
        titles = [row[0] for row in await _scalar_rows(database_url, "SELECT title FROM task")]
        assert sorted(titles) == sorted(f"崩溃恢复{i:03d}" for i in acknowledged), server.log.read_text()[-3000:]
        replies = Counter(reply["to"] for reply in slow_feishu.replies)
        assert set(replies) == {f"om_crash_{i:03d}" for i in acknowledged}
        assert all(count == 1 for count in replies.values()), replies
        states = await _scalar_rows(database_url, "SELECT status, count(*) FROM inbox_event GROUP BY status")
        assert dict(states) == {"done": EVENTS}
    finally:
        server.stop()
