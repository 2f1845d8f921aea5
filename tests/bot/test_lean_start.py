"""A server whose database is current never loads the migration tool, nor the Redis client unless configured.

Alembic (with Mako and Pygments) and redis-py hold about 13 MB of a server's memory once imported
(issue 7's memory target). The server is started in a fresh interpreter, since this one has both.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from storage.db import Database

# Starts the real app on a free port, answers /healthz, stops, and prints which of the libraries
# it loaded.
_SERVE_AND_REPORT = """
import asyncio, sys
from aiohttp import ClientSession, web
from bot.app import build_services, create_app
from tests.support import make_settings

async def main(url):
    services = build_services(make_settings(database_url=url))
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    async with ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{runner.addresses[0][1]}/healthz") as answer:
            assert answer.status == 200, answer.status
    await runner.cleanup()
    loaded = sorted({name.split(".")[0] for name in sys.modules} & {"alembic", "mako", "pygments", "redis"})
    print("loaded:" + ",".join(loaded))

asyncio.run(main(sys.argv[1]))
"""


def _libraries_loaded_by_a_server_on(url: str) -> set[str]:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", _SERVE_AND_REPORT, url], cwd=root, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = [line for line in result.stdout.splitlines() if line.startswith("loaded:")]
    assert len(report) == 1, result.stdout[-2000:]
    return {name for name in report[0].removeprefix("loaded:").split(",") if name}


def test_a_server_on_a_current_database_loads_neither_alembic_nor_redis(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'current.sqlite3'}"

    async def migrate() -> None:
        db = Database(url)
        await db.upgrade()
        await db.dispose()

    asyncio.run(migrate())
    assert _libraries_loaded_by_a_server_on(url) == set()


def test_the_first_start_on_a_new_file_migrates_it_with_alembic(tmp_path: Path) -> None:
    # The other side of the check above: the report does see Alembic when the server needs it.
    assert "alembic" in _libraries_loaded_by_a_server_on(f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}")
