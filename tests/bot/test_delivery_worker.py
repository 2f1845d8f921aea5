"""The delivery worker: sends once, retries on a capped schedule, and keeps chats out of each other's way."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from bot.config import DeliverySettings
from bot.core import ConversationRef, OutboundMessage
from bot.core.platform import DeliveryError, DeliveryReceipt
from bot.delivery.outbox import Outbox
from bot.delivery.worker import DeliveryWorker
from bot.metrics import Metrics
from storage.repositories import OutboxRepository

CONV = ConversationRef("fakeim", "t1", "chat-1")


class RecordingPlatform:
    """A fake platform API at the boundary: answers from a script, records what it was sent."""

    platform = "fakeim"

    def __init__(self, script: list[BaseException | None] | None = None) -> None:
        self.script = script or []
        self.sent: list[OutboundMessage] = []
        self.down: BaseException | None = None
        self.hanging: set[str] = set()
        self.release = asyncio.Event()
        self.delivered = asyncio.Event()

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        if message.conversation.chat_id in self.hanging:
            await self.release.wait()
        outcome = self.script.pop(0) if self.script else self.down
        if outcome is not None:
            raise outcome
        self.sent.append(message)
        self.delivered.set()
        return DeliveryReceipt(f"m{len(self.sent)}")


async def queue(db, clock, key="k1", text="你好", chat="chat-1"):
    async with db.transaction() as session:
        return await Outbox().enqueue(
            session, OutboundMessage(ConversationRef("fakeim", "t1", chat), idempotency_key=key, text=text),
            tenant_id=None, at=clock.now(),
        )


def make_worker(db, clock, platform, **settings):
    metrics = Metrics()
    worker = DeliveryWorker(db, Outbox(), {"fakeim": platform}, clock, metrics, DeliverySettings(**settings))
    return worker, metrics


def sample(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def row(db, key):
    async with db.session() as session:
        return await OutboxRepository(session).by_key(key)


async def test_sends_once_even_when_queued_twice(any_db, clock):
    platform = RecordingPlatform()
    worker, metrics = make_worker(any_db, clock, platform)
    assert await queue(any_db, clock) is True
    assert await queue(any_db, clock) is False
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert [m.text for m in platform.sent] == ["你好"]
    assert sample(metrics, "tuijin_outbox_sent_total", platform="fakeim") == 1


async def test_the_platforms_reset_hint_is_a_floor_for_the_backoff(any_db, clock):
    platform = RecordingPlatform([DeliveryError("429", retryable=True, retry_after=30.0)])
    worker, metrics = make_worker(any_db, clock, platform, backoff_base_seconds=2.0)
    await queue(any_db, clock)
    await worker.run_once()
    first = await row(any_db, "k1")
    assert first.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert first.last_error == "429"
    clock.advance(timedelta(seconds=29))
    assert await worker.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 1
    assert len(platform.sent) == 1
    assert sample(metrics, "tuijin_outbox_retried_total", platform="fakeim") == 1


async def test_backoff_is_capped(any_db, clock):
    platform = RecordingPlatform()
    platform.down = DeliveryError("503", retryable=True)
    worker, _ = make_worker(any_db, clock, platform, backoff_cap_seconds=60.0)
    await queue(any_db, clock)
    waits = []
    for _ in range(12):
        await worker.run_once()
        waiting = (await row(any_db, "k1")).next_attempt_at - clock.now()
        waits.append(waiting)
        clock.advance(waiting)
    assert max(waits) <= timedelta(seconds=60)
    assert waits[-1] >= timedelta(seconds=30)  # equal jitter: never less than half the cap once there


async def test_permanent_failure_is_kept_as_dead_and_counted(any_db, clock):
    platform = RecordingPlatform([DeliveryError("bad chat", retryable=False)])
    worker, metrics = make_worker(any_db, clock, platform)
    await queue(any_db, clock)
    await worker.run_once()
    async with any_db.session() as session:
        counts = await OutboxRepository(session).counts_by_status()
    dead = await row(any_db, "k1")
    assert (dead.status, dead.last_error) == ("dead", "bad chat")
    assert counts == {"dead": 1}
    assert sample(metrics, "tuijin_outbox_dead_total", platform="fakeim") == 1


async def test_a_message_is_given_up_only_after_the_configured_age(any_db, clock):
    platform = RecordingPlatform()
    platform.down = DeliveryError("503", retryable=True)
    worker, _ = make_worker(any_db, clock, platform, max_age_hours=2)
    await queue(any_db, clock)
    start = clock.now()
    while (await row(any_db, "k1")).status == "pending":
        clock.set((await row(any_db, "k1")).next_attempt_at)
        await worker.run_once()
    dead = await row(any_db, "k1")
    assert clock.now() - start >= timedelta(hours=2)
    assert dead.status == "dead" and "503" in (dead.last_error or "")


async def test_a_ten_minute_outage_of_every_kind_loses_nothing_and_sends_nothing_twice(any_db, clock):
    """429s, 5xx, unexpected errors (a cache outage) and hangs for ten minutes, then the platform is back."""
    platform = RecordingPlatform()
    worker, metrics = make_worker(any_db, clock, platform, send_timeout_seconds=0.05)
    keys = [f"k{i}" for i in range(12)]
    for i, key in enumerate(keys):
        await queue(any_db, clock, key=key, text=f"消息{i}", chat=f"chat-{i % 3}")
    outage = [
        DeliveryError("429", retryable=True, retry_after=7.0), DeliveryError("502", retryable=True),
        ConnectionError("redis down"), None,
    ]
    start = clock.now()
    phase = 0
    while clock.now() - start < timedelta(minutes=10):
        platform.down = outage[phase % len(outage)]
        platform.hanging = {"chat-0", "chat-1", "chat-2"} if platform.down is None else set()
        phase += 1
        await worker.run_once()
        clock.advance(timedelta(seconds=5))
    assert platform.sent == []
    platform.down, platform.hanging = None, set()
    for _ in range(200):
        if len(platform.sent) == len(keys):
            break
        await worker.run_once()
        clock.advance(timedelta(seconds=10))
    assert Counter(m.idempotency_key for m in platform.sent) == Counter(keys)
    async with any_db.session() as session:
        assert await OutboxRepository(session).counts_by_status() == {"sent": len(keys)}
    assert sample(metrics, "tuijin_outbox_dead_total", platform="fakeim") == 0
    # Within a chat, the order the messages were queued in is the order they arrived.
    for chat in ("chat-0", "chat-1", "chat-2"):
        texts = [m.text for m in platform.sent if m.conversation.chat_id == chat]
        assert texts == sorted(texts, key=lambda t: int(t[2:]))


async def test_a_hanging_chat_does_not_hold_up_another_chat(any_db, clock):
    platform = RecordingPlatform()
    platform.hanging = {"chat-slow"}
    worker, _ = make_worker(any_db, clock, platform, send_timeout_seconds=30)
    await queue(any_db, clock, key="slow", chat="chat-slow")
    await queue(any_db, clock, key="fast", chat="chat-fast")
    round_ = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(platform.delivered.wait(), 10)
    assert [m.idempotency_key for m in platform.sent] == ["fast"]
    assert not round_.done()  # the slow chat is still waiting on its platform
    platform.release.set()
    await round_
    assert sorted(m.idempotency_key for m in platform.sent) == ["fast", "slow"]


async def test_two_workers_on_one_database_send_each_message_once(any_db, clock):
    platform = RecordingPlatform()
    first, _ = make_worker(any_db, clock, platform, batch=7)
    second, _ = make_worker(any_db, clock, platform, batch=7)
    keys = [f"k{i}" for i in range(40)]
    for i, key in enumerate(keys):
        await queue(any_db, clock, key=key, chat=f"chat-{i % 5}")
    for _ in range(10):
        await asyncio.gather(first.run_once(), second.run_once())
    assert Counter(m.idempotency_key for m in platform.sent) == Counter(keys)


async def test_rows_for_a_platform_this_process_does_not_serve_are_left_for_one_that_does(any_db, clock):
    platform = RecordingPlatform()
    worker, _ = make_worker(any_db, clock, platform)
    async with any_db.transaction() as session:
        await Outbox().enqueue(session, OutboundMessage(ConversationRef("console", "console", "oc_1"),
                                                        idempotency_key="elsewhere", text="hi"),
                               tenant_id=None, at=clock.now())
    assert await worker.run_once() == 0
    assert (await row(any_db, "elsewhere")).status == "pending"
    clock.advance(timedelta(hours=25))
    await worker.run_once()
    assert (await row(any_db, "elsewhere")).status == "dead"


async def test_a_rate_limited_chat_does_not_hold_up_another_chat(any_db, clock):
    class RateLimitedChat(RecordingPlatform):
        async def deliver(self, message):
            if message.conversation.chat_id == "chat-busy":
                raise DeliveryError("429 99991400", retryable=True, retry_after=60.0)
            return await super().deliver(message)

    platform = RateLimitedChat()
    worker, _ = make_worker(any_db, clock, platform)
    for i in range(3):
        await queue(any_db, clock, key=f"busy-{i}", chat="chat-busy")
    await queue(any_db, clock, key="calm", chat="chat-calm")
    await worker.run_once()
    assert [m.idempotency_key for m in platform.sent] == ["calm"]
    # The busy chat's later messages wait with the first, not behind a minute of sleeping.
    for i in range(3):
        assert (await row(any_db, f"busy-{i}")).next_attempt_at >= clock.now() + timedelta(seconds=60)
