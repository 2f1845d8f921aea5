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
    # Monday: overdue again, and late for two working days (Friday, Monday): escalated once.
    assert await sweep(services, local(30, 9)) == 2

    # Task cards only: Monday's sweep also catches up the weekly digest missed on Friday.
    cards = [c for c in (await bot_cards(client))[before:] if c["title"].startswith("XZB")]
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


async def test_a_tenant_whose_reminders_fail_holds_up_no_other_tenant(aiohttp_client, any_db, clock):
    from sqlalchemy import text

    from bot.core import ConversationRef, MessageEvent, UserRef

    client, services = await start_app(aiohttp_client, any_db, clock)
    await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhangmin",
                                                     "text": "新建任务 海报设计 负责人 @赵磊 截止 周四"})
    other = ConversationRef("console", "broken-tenant", "oc_market", "group", "市场部工作群")
    await services.pipeline.accept_message(MessageEvent(
        event_id="other-1", conversation=other, sender=UserRef("u_zhangmin", "张敏"),
        text="新建任务 另一家的任务 负责人 <@u_zhaolei> 截止 周四", occurred_at=clock.now(),
        mentions=(UserRef("u_zhaolei", "赵磊"),),
    ))
    await settle(services)
    # The database refuses that tenant's pushes, as a corrupt row or a full partition would.
    async with any_db.engine.begin() as conn:
        if any_db.is_sqlite:
            await conn.execute(text("CREATE TRIGGER refuse_push BEFORE INSERT ON outbox_message "
                                    "WHEN NEW.tenant_key = 'broken-tenant' BEGIN SELECT RAISE(FAIL, 'no'); END"))
        else:
            await conn.execute(text("CREATE OR REPLACE FUNCTION refuse_push() RETURNS trigger AS $$ BEGIN "
                                    "IF NEW.tenant_key = 'broken-tenant' THEN RAISE EXCEPTION 'no'; END IF; "
                                    "RETURN NEW; END; $$ LANGUAGE plpgsql"))
            await conn.execute(text("CREATE TRIGGER refuse_push BEFORE INSERT ON outbox_message "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse_push()"))
    try:
        services.clock.set(local(26, 9))
        done = await services.sweeps.run(local(26, 9))
    finally:
        async with any_db.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER refuse_push" + ("" if any_db.is_sqlite else " ON outbox_message")))
    assert done["due_alerts"] == 1  # the healthy tenant's reminder went out
    assert "retention" in done  # and the sweeps after it still ran
    failures = services.metrics.registry.get_sample_value("tuijin_sweep_failures_total", {"sweep": "due_alerts"})
    assert failures == 1
    # The failed tenant's claim was rolled back with it, so the next minute tries again.
    services.clock.set(local(26, 9, 1))
    assert (await services.sweeps.run(local(26, 9, 1)))["due_alerts"] == 1


async def test_minute_by_minute_the_sweep_reads_only_what_changed_and_misses_nothing(aiohttp_client, any_db, clock):
    """Later minutes read only what changed since the last pass; edits, deadlines and quiet hours still count."""
    client, services = await start_app(aiohttp_client, any_db, clock)

    async def say(at, text):
        clock.set(at)
        await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhangmin", "text": text})
        await settle(services)

    await say(local(23, 10), "新建任务 海报 负责人 @赵磊 截止 11月30日")        # far off, since yesterday
    await say(local(24, 10), "新建任务 视频 负责人 @赵磊 截止 11月24日 11:30")   # late from 11:30 today
    assert await sweep(services, local(24, 10, 1)) == 0          # the first pass reads everything due
    assert await sweep(services, local(24, 10, 2)) == 0          # the next, only what changed: nothing
    await say(local(24, 10, 2).replace(second=30), "截止 XZB20261101 11月25日 09:00")
    assert await sweep(services, local(24, 10, 3)) == 1          # moved into the next 24 h: due soon
    assert await sweep(services, local(24, 10, 4)) == 0
    assert [await sweep(services, local(24, 11, m)) for m in range(26, 32)] == [0, 0, 0, 0, 1, 0]  # 11:30: late
    assert await sweep(services, local(24, 17, 59)) == 0
    assert await sweep(services, local(24, 18, 0)) == 0          # after hours
    assert await sweep(services, local(25, 9, 0)) == 2           # the next morning: the day's 🔴 for both
    assert await sweep(services, local(25, 9, 1)) == 0
    titles = [c["title"] for c in await bot_cards(client) if "XZB" in c["title"]]
    # 海报: made, its deadline moved, due soon, late; 视频: made, late at 11:30, late the next day. Each once.
    assert titles.count("XZB20261101 海报") == 4 and titles.count("XZB20261102 视频") == 3


async def test_a_late_tasks_escalation_follows_leave_as_it_stands_that_day(aiohttp_client, any_db, clock):
    """A superior's leave ended by 销假 is no leave; leave recorded after the escalation resends nothing."""
    client, services = await start_app(aiohttp_client, any_db, clock)

    async def say(user, text):
        await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": user, "text": text})
        await settle(services)

    async def texts():
        response = await client.get("/console/api/messages", params={"chat_id": CHAT, "after": 0})
        return [m["text"] for m in (await response.json())["messages"] if m["sender"]["is_bot"] and m["text"]]

    for user in ("u_zhangmin", "u_zhaolei", "u_lina", "u_zhoujie"):   # 张敏 first: the admin
        await say(user, "我的任务")
    await say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 今天")
    await say("u_zhangmin", "请假 @李娜 至 11月27日")
    await say("u_zhangmin", "销假 @李娜")                  # back the same day: no leave left
    assert sum(t.startswith("已登记") for t in await texts()) == 1
    assert await sweep(services, local(24, 10)) == 1      # overdue
    assert await sweep(services, local(25, 10)) == 2      # overdue, and escalated
    escalation = [t for t in await texts() if t.startswith("🔺")]
    assert len(escalation) == 1 and "请 @李娜 关注并协调。" in escalation[0] and "请假" not in escalation[0]
    services.clock.set(local(26, 9))
    await say("u_zhangmin", "请假 @李娜 至 11月27日")
    assert sum(t.startswith("已登记") for t in await texts()) == 2
    assert await sweep(services, local(26, 10)) == 1      # the day's overdue card only: escalated once
    assert len([t for t in await texts() if t.startswith("🔺")]) == 1


async def test_a_sweep_past_its_bound_leaves_whole_tenants_for_the_next_minute_and_misses_nothing(
    aiohttp_client, any_db, clock,
):
    from bot.core import ConversationRef, MessageEvent, UserRef

    _client, services = await start_app(aiohttp_client, any_db, clock)
    companies = ["console", "second-co", "third-co"]
    for n, company in enumerate(companies):
        conversation = ConversationRef("console", company, f"oc_{n}", "group", f"项目群{n}")
        for i in range(2):
            await services.pipeline.accept_message(MessageEvent(
                event_id=f"{company}-{i}", conversation=conversation, sender=UserRef("u_zhangmin", "张敏"),
                text=f"新建任务 任务{i} 负责人 <@u_zhaolei> 截止 周四", occurred_at=clock.now(),
                mentions=(UserRef("u_zhaolei", "赵磊"),),
            ))
            await settle(services)
    alerts = services.sweeps.sweeps["due_alerts"]
    alerts.per_sweep = 2
    # Thursday 09:00 onwards, a minute apart: two tenants' reminders at most per sweep (SQLite,
    # one tenant at a time), a few more where tenants are swept three at once.
    per_minute = [await sweep(services, local(26, 9, m)) for m in range(4)]
    assert sum(per_minute) == 6  # every task reminded, each once
    if any_db.is_sqlite:
        assert per_minute == [2, 2, 2, 0]
    # Later minutes find nothing new: the deferred tenants were read in full when their turn came.
    assert await sweep(services, local(26, 9, 10)) == 0
