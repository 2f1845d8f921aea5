"""A server database behind the code's migrations: refused at start, reported by /readyz."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import SchemaBehind, build_services, create_app
from bot.clock import FrozenClock
from storage.db import Database
from tests.conftest import PG_URL, needs_postgres
from tests.support import make_settings

pytestmark = [needs_postgres, pytest.mark.postgres]


async def _admin(sql: str) -> None:
    db = Database(PG_URL)
    async with db.engine.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text(sql))
    await db.dispose()


@pytest.fixture
def old_database() -> Iterator[str]:
    """A PostgreSQL database migrated only to the first revision, as an older release left it."""
    name = f"tj_old_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"

    async def migrate_to_first() -> None:
        db = Database(url)
        await db.upgrade("0001")
        await db.dispose()

    asyncio.run(migrate_to_first())
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_serve_refuses_a_database_behind_and_says_what_to_run(old_database: str, tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIJIN_")}
    env.update(TUIJIN_DATABASE_URL=old_database, TUIJIN_CONSOLE__ENABLED="false")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--port", "0"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "tuijin db upgrade" in result.stderr and "Traceback" not in result.stderr
    upgraded = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
    assert upgraded.returncode == 0, upgraded.stderr


async def test_readyz_says_the_schema_is_behind(old_database: str, aiohttp_client: Any, clock: FrozenClock) -> None:
    db = Database(old_database)
    services = build_services(make_settings(database_url=old_database), clock=clock, db=db)
    app = create_app(services, migrate=False, start_worker=False)
    with pytest.raises(SchemaBehind):
        await aiohttp_client(app)
    await db.dispose()
    # /readyz of a running server whose database was rolled back underneath it.
    fresh = Database(old_database)
    await fresh.upgrade()
    services = build_services(make_settings(database_url=old_database), clock=clock, db=fresh)
    client = await aiohttp_client(create_app(services, migrate=False, start_worker=False))
    assert (await (await client.get("/readyz")).json())["checks"]["schema"] is True
    async with fresh.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    ready = await client.get("/readyz")
    assert ready.status == 503 and (await ready.json())["checks"]["schema"] is False
