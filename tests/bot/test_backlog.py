"""Backpressure: past the backlog bound an event is refused before it is stored, so the platform re-sends it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.core import ConversationRef, MessageEvent, UserRef
from bot.core.platform import SinkUnavailable
from storage.db import Database
from storage.tables import InboxEvent
from tests.support import settle, start_app


def _event(i: int) -> MessageEvent:
    conv = ConversationRef(platform="console", tenant_key="t1", chat_id="oc_1", chat_type="group")
    return MessageEvent(event_id=f"ev-{i}", message_id=f"om-{i}", conversation=conv,
                        sender=UserRef(user_id="u1", name="张三"), text="帮助", addressed=True,
                        occurred_at=datetime(2026, 11, 23, 2, 0, tzinfo=UTC))


async def test_events_past_the_backlog_bound_are_refused_unstored_and_taken_later(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock,
) -> None:
    _, services = await start_app(aiohttp_client, any_db, clock, inbox={"max_backlog": 2, "concurrency": 1})
    pipeline = services.pipeline
    await pipeline._processing.acquire()  # processing is busy: what is accepted stays in the backlog
    assert await pipeline.accept_message(_event(1))
    assert await pipeline.accept_message(_event(2))
    with pytest.raises(SinkUnavailable):
        await pipeline.accept_message(_event(3))
    async with any_db.session() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 2
    assert services.metrics.backlog_refused._value.get() == 1
    pipeline._processing.release()
    await settle(services)
    assert pipeline.backlog == 0
    # Re-sent once the backlog has drained: taken, and a repeat of an earlier one is still a duplicate.
    assert await pipeline.accept_message(_event(3))
    assert not await pipeline.accept_message(_event(1))
    await settle(services)
    assert pipeline.backlog == 0


async def test_a_nearly_full_backlog_stops_holding_processing_back_for_acks(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock,
) -> None:
    # At 95 % of the bound, processing has the loop even during a burst of acks: new events are
    # about to be refused anyway, and only processing makes room.
    _, services = await start_app(aiohttp_client, any_db, clock, inbox={"max_backlog": 20, "concurrency": 1})
    pipeline = services.pipeline
    full = pipeline.pressure.full
    assert full is not None
    await pipeline._processing.acquire()
    for i in range(19):
        assert not full()
        assert await pipeline.accept_message(_event(i))
    assert pipeline.backlog == 19
    assert full()
    pipeline._processing.release()
    await settle(services)
    assert not full()
