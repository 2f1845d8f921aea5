"""The HTTP edge of the real app: health, readiness, metrics, bad bodies."""

from __future__ import annotations

from storage.db import Database
from tests.support import start_app


async def test_healthz_and_readyz(aiohttp_client, sqlite_db, clock):
    client, _ = await start_app(aiohttp_client, sqlite_db, clock)
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"database": True, "cache": True, "schema": True}


async def test_readyz_reports_unreachable_database(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await services.db.dispose()
    # Port 1 on loopback: nothing listens, so the connection is refused at once.
    services.db.engine = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none").engine
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["checks"]["database"] is False


async def test_metrics_is_prometheus_text(aiohttp_client, sqlite_db, clock):
    client, _ = await start_app(aiohttp_client, sqlite_db, clock)
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    body = await response.text()
    assert "# TYPE tuijin_outbox_pending gauge" in body


async def test_oversized_body_gets_413(aiohttp_client, sqlite_db, clock):
    client, _ = await start_app(aiohttp_client, sqlite_db, clock, max_body_bytes=1024)
    response = await client.post("/console/api/messages", data=b"x" * 5000,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 413


async def test_malformed_json_gets_400(aiohttp_client, sqlite_db, clock):
    client, _ = await start_app(aiohttp_client, sqlite_db, clock)
    response = await client.post("/console/api/messages", data=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "error" in await response.json()


async def test_the_running_app_schedules_the_minute_sweep(aiohttp_client, sqlite_db, clock):
    from bot.app import SERVICES, build_services, create_app
    from tests.support import make_settings

    services = build_services(make_settings(), clock=clock, db=sqlite_db)
    client = await aiohttp_client(create_app(services, migrate=False))
    job = client.app[SERVICES].sweep_job._scheduler.get_job("sweeps")
    assert job is not None and job.trigger.interval.total_seconds() == 60
    assert (job.max_instances, job.coalesce) == (1, True)


async def test_metrics_can_require_a_bearer_token(aiohttp_client, sqlite_db, clock):
    from pydantic import SecretStr

    client, _ = await start_app(aiohttp_client, sqlite_db, clock, metrics_token=SecretStr("s3cret-token"))
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    ok = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status == 200 and "tuijin_inbound_events" in await ok.text()


async def test_the_console_is_served_only_where_it_cannot_be_reached_by_accident(aiohttp_client, sqlite_db, clock):
    cases = [
        ({}, 200),  # nothing configured, loopback: the newcomer's console
        ({"host": "0.0.0.0"}, 404),  # reachable from elsewhere: off unless asked for
        ({"feishu": {"app_id": "cli_x", "app_secret": "s"}}, 404),  # a real platform is configured
        ({"host": "0.0.0.0", "console": {"enabled": True}}, 200),  # explicitly asked for
    ]
    for settings, status in cases:
        client, _ = await start_app(aiohttp_client, sqlite_db, clock, **settings)
        assert (await client.get("/console")).status == status, settings
        api = await client.post("/console/api/messages", json={"chat_id": "oc_q4promo", "user_id": "u_zhangmin",
                                                               "text": "帮助"})
        assert api.status == (202 if status == 200 else 404), settings
