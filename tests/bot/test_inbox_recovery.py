"""What happens to an acknowledged event that was not finished: replayed once, or given up once.

Failures come from the real database (a trigger that refuses task rows, as a full disk or a
broken constraint would), never from patched code; time moves on the frozen clock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text

from adapters.console.directory import TENANT_KEY
from bot.clock import FrozenClock
from bot.core import ConversationRef, MessageEvent, UserRef
from bot.core.serialize import event_to_dict
from bot.pipeline import SORRY
from storage.db import Database
from storage.repositories import InboxRepository
from storage.tables import InboxEvent, OutboxMessage, Task
from tests.support import settle, start_app

CHAT = "oc_q4promo"
NEW_TASK = "新建任务 海报设计 负责人 @赵磊 截止 明天 优先级 高 交付标准 3张海报"


async def _refuse_tasks(db: Database, on: bool) -> None:
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            if on:
                await conn.execute(text(
                    "CREATE TRIGGER refuse_task BEFORE INSERT ON task BEGIN SELECT RAISE(FAIL, 'no space'); END"
                ))
            else:
                await conn.execute(text("DROP TRIGGER refuse_task"))
            return
        if on:
            await conn.execute(text(
                "CREATE OR REPLACE FUNCTION refuse_task() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'no space'; END; $$ LANGUAGE plpgsql"
            ))
            await conn.execute(text("CREATE TRIGGER refuse_task BEFORE INSERT ON task "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse_task()"))
        else:
            await conn.execute(text("DROP TRIGGER refuse_task ON task"))


async def _count(db: Database, table: Any, *where: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def _inbox(db: Database) -> InboxEvent:
    async with db.session() as session:
        return (await session.execute(select(InboxEvent))).scalar_one()


async def test_a_command_that_keeps_failing_is_given_up_with_one_short_reply(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    await _refuse_tasks(any_db, True)
    try:
        response = await client.post("/console/api/messages",
                                     json={"chat_id": CHAT, "user_id": "u_zhangmin", "text": NEW_TASK})
        assert response.status == 202
        await settle(services)
        row = await _inbox(any_db)
        assert (row.status, row.attempts) == ("received", 1)
        assert "no space" in (row.last_error or "")

        # Not replayed before its retry time, then once per retry until the last attempt.
        assert await services.recovery.run_once() == 0
        for _ in range(10):
            clock.advance(timedelta(minutes=10))
            await services.recovery.run_once()
            await settle(services)
        row = await _inbox(any_db)
        assert (row.status, row.attempts) == ("failed", services.settings.inbox.max_attempts)
        assert await _count(any_db, Task) == 0
    finally:
        await _refuse_tasks(any_db, False)

    history = (await (await client.get("/console/api/messages", params={"chat_id": CHAT})).json())["messages"]
    assert [m["text"] for m in history if m["sender"]["is_bot"]] == [SORRY]
    clock.advance(timedelta(hours=1))
    assert await services.recovery.run_once() == 0  # given up means given up
    metrics = await (await client.get("/metrics")).text()
    assert 'tuijin_inbound_failed_total{kind="message",platform="console"} 1.0' in metrics


def _orphan(event_id: str, clock: FrozenClock) -> MessageEvent:
    return MessageEvent(
        event_id=event_id, conversation=ConversationRef("console", TENANT_KEY, CHAT, "group", "Q4新品宣传项目群"),
        sender=UserRef("u_zhangmin", "张敏"), text="新建任务 海报设计 负责人 <@u_zhaolei> 截止 明天",
        occurred_at=clock.now(), message_id=f"cm_{event_id}", mentions=(UserRef("u_zhaolei", "赵磊"),),
    )


async def test_an_event_a_dead_process_left_is_replayed_once_by_two_replicas(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    _, first = await start_app(aiohttp_client, any_db, clock)
    _, second = await start_app(aiohttp_client, any_db, clock)
    # What a process killed right after its ack leaves behind: the row, its payload, a lease.
    async with any_db.transaction() as session:
        for i in range(5):
            event = _orphan(f"orphan-{i}", clock)
            await InboxRepository(session).record_once(
                "console", TENANT_KEY, event.event_id, "message", clock.now(), payload=event_to_dict(event),
                lease_until=clock.now() + timedelta(seconds=60),
            )
    assert await first.recovery.run_once() == 0  # the dead process's lease still holds
    clock.advance(timedelta(seconds=61))

    claimed = await asyncio.gather(first.recovery.run_once(), second.recovery.run_once())
    await settle(first)
    await settle(second)

    assert sum(claimed) == 5
    assert await _count(any_db, Task) == 5
    assert await _count(any_db, InboxEvent, InboxEvent.status == "done") == 5
    assert await _count(any_db, OutboxMessage, OutboxMessage.status == "sent") == 5
    clock.advance(timedelta(minutes=5))
    assert await first.recovery.run_once() == 0 and await second.recovery.run_once() == 0


async def test_a_restarted_console_is_heard(aiohttp_client: Any, sqlite_db: Database, clock: FrozenClock) -> None:
    """Message ids are event ids: a new run must not reuse the last run's, or it would be ignored."""
    for run in range(2):
        client, services = await start_app(aiohttp_client, sqlite_db, clock)
        response = await client.post("/console/api/messages",
                                     json={"chat_id": CHAT, "user_id": "u_zhangmin", "text": "帮助"})
        assert (await response.json())["accepted"] is True, f"run {run} was not heard"
        await settle(services)
    assert await _count(sqlite_db, InboxEvent) == 2


async def test_the_recovery_loop_reports_how_many_acknowledged_events_wait(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    _, services = await start_app(aiohttp_client, any_db, clock)
    async with any_db.transaction() as session:
        for i in range(3):  # leased to a live sibling: waiting, but not this loop's to claim
            event = _orphan(f"waiting-{i}", clock)
            await InboxRepository(session).record_once(
                "console", TENANT_KEY, event.event_id, "message", clock.now(), payload=event_to_dict(event),
                lease_until=clock.now() + timedelta(minutes=5), lease_owner="sibling-00000001")
    services.recovery.start()
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while b"tuijin_inbox_waiting 3.0" not in services.metrics.render():
            assert asyncio.get_running_loop().time() < deadline, services.metrics.render().decode()
            await asyncio.sleep(0.02)  # polling the loop's first round, with a deadline
    finally:
        await services.recovery.stop()
