"""A serving process beside processors only stores messages; a processor, woken by NOTIFY, does the rest.

In process, on PostgreSQL: an edge app (the console adapter as its entry, its role chosen by
`TUIJIN_PROCESSORS`) and a processor (`run_processor`) with its own connections to the same
schema. The processor's poll is set to five minutes, so a message processed within seconds was
claimed because it was announced. Its listening connection is then terminated by the server:
it reconnects, and the next announcement wakes it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from adapters.console.directory import TENANT_KEY
from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.core import ConversationRef, OutboundMessage
from bot.core.serialize import event_to_dict
from bot.processor import run_processor
from storage.db import Database
from storage.repositories import InboxRepository
from storage.tables import InboxEvent, OutboxMessage, Task
from tests.bot.test_inbox_recovery import _count, _orphan
from tests.conftest import PG_URL, needs_postgres, postgres_database
from tests.support import make_settings, start_app

pytestmark = [pytest.mark.postgres, needs_postgres]

CHAT = "oc_q4promo"
NEVER_POLL = {"recovery_every_seconds": 300.0}


async def _until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)  # polling an outcome with a deadline
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def postgres_db(pg_schema: str) -> AsyncIterator[Database]:
    db = await postgres_database(pg_schema)
    yield db
    await db.dispose()


@pytest.fixture
async def processor(pg_schema: str, clock: FrozenClock) -> AsyncIterator[Services]:
    db = Database(PG_URL, schema=pg_schema)
    services = build_services(make_settings(processors=1, inbox=NEVER_POLL), clock=clock, db=db, role="processor")
    services.worker.poll_seconds = 300.0  # only an announcement can make it send soon
    stop = asyncio.Event()
    running = asyncio.create_task(run_processor(services, primary=False, stop=stop))
    signal = await _listening(services)
    await _until(lambda: _connected(signal), "the processor to listen")
    yield services
    stop.set()
    assert await running == 0


async def _listening(services: Services) -> Any:
    """The processor's listener, once run_processor has started it (after its schema check)."""
    async def started() -> bool:
        return services.recovery._signal is not None

    await _until(started, "the processor to start")
    return services.recovery._signal


async def _connected(signal: Any) -> bool:
    return bool(signal is not None and signal.connected)


async def _say(client: Any, text_: str) -> None:
    response = await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhangmin",
                                                                "text": text_})
    assert response.status == 202, await response.text()


async def test_the_edge_stores_a_message_unleased_and_a_processor_answers_it_when_announced(
    aiohttp_client: Any, postgres_db: Database, clock: FrozenClock, processor: Services,
) -> None:
    client, edge = await start_app(aiohttp_client, postgres_db, clock, processors=1)
    assert edge.role == "edge" and edge.pipeline.hand_off

    await _say(client, "新建任务 交接 负责人 @赵磊 截止 明天")
    assert edge.pipeline.backlog == 0  # nothing held here: the inbox holds it

    await _until(lambda: _has_task(postgres_db, "交接"), "the processor to create the task")
    async with postgres_db.session() as session:
        row = (await session.execute(select(InboxEvent))).scalars().one()
    assert row.status == "done" and row.attempts == 0
    # The reply was queued by the processor and sent by its delivery worker.
    await _until(lambda: _sent(postgres_db), "the reply to be sent")
    replayed = processor.metrics.render().decode()
    assert 'tuijin_inbound_replayed_total{platform="console"}' not in replayed  # a hand-over is no replay


async def test_a_processor_whose_listening_connection_is_cut_listens_again(
    aiohttp_client: Any, postgres_db: Database, clock: FrozenClock, processor: Services,
) -> None:
    client, _ = await start_app(aiohttp_client, postgres_db, clock, processors=1)
    signal = processor.recovery._signal
    async with postgres_db.session() as session:
        cut = (await session.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query ILIKE 'LISTEN%' AND position(:channel in query) > 0"),
            {"channel": signal.channel})).scalars().all()
    assert cut == [True]
    await _until(lambda: _disconnected(signal), "the processor to notice")
    await _until(lambda: _connected(signal), "the processor to listen again")

    await _say(client, "新建任务 重连 负责人 @赵磊 截止 明天")
    await _until(lambda: _has_task(postgres_db, "重连"), "the announcement to reach the processor")


async def test_a_message_queued_by_the_edge_is_sent_by_a_processor_when_announced(
    aiohttp_client: Any, postgres_db: Database, clock: FrozenClock, processor: Services,
) -> None:
    """What a click queues on the edge (its follow-ups, a card updated after the inline budget)."""
    _, edge = await start_app(aiohttp_client, postgres_db, clock, processors=1)
    message = OutboundMessage(conversation=ConversationRef(platform="console", tenant_key=TENANT_KEY, chat_id=CHAT),
                              text="卡片稍后更新", idempotency_key="edge-queued-1")
    async with postgres_db.transaction() as session:
        assert await edge.outbox.enqueue(session, message, tenant_id=None, at=clock.now())
    await _until(lambda: _sent(postgres_db), "the processor to send what the edge queued")


async def test_what_a_stopping_edge_gives_back_is_announced_to_the_processors(
    aiohttp_client: Any, postgres_db: Database, clock: FrozenClock, processor: Services,
) -> None:
    client, edge = await start_app(aiohttp_client, postgres_db, clock, processors=1)
    event = _orphan("held-by-the-edge", clock)  # as a click it was answering when told to stop
    async with postgres_db.transaction() as session:
        await InboxRepository(session).record_once(
            "console", TENANT_KEY, event.event_id, "message", clock.now(), payload=event_to_dict(event),
            lease_until=clock.now() + timedelta(minutes=10), lease_owner=edge.lease_owner)

    await client.close()  # the edge's graceful stop gives its lease back

    await _until(lambda: _count_done(postgres_db), "the processor to take what was given back")


async def _count_done(db: Database) -> bool:
    return await _count(db, InboxEvent, InboxEvent.status == "done") == 1


async def _disconnected(signal: Any) -> bool:
    return not signal.connected


async def _has_task(db: Database, title: str) -> bool:
    return await _count(db, Task, Task.title == title) == 1


async def _sent(db: Database) -> bool:
    return await _count(db, OutboxMessage, OutboxMessage.status == "sent") >= 1
