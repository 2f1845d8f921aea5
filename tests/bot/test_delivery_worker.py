"""The delivery worker: sends once, retries with backoff, keeps what finally fails."""

from __future__ import annotations

from datetime import timedelta

from bot.core import ConversationRef, OutboundMessage
from bot.core.platform import DeliveryError, DeliveryReceipt
from bot.delivery.outbox import Outbox
from bot.delivery.worker import MAX_ATTEMPTS, DeliveryWorker
from bot.metrics import Metrics
from storage.repositories import OutboxRepository

CONV = ConversationRef("fakeim", "t1", "chat-1")


class RecordingPlatform:
    """A fake platform API at the boundary: answers from a script, records what it was sent."""

    platform = "fakeim"

    def __init__(self, script: list[DeliveryError | None]) -> None:
        self.script = script
        self.sent: list[OutboundMessage] = []

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.sent.append(message)
        return DeliveryReceipt(f"m{len(self.sent)}")


async def queue(db, clock, key="k1", text="你好"):
    async with db.transaction() as session:
        return await Outbox().enqueue(session, OutboundMessage(CONV, idempotency_key=key, text=text),
                                      tenant_id=None, at=clock.now())


def make_worker(db, clock, platform):
    metrics = Metrics()
    return DeliveryWorker(db, Outbox(), {"fakeim": platform}, clock, metrics), metrics


def sample(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_sends_once_even_when_queued_twice(any_db, clock):
    platform = RecordingPlatform([])
    worker, metrics = make_worker(any_db, clock, platform)
    assert await queue(any_db, clock) is True
    assert await queue(any_db, clock) is False
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert [m.text for m in platform.sent] == ["你好"]
    assert sample(metrics, "tuijin_outbox_sent_total", platform="fakeim") == 1


async def test_retry_after_is_honoured_then_delivered(any_db, clock):
    platform = RecordingPlatform([DeliveryError("429", retryable=True, retry_after=2.0)])
    worker, metrics = make_worker(any_db, clock, platform)
    await queue(any_db, clock)
    await worker.run_once()
    assert platform.sent == []
    async with any_db.session() as session:
        row = await OutboxRepository(session).by_key("k1")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=2)
    assert row.last_error == "429"
    clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 1
    assert len(platform.sent) == 1
    assert sample(metrics, "tuijin_outbox_retried_total", platform="fakeim") == 1


async def test_permanent_failure_is_kept_as_dead_and_counted(any_db, clock):
    platform = RecordingPlatform([DeliveryError("bad chat", retryable=False)])
    worker, metrics = make_worker(any_db, clock, platform)
    await queue(any_db, clock)
    await worker.run_once()
    async with any_db.session() as session:
        row = await OutboxRepository(session).by_key("k1")
        counts = await OutboxRepository(session).counts_by_status()
    assert (row.status, row.last_error) == ("dead", "bad chat")
    assert counts == {"dead": 1}
    assert sample(metrics, "tuijin_outbox_dead_total", platform="fakeim") == 1


async def test_gives_up_after_the_last_attempt(any_db, clock):
    failures = [DeliveryError("503", retryable=True) for _ in range(MAX_ATTEMPTS)]
    platform = RecordingPlatform(failures)
    worker, _ = make_worker(any_db, clock, platform)
    await queue(any_db, clock)
    for _ in range(MAX_ATTEMPTS):
        await worker.run_once()
        clock.advance(timedelta(minutes=10))
    async with any_db.session() as session:
        row = await OutboxRepository(session).by_key("k1")
    assert row.status == "dead" and row.attempts == MAX_ATTEMPTS and platform.sent == []
