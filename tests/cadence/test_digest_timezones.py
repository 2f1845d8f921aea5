"""Digests at each chat's local time: a chat in London gets its Friday 17:00 digest at 17:00 London.

The team's timezone (TUIJIN_TIMEZONE) is Shanghai; one chat keeps Europe/London. Each chat gets its
nudge, digest and review at its own local time, in its own working hours, and each once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import Chat, OutboxMessage
from tests.support import settle, start_app
from tests.workflows.conftest import CHAT as SHANGHAI_CHAT
from tests.workflows.conftest import card_text

LONDON_CHAT = "oc_market"
KINDS = ("weekly_nudge", "weekly_digest", "monthly_review")


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    # November and December: London is on UTC, Shanghai 8 hours ahead.
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Pushes:
    """Run only the digest sweep at an instant; the pushes it queued, as (kind, chat)."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.seen: set[int] = set()

    async def at(self, when: datetime) -> list[tuple[str, str]]:
        self.services.clock.set(when)
        await self.services.sweeps.sweeps["digests"].run(when)
        async with self.services.db.session() as session:
            rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        new = [row for row in rows if row.id not in self.seen and row.idempotency_key.startswith(KINDS)]
        self.seen.update(row.id for row in new if row.id is not None)
        return [(row.idempotency_key.split(":")[0], row.chat_id) for row in new]


async def test_each_chat_gets_its_digests_at_its_own_local_time_and_once(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    for chat in (SHANGHAI_CHAT, LONDON_CHAT):
        response = await client.post("/console/api/messages", json={
            "chat_id": chat, "user_id": "u_zhangmin", "text": "新建任务 海报 负责人 @赵磊 截止 12月15日"})
        assert response.status == 202
    await settle(services)
    async with any_db.transaction() as session:
        await session.execute(update(Chat).where(Chat.platform_chat_id == LONDON_CHAT)  # type: ignore[arg-type]
                              .values(timezone="Europe/London"))
    pushes = Pushes(services)

    # Friday 27 November: 15:00 and 17:00 in Shanghai come first; the London chat is not due then.
    assert await pushes.at(utc(11, 27, 7)) == [("weekly_nudge", SHANGHAI_CHAT)]
    assert await pushes.at(utc(11, 27, 9)) == [("weekly_digest", SHANGHAI_CHAT)]
    assert await pushes.at(utc(11, 27, 9)) == []
    # 15:00 in London is 23:00 in Shanghai: outside the team's hours, inside the chat's.
    assert await pushes.at(utc(11, 27, 15)) == [("weekly_nudge", LONDON_CHAT)]
    assert await pushes.at(utc(11, 27, 16, 59)) == []
    assert await pushes.at(utc(11, 27, 17)) == [("weekly_digest", LONDON_CHAT)]
    assert await pushes.at(utc(11, 27, 17)) == []
    # Monday morning in each: nothing caught up again.
    assert await pushes.at(utc(11, 30, 2)) == []
    assert await pushes.at(utc(11, 30, 10)) == []

    # The review of November at 10:00 on December's first working day, in each chat's time.
    assert await pushes.at(utc(12, 1, 2)) == [("monthly_review", SHANGHAI_CHAT)]
    assert await pushes.at(utc(12, 1, 9, 59)) == []
    assert await pushes.at(utc(12, 1, 10)) == [("monthly_review", LONDON_CHAT)]
    assert await pushes.at(utc(12, 1, 10, 1)) == []

    await settle(services)
    london = (await (await client.get("/console/api/messages", params={"chat_id": LONDON_CHAT})).json())["messages"]
    digest = next(card_text(m) for m in london if m["card"] and "周报" in m["card"]["title"])
    assert "周报 · 11月23日–11月29日" in digest and "补发" not in digest
