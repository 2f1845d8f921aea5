"""`tuijin tick`: replays a window through the outbound path only, and delivers what it queued now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.cli import _tick
from tests.adapters.feishu.signed import ENCRYPT_KEY, VERIFICATION_TOKEN
from tests.e2e.conftest import CHAT, FeishuE2E
from tests.support import make_settings, settle


async def test_tick_in_long_connection_mode_opens_no_socket_and_sends_a_future_window_now(
    feishu_app: FeishuE2E,
) -> None:
    app = feishu_app
    if not app.services.db.is_sqlite:
        pytest.skip("tick reads TUIJIN_DATABASE_URL; the PostgreSQL test schema is pinned per connection")
    await app.create_task()  # due tomorrow (Tuesday 2026-11-24) 18:00
    sent_before = len(app.sent())
    settings = make_settings(database_url=app.services.db.url, feishu={
        "app_id": app.fake.app_id, "app_secret": app.fake.app_secret, "encrypt_key": ENCRYPT_KEY,
        "verification_token": VERIFICATION_TOKEN, "api_base": app.fake.base_url, "mode": "longconn",
    })
    # Tuesday 09:00 is inside the task's last 24 hours; for the server's frozen clock it is the future.
    queued = await _tick(settings, datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))

    assert queued["due_alerts"] == 1
    assert app.fake.endpoint_requests == [] and app.fake.ws_connections == 0
    pushes = app.sent()[sent_before:]
    assert len(pushes) == 1 and pushes[0]["receive_id"] == CHAT
    assert "即将到期" in str(pushes[0]["content"])
    again = await _tick(settings, datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert again["due_alerts"] == 0
    assert len(app.sent()) == sent_before + 1


async def test_two_ticks_for_one_instant_send_the_stand_up_once(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    if not app.services.db.is_sqlite:
        pytest.skip("tick reads TUIJIN_DATABASE_URL; the PostgreSQL test schema is pinned per connection")
    await app.create_task()
    response = await app.post(app.message("@_user_1 站会 时间 09:30"))
    assert response.status == 200
    await settle(app.services)
    sent_before = len(app.sent())
    settings = make_settings(database_url=app.services.db.url, feishu={
        "app_id": app.fake.app_id, "app_secret": app.fake.app_secret, "encrypt_key": ENCRYPT_KEY,
        "verification_token": VERIFICATION_TOKEN, "api_base": app.fake.base_url,
    })
    at = datetime(2026, 11, 24, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    first, second = await _tick(settings, at), await _tick(settings, at)
    assert first["standups"] == 1 and second["standups"] == 0
    pushes = [p for p in app.sent()[sent_before:] if "每日站会" in str(p["content"])]
    assert len(pushes) == 1 and pushes[0]["receive_id"] == CHAT
