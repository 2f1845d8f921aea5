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
        assert _get(f"http://127.0.0.1:{port}/readyz")["checks"] == {"database": True, "cache": True}
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
