"""Redis stops while replies wait to be sent: nothing is lost, nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.feishu.adapter import FeishuAdapter
from adapters.feishu.client import FeishuClient
from bot.app import build_services, create_app
from bot.clock import FrozenClock
from storage.db import Database
from storage.redis_cache import RedisCache
from tests.adapters.feishu.conftest import RecordingSleep
from tests.adapters.feishu.fake_server import FakeFeishu
from tests.adapters.feishu.signed import ENCRYPT_KEY, VERIFICATION_TOKEN
from tests.conftest import PrivateRedis
from tests.e2e.conftest import FeishuE2E, seed_directory
from tests.support import make_settings


async def test_replies_queued_while_redis_is_down_are_sent_once_it_is_back(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock, feishu_fake: FakeFeishu,
    recorded_sleep: RecordingSleep, private_redis: PrivateRedis,
) -> None:
    seed_directory(feishu_fake)
    settings = make_settings(feishu={
        "app_id": feishu_fake.app_id, "app_secret": feishu_fake.app_secret, "encrypt_key": ENCRYPT_KEY,
        "verification_token": VERIFICATION_TOKEN, "api_base": feishu_fake.base_url,
    })
    cache = RedisCache(private_redis.url, prefix="outage:")
    services = build_services(settings, clock=clock, db=any_db, cache=cache)
    client = FeishuClient(settings.feishu, cache, clock, sleep=recorded_sleep)
    services.adapters["feishu"] = FeishuAdapter(settings.feishu, services.pipeline, cache, clock, client=client)
    app = FeishuE2E(await aiohttp_client(create_app(services, migrate=False, start_worker=False)), services,
                    feishu_fake, clock, recorded_sleep)

    for _ in range(3):
        assert (await app.post(app.message())).status == 200
    await services.supervisor.idle()  # the commands are done; their replies wait in the outbox

    private_redis.stop()
    for _ in range(3):
        await services.worker.run_once()
        clock.advance(timedelta(minutes=2))
    assert app.sent() == []
    async with any_db.session() as session:
        from storage.repositories import OutboxRepository
        assert await OutboxRepository(session).counts_by_status() == {"pending": 3}

    private_redis.start()
    for _ in range(20):
        if len(app.sent()) == 3:
            break
        clock.advance(timedelta(minutes=5))
        await services.worker.run_once()
    assert len(app.sent()) == 3
    assert len({m["message_id"] for m in app.sent()}) == 3
    assert len(await app.tasks()) == 3
