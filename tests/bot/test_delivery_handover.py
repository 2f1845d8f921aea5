"""The hand-over: a reply committed by this process goes to its delivery worker without a claim round.

The row is inserted already leased to this process; the worker hears of it only once the
transaction has committed, so a rolled-back reply is never sent; and when the process dies
before sending, the lease runs out and any worker sends it, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest

import bot.delivery.worker as worker_module
from bot.core import ConversationRef, OutboundMessage
from bot.delivery.leased import Leased
from bot.delivery.outbox import Outbox
from bot.delivery.worker import DeliveryWorker
from bot.leases import release_leases
from bot.metrics import Metrics
from storage.db import Database
from storage.repositories import OutboxRepository
from storage.repositories.outbox import SENT
from tests.bot.test_delivery_worker import RecordingPlatform, make_worker, row


def message(key: str, chat: str = "chat-1") -> OutboundMessage:
    return OutboundMessage(ConversationRef("fakeim", "t1", chat), idempotency_key=key, text=key)


async def commit(db, outbox: Outbox, clock, *messages: OutboundMessage) -> None:
    async with db.transaction() as session:
        for m in messages:
            assert await outbox.enqueue(session, m, tenant_id=None, at=clock.now())


async def until_sent(platform: RecordingPlatform, count: int) -> None:
    async def wait() -> None:
        while len(platform.sent) < count:
            platform.delivered.clear()
            await platform.delivered.wait()
    await asyncio.wait_for(wait(), 10)


async def until_recorded_sent(db: Database, keys: list[str]) -> None:
    """Until each row is marked sent: the lanes record their sends after the platform has them."""
    async def wait() -> None:
        while True:
            rows = [await row(db, key) for key in keys]
            if all(r is not None and r.status == SENT for r in rows):
                return
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), 10)


@pytest.fixture
def claims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each claim round of any worker returned."""
    rounds: list[int] = []
    claim = worker_module.claim_due_rows

    async def counted(*args, **kwargs):
        rows = await claim(*args, **kwargs)
        rounds.append(len(rows))
        return rows

    monkeypatch.setattr(worker_module, "claim_due_rows", counted)
    return rounds


class HeldBack:
    """Background pressure that holds every send until released: a lane kept waiting for its turn."""

    def __init__(self) -> None:
        self.go = asyncio.Event()

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        await self.go.wait()
        yield


class DiesAfterCommit:
    """A process that took the lease and died before sending: it never sends what it is handed."""

    lease_owner = "died-after-commit"

    def __init__(self, clock, lease: timedelta) -> None:
        self.clock, self.lease = clock, lease
        self.taken: list[Leased] = []

    def lease_until(self, platform: str, at: datetime) -> datetime | None:
        return self.clock.now() + self.lease

    def take(self, item: Leased) -> None:
        self.taken.append(item)


async def test_a_committed_reply_is_sent_without_a_claim_round(any_db, clock, claims) -> None:
    platform = RecordingPlatform()
    worker, _ = make_worker(any_db, clock, platform)
    worker.start()
    await commit(any_db, worker.outbox, clock, message("k1"))
    await until_sent(platform, 1)
    await worker.stop()
    assert [m.text for m in platform.sent] == ["k1"]
    assert sum(claims) == 0  # rounds ran (at start and at stop) but had nothing to claim
    sent = await row(any_db, "k1")
    assert sent is not None and sent.status == SENT and sent.attempts == 1 and sent.platform_message_id == "m1"


async def test_a_rolled_back_reply_is_never_sent(any_db, clock, claims) -> None:
    platform = RecordingPlatform()
    worker, _ = make_worker(any_db, clock, platform)
    worker.start()
    with pytest.raises(RuntimeError):
        async with any_db.transaction() as session:
            await worker.outbox.enqueue(session, message("undone"), tenant_id=None, at=clock.now())
            raise RuntimeError("the command failed")
    # A refusal undoes a savepoint (the handler's part) while the rest of the transaction commits.
    async with any_db.transaction() as session:
        savepoint = await session.begin_nested()
        await worker.outbox.enqueue(session, message("refused"), tenant_id=None, at=clock.now())
        await savepoint.rollback()
        await worker.outbox.enqueue(session, message("kept"), tenant_id=None, at=clock.now())
    await until_sent(platform, 1)
    await worker.stop()
    assert [m.text for m in platform.sent] == ["kept"]
    assert await row(any_db, "undone") is None and await row(any_db, "refused") is None


async def test_the_hand_over_waits_for_the_outermost_commit(any_db, clock) -> None:
    outbox = Outbox()
    process = DiesAfterCommit(clock, timedelta(seconds=60))
    outbox.attach(process)
    async with any_db.transaction() as session:
        inner = await session.begin_nested()
        await outbox.enqueue(session, message("k1"), tenant_id=None, at=clock.now())
        await inner.commit()
        assert process.taken == []  # a released savepoint is not a commit
    assert [item.id for item in process.taken] == [(await row(any_db, "k1")).id]


async def test_a_crash_after_commit_leaves_the_reply_to_any_worker_once_the_lease_runs_out(
    any_db, clock, claims
) -> None:
    platform = RecordingPlatform()
    survivor, _ = make_worker(any_db, clock, platform)
    outbox = Outbox()
    dead = DiesAfterCommit(clock, survivor.handover_lease)
    outbox.attach(dead)
    await commit(any_db, outbox, clock, message("k1"))
    assert [item.message.text for item in dead.taken if item.message] == ["k1"]

    assert await survivor.run_once() == 0  # still leased to the dead process
    clock.advance(survivor.handover_lease - timedelta(seconds=1))
    assert await survivor.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert await survivor.run_once() == 1
    assert await survivor.run_once() == 0
    assert [m.text for m in platform.sent] == ["k1"]
    sent = await row(any_db, "k1")
    assert sent is not None and sent.status == SENT and sent.attempts == 2


async def test_replies_of_one_chat_keep_their_order_through_the_hand_over(any_db, clock, claims) -> None:
    platform = RecordingPlatform()
    platform.hanging.add("chat-1")
    worker, _ = make_worker(any_db, clock, platform)
    worker.outbox.attach(worker)
    for n in range(1, 4):
        await commit(any_db, worker.outbox, clock, message(f"k{n}"))  # k1 hangs in its send, k2, k3 wait
    await commit(any_db, worker.outbox, clock, message("other", chat="chat-2"))
    await until_sent(platform, 1)
    assert [m.text for m in platform.sent] == ["other"]  # another chat does not wait
    platform.release.set()
    await until_sent(platform, 4)
    assert [m.text for m in platform.sent] == ["other", "k1", "k2", "k3"]
    assert sum(claims) == 0
    await until_recorded_sent(any_db, ["other", "k1", "k2", "k3"])


async def test_an_older_reply_waiting_for_a_claim_goes_first(any_db, clock, claims) -> None:
    platform = RecordingPlatform()
    worker, _ = make_worker(any_db, clock, platform)
    await commit(any_db, worker.outbox, clock, message("older"))  # queued while no worker took hand-overs
    worker.outbox.attach(worker)
    await commit(any_db, worker.outbox, clock, message("newer"))
    await commit(any_db, worker.outbox, clock, message("elsewhere", chat="chat-2"))
    newer = await row(any_db, "newer")
    assert newer is not None and newer.attempts == 0 and newer.next_attempt_at == clock.now()  # not handed over
    await until_sent(platform, 1)
    assert [m.text for m in platform.sent] == ["elsewhere"]  # a chat with nothing waiting is handed over
    assert await worker.run_once() == 2
    assert [m.text for m in platform.sent] == ["elsewhere", "older", "newer"]
    assert claims[-1] == 2


async def test_a_lane_that_waited_past_its_lease_leaves_the_row_to_the_worker_that_claimed_it(
    any_db, clock, claims
) -> None:
    slow_platform, platform = RecordingPlatform(), RecordingPlatform()
    held = HeldBack()
    slow = DeliveryWorker(any_db, Outbox(), {"fakeim": slow_platform}, clock, Metrics(),
                          pressure=held)  # type: ignore[arg-type]
    other, _ = make_worker(any_db, clock, platform)
    slow.outbox.attach(slow)
    await commit(any_db, slow.outbox, clock, message("late"), message("late too", chat="chat-2"))

    clock.advance(slow.handover_lease)
    assert await other.run_once() == 2  # both leases ran out: the other worker takes and sends them
    await commit(any_db, slow.outbox, clock, message("fresh", chat="chat-3"))
    clock.advance(slow.handover_lease - timedelta(seconds=5))  # less than a send timeout left
    held.go.set()
    assert await slow.run_once() == 0
    assert sorted(m.text for m in platform.sent) == ["late", "late too"]
    assert [m.text for m in slow_platform.sent] == ["fresh"]  # its lease renewed, then sent
    for key in ("late", "late too", "fresh"):
        sent = await row(any_db, key)
        assert sent is not None and sent.status == SENT
    async with any_db.session() as session:
        fresh = await OutboxRepository(session).by_key("fresh")
    assert fresh is not None and fresh.attempts == 1


async def test_a_reply_handed_over_after_the_worker_stopped_is_given_back_at_once(any_db, clock, claims) -> None:
    """A transaction that took the lease while the worker ran but committed after it stopped."""
    if any_db.is_sqlite:
        pytest.skip("one SQLite connection: the stop's last claim round waits for the commit, so the worker takes it")
    platform = RecordingPlatform()
    stopping, _ = make_worker(any_db, clock, platform)
    stopping.start()
    async with any_db.transaction() as session:
        assert await stopping.outbox.enqueue(session, message("late"), tenant_id=None, at=clock.now())
        await stopping.stop()
    leased = await row(any_db, "late")
    assert (leased.lease_owner, leased.next_attempt_at) == (stopping.lease_owner, clock.now() + stopping.handover_lease)

    sibling, _ = make_worker(any_db, clock, platform)
    assert await sibling.run_once() == 0  # still the stopped worker's
    assert (await release_leases(any_db, stopping.lease_owner, clock.now())).outbox == 1
    assert await sibling.run_once() == 1  # at the same instant: no wait for the lease to run out
    assert [m.text for m in platform.sent] == ["late"]


class Entered(RecordingPlatform):
    """Tells when a send has started (and is hanging, for a hanging chat)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()

    async def deliver(self, message: OutboundMessage):  # type: ignore[no-untyped-def]
        self.entered.set()
        return await super().deliver(message)


async def test_a_stop_past_its_grace_sends_no_further_and_gives_back_the_rest(any_db, clock) -> None:
    platform = Entered()
    platform.hanging.add("chat-1")
    stopping, _ = make_worker(any_db, clock, platform)
    await commit(any_db, stopping.outbox, clock, message("k1"), message("k2"), message("k3"))
    stopping.start()
    await asyncio.wait_for(platform.entered.wait(), 10)  # k1 is being sent, k2 and k3 wait behind it

    stop = asyncio.ensure_future(stopping.stop(grace=0))
    await asyncio.sleep(0)  # the stop begins while k1 hangs
    platform.release.set()
    await asyncio.wait_for(stop, 10)
    assert [m.text for m in platform.sent] == ["k1"]  # the send under way finished; no other began

    assert (await release_leases(any_db, stopping.lease_owner, clock.now())).outbox == 2
    sibling, _ = make_worker(any_db, clock, platform)
    assert await sibling.run_once() == 2  # at the same instant
    assert [m.text for m in platform.sent] == ["k1", "k2", "k3"]
