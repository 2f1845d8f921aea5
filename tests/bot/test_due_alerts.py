"""Due-soon and overdue reminders: once each, in working hours, never twice for one instant."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.support import settle, start_app

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHAT = "oc_q4promo"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


async def bot_cards(client):
    response = await client.get("/console/api/messages", params={"chat_id": CHAT, "after": 0})
    return [m["card"] for m in (await response.json())["messages"] if m["sender"]["is_bot"] and m["card"]]


async def sweep(services, at):
    services.clock.set(at)
    queued = await services.sweeps.run(at)
    await settle(services)
    return queued["due_alerts"]


async def test_due_soon_then_overdue_reminders(aiohttp_client, any_db, clock):
    client, services = await start_app(aiohttp_client, any_db, clock)
    # Monday 10:00: a task due Thursday 18:00, and one already finished.
    await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhangmin",
                                                     "text": "新建任务 海报设计 负责人 @赵磊 截止 周四"})
    await settle(services)
    await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhangmin",
                                                     "text": "新建任务 已完成的 负责人 @赵磊 截止 周四"})
    await settle(services)
    await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhaolei",
                                                     "text": "完成 XZB20261102"})
    await settle(services)
    before = len(await bot_cards(client))

    assert await sweep(services, local(24, 10)) == 0          # Tuesday: not within 24 h yet
    assert await sweep(services, local(25, 18, 30)) == 0      # Wednesday evening: after working hours
    assert await sweep(services, local(26, 9)) == 1           # Thursday 09:00: due soon
    assert await sweep(services, local(26, 9)) == 0           # the same instant again: nothing
    assert await sweep(services, local(26, 9, 1)) == 0        # a minute later: already reminded
    assert await sweep(services, local(27, 9)) == 1           # Friday: overdue
    assert await sweep(services, local(27, 15)) == 0          # once a day
    assert await sweep(services, local(28, 10)) == 0          # Saturday: nobody is pinged
    assert await sweep(services, local(30, 9)) == 1           # Monday: overdue again

    cards = (await bot_cards(client))[before:]
    assert len(cards) == 3
    assert [c["title"] for c in cards] == ["XZB20261101 海报设计"] * 3
    assert "即将到期" in cards[0]["elements"][0]["content"]
    assert "@赵磊" in cards[0]["elements"][0]["content"]
    assert "已延期" in cards[1]["elements"][0]["content"]
    health = {k: v for el in cards[1]["elements"] if el["type"] == "fields" for k, v in el["items"]}["健康"]
    assert "延期" in health


async def test_a_task_created_inside_the_window_gets_no_due_soon_ping(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhangmin",
                                                     "text": "新建任务 急事 负责人 @赵磊 截止 今天 17点"})
    await settle(services)
    assert await sweep(services, local(23, 10, 1)) == 0
    assert await sweep(services, local(23, 17, 1)) == 1  # but it is still chased once it is late
