"""A graceful stop gives back the events this process acknowledged or claimed but did not finish.

Two apps share one database and one frozen clock: the first acknowledges (or claims for replay)
events it has no turn to process, then stops; the second's recovery takes them at the same
instant, without waiting for the first's leases to run out, and each has its effect once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select

from adapters.console.directory import TENANT_KEY
from bot.clock import FrozenClock
from bot.core.serialize import event_to_dict
from bot.leases import release_leases
from storage.db import Database
from storage.repositories import InboxRepository
from storage.tables import InboxEvent, Task
from tests.bot.test_inbox_recovery import _orphan
from tests.support import settle, start_app

CHAT = "oc_q4promo"


async def _count(db: Database, table: Any, *where: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_a_stopped_app_gives_its_backlog_to_a_sibling_at_once(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    stopping_client, stopping = await start_app(aiohttp_client, any_db, clock, drain_seconds=0)
    _, sibling = await start_app(aiohttp_client, any_db, clock)
    # Every processing turn of the first app is taken: what it acknowledges waits (its backlog).
    for _ in range(stopping.pipeline.concurrency):
        await stopping.pipeline._processing.acquire()
    for i in range(3):
        response = await stopping_client.post("/console/api/messages", json={
            "chat_id": CHAT, "user_id": "u_zhangmin", "text": f"新建任务 积压{i} 负责人 @赵磊 截止 明天"})
        assert response.status == 202
    assert stopping.pipeline.backlog == 3
    assert await sibling.recovery.run_once() == 0  # leased to the first app

    await stopping_client.close()  # the app's graceful stop: drain (cancelling the waiting), give back

    assert await _count(any_db, InboxEvent, InboxEvent.lease_until.is_(None)) == 3  # type: ignore[union-attr]
    assert await sibling.recovery.run_once() == 3  # same instant: no lease had to run out
    await settle(sibling)
    assert await _count(any_db, Task) == 3
    assert await _count(any_db, InboxEvent, InboxEvent.status == "done") == 3


async def test_replays_still_running_at_a_stop_are_cancelled_and_given_back(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    _, stopping = await start_app(aiohttp_client, any_db, clock)
    _, sibling = await start_app(aiohttp_client, any_db, clock)
    async with any_db.transaction() as session:
        for i in range(3):  # what a process killed after its acks left: rows whose lease ran out
            event = _orphan(f"orphan-{i}", clock)
            await InboxRepository(session).record_once(
                "console", TENANT_KEY, event.event_id, "message", clock.now(), payload=event_to_dict(event),
                lease_until=clock.now())
    for _ in range(stopping.pipeline.concurrency):
        await stopping.pipeline._processing.acquire()  # its replays wait for a turn that never comes
    stopping.recovery.start()
    await _until_leased_to(any_db, stopping.lease_owner, 3)

    await stopping.recovery.stop(grace=0)
    assert (await release_leases(any_db, stopping.lease_owner, clock.now())).inbox == 3

    assert await sibling.recovery.run_once() == 3  # same instant
    await settle(sibling)
    assert await _count(any_db, Task) == 3


async def _until_leased_to(db: Database, owner: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if await _count(db, InboxEvent, InboxEvent.lease_owner == owner) >= count:
            return
        await asyncio.sleep(0.01)  # polling the recovery loop's claim, with a deadline
    raise AssertionError("the recovery loop did not claim the rows")
