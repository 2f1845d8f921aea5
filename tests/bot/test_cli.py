"""The README's commands, run as a newcomer runs them: `tuijin` in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

TUIJIN = [sys.executable, "-m", "bot.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIJIN_")}
    env.update({"TUIJIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"}, **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def test_help_lists_the_commands():
    result = subprocess.run([*TUIJIN, "--help"], capture_output=True, text=True, check=True)
    for command in ("serve", "demo", "db"):
        assert command in result.stdout


def test_db_upgrade_creates_the_schema(tmp_path):
    result = subprocess.run([*TUIJIN, "db", "upgrade"], capture_output=True, text=True, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "cli.sqlite3").exists()


def test_demo_serves_the_seed_project_and_stops_cleanly(tmp_path):
    port = _free_port()
    process = subprocess.Popen([*TUIJIN, "demo", "--port", str(port)], env=_env(tmp_path), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The banner is printed once the socket is bound: wait on it, not on a timer.
        assert process.stdout is not None
        assert "listening on" in process.stdout.readline()
        assert _get(f"http://127.0.0.1:{port}/healthz") == {"status": "ok"}
        assert _get(f"http://127.0.0.1:{port}/readyz")["checks"] == {"database": True, "cache": True, "schema": True}
        html = urllib.request.urlopen(f"http://127.0.0.1:{port}/console", timeout=5).read().decode()
        assert "推进" in html
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/console/api/events?chat_id=oc_q4promo",
                                    timeout=15) as stream:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/console/api/messages", method="POST",
                headers={"Content-Type": "application/json"},
                data=json.dumps({"chat_id": "oc_q4promo", "user_id": "u_zhangmin",
                                 "text": "任务 XZB20231001"}).encode(),
            )
            assert urllib.request.urlopen(request, timeout=5).status == 202
            card = None
            for raw in stream:  # server-sent events, as the page receives them
                line = raw.decode().strip()
                if line.startswith("data: "):
                    message = json.loads(line[len("data: "):])
                    if message["sender"]["is_bot"]:
                        card = message["card"]
                        break
        assert card is not None and card["title"] == "XZB20231001 Q4新品宣传物料制作"
        text = json.dumps(card, ensure_ascii=False)
        for code in ("XZB20231001-01", "XZB20231001-02", "XZB20231001-03"):
            assert code in text
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_tick_replays_an_instant_and_sends_nothing_twice(tmp_path):
    env = _env(tmp_path)
    seed = ("import asyncio\n"
            "from bot.clock import FrozenClock\n"
            "from bot.config import Settings\n"
            "from bot.demo import load_demo\n"
            "from storage.db import Database\n"
            "from datetime import datetime, timezone\n"
            "async def main():\n"
            "    db = Database(Settings().resolved_database_url()); await db.upgrade()\n"
            "    await load_demo(db, Settings(), FrozenClock(datetime(2026, 11, 23, 2, tzinfo=timezone.utc)))\n"
            "    await db.dispose()\n"
            "asyncio.run(main())\n")
    subprocess.run([sys.executable, "-c", seed], env=env, check=True, cwd=tmp_path)
    # The demo's -01 is due Tuesday 18:00: Tuesday 09:00 is inside its last 24 hours.
    first = subprocess.run([*TUIJIN, "tick", "--at", "2026-11-24T09:00"], env=env, capture_output=True, text=True)
    again = subprocess.run([*TUIJIN, "tick", "--at", "2026-11-24T09:00"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "due_alerts 1" in first.stdout
    assert "due_alerts 0" in again.stdout
    bad = subprocess.run([*TUIJIN, "tick", "--at", "next tuesday"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "ISO" in bad.stderr and "Traceback" not in bad.stderr
