"""A graceful stop gives back the events this process acknowledged but did not finish.

Two apps share one database and one frozen clock: the first acknowledges events it has no turn
to process, then stops; the second's recovery takes them at the same instant, without waiting
for the first's leases to run out, and each has its effect once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import InboxEvent, Task
from tests.support import settle, start_app

CHAT = "oc_q4promo"


async def _count(db: Database, table: Any, *where: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_a_stopped_app_gives_its_backlog_to_a_sibling_at_once(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    stopping_client, stopping = await start_app(aiohttp_client, any_db, clock, inbox={"drain_seconds": 0})
    _, sibling = await start_app(aiohttp_client, any_db, clock)
    # Every processing turn of the first app is taken: what it acknowledges waits (its backlog).
    for _ in range(stopping.settings.inbox.concurrency):
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
