from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from adapters.feishu.ratelimit import ANSWER_WAIT_CAP, PACE_MARGIN, Limit, WindowLimiter
from bot.clock import FrozenClock
from bot.delivery.backoff import jittered_backoff
from storage.cache import Cache

from .conftest import RecordingSleep


async def test_waits_for_the_next_window_when_full(any_cache: Cache, clock: FrozenClock) -> None:
    sleep = RecordingSleep(clock)
    limiter = WindowLimiter(any_cache, clock, sleep=sleep)
    limits = [Limit("chat:oc_1", 5, 1.0)]
    for _ in range(5):
        assert await limiter.acquire(limits) == 0
    assert sleep.calls == []
    assert await limiter.acquire(limits) == pytest.approx(1.0)
    assert sleep.calls == [pytest.approx(1.0)]


async def test_keys_are_independent(any_cache: Cache, clock: FrozenClock) -> None:
    sleep = RecordingSleep(clock)
    limiter = WindowLimiter(any_cache, clock, sleep=sleep)
    for chat in ("a", "b", "c"):
        for _ in range(2):
            await limiter.acquire([Limit(f"chat:{chat}", 2, 1.0)])
    assert sleep.calls == []


async def test_every_limit_must_have_room(any_cache: Cache, clock: FrozenClock) -> None:
    sleep = RecordingSleep(clock)
    limiter = WindowLimiter(any_cache, clock, sleep=sleep)
    limits = [Limit("app:s", 10, 1.0), Limit("app:m", 3, 60.0)]
    for _ in range(3):
        await limiter.acquire(limits)
    clock.advance(timedelta(seconds=10))
    waited = await limiter.acquire(limits)
    assert waited == pytest.approx(50.0)


async def test_two_limiters_share_counters_through_the_cache(any_cache: Cache, clock: FrozenClock) -> None:
    sleep = RecordingSleep(clock)
    first = WindowLimiter(any_cache, clock, sleep=sleep)
    second = WindowLimiter(any_cache, clock, sleep=sleep)
    limits = [Limit("shared", 2, 1.0)]
    await first.acquire(limits)
    await second.acquire(limits)
    await first.acquire(limits)
    assert sleep.calls == [pytest.approx(1.0)]


def test_full_jitter_stays_under_the_capped_ceiling() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
        values = [jittered_backoff(attempt, base=0.5, cap=30.0, rng=rng) for _ in range(50)]
        assert all(0 <= v <= ceiling for v in values)
    assert max(jittered_backoff(20, base=0.5, cap=30.0, rng=rng) for _ in range(200)) > 15


async def test_a_paced_limit_holds_in_every_span_not_only_in_whole_windows(
    any_cache: Cache, clock: FrozenClock
) -> None:
    sleep = RecordingSleep(clock)
    limiter = WindowLimiter(any_cache, clock, sleep=sleep)
    limits = [Limit("chat:oc_1", 5, 1.0, paced=True)]
    clock.advance(timedelta(seconds=0.9))  # late in a window: a fixed window alone allows 5 now and 5 at 1.0
    sent = []
    for _ in range(10):
        await limiter.acquire(limits)
        sent.append(clock.now().timestamp())
    assert sent[:5] == [sent[0]] * 5  # a burst up to the limit still goes at once
    assert all(later - earlier > 1.0 for earlier, later in zip(sent, sent[5:], strict=False))


async def test_a_paced_call_is_spaced_from_the_answer_of_the_call_count_places_before(
    any_cache: Cache, clock: FrozenClock
) -> None:
    """The platform counts arrivals, which come after we send and before the answer: count from the answer."""
    limiter = WindowLimiter(any_cache, clock, sleep=RecordingSleep(clock))
    limits = [Limit("app", 2, 1.0, paced=True)]
    start = clock.now().timestamp()
    async with limiter.slot(limits):
        clock.advance(timedelta(seconds=0.4))  # the first call's answer takes 0.4 s
    assert await limiter.acquire(limits) == 0  # the second still goes at once
    await limiter.acquire(limits)
    assert clock.now().timestamp() - start == pytest.approx(1.4 + PACE_MARGIN)


async def test_a_call_that_hangs_holds_the_ones_behind_it_up_only_so_long(
    any_cache: Cache, clock: FrozenClock
) -> None:
    limiter = WindowLimiter(any_cache, clock, sleep=RecordingSleep(clock))
    limits = [Limit("app", 1, 1.0, paced=True)]
    start = clock.now().timestamp()
    sent, hanging = asyncio.Event(), asyncio.Event()

    async def never_answered() -> None:
        async with limiter.slot(limits):
            sent.set()
            await hanging.wait()

    first = asyncio.create_task(never_answered())
    await sent.wait()  # the first call has left and waits for its answer
    await limiter.acquire(limits)
    assert clock.now().timestamp() - start == pytest.approx(ANSWER_WAIT_CAP + 1.0 + PACE_MARGIN)
    hanging.set()
    await first


async def test_several_processes_each_pace_to_their_share_so_together_they_stay_within_every_span(
    any_cache: Cache, clock: FrozenClock
) -> None:
    sleep = RecordingSleep(clock)
    workers = [WindowLimiter(any_cache, clock, sleep=sleep, processes=2) for _ in range(2)]
    limits = [Limit("chat:oc_1", 5, 1.0, paced=True)]
    clock.advance(timedelta(seconds=0.5))
    sent: list[float] = []
    for _ in range(4):
        for worker in workers:  # the two processes take turns sending to the same chat
            await worker.acquire(limits)
            sent.append(clock.now().timestamp())
    spans = [sum(1 for t in sent if start <= t < start + 1.0) for start in sent]
    assert max(spans) <= 5
    assert sent[:4] == [sent[0]] * 4  # each process's share (2 of 5) still goes at once


async def test_replicas_sharing_the_cache_never_exceed_the_limit_across_a_second_boundary(
    any_cache: Cache, clock: FrozenClock,
) -> None:
    """Two separately deployed replicas (one process each): a burst from one at the end of a second
    and one from the other just after it. A fixed per-second counter let both through (twice the
    limit within 0.2 s); the shared sliding window holds the second one back."""
    sleep = RecordingSleep(clock)
    replicas = [WindowLimiter(any_cache, clock, sleep=sleep), WindowLimiter(any_cache, clock, sleep=sleep)]
    limits = [Limit("app:send", 10, 1.0)]
    start = clock.now()
    clock.advance(timedelta(seconds=0.9))
    left: list[float] = []

    async def call(limiter: WindowLimiter) -> None:
        await limiter.acquire(limits)
        left.append((clock.now() - start).total_seconds())

    for _ in range(10):
        await call(replicas[0])
    clock.advance(timedelta(seconds=0.2))
    for _ in range(10):
        await call(replicas[1])
    assert len(left) == 20
    # Every span of one second (open at its start) holds at most 10 calls, counted in microseconds.
    times = sorted(round(t * 1e6) for t in left)
    for at in times:
        assert sum(1 for t in times if at - 1_000_000 < t <= at) <= 10, times
    assert times[10] >= 1_900_000  # the second burst waited for the first to be a second old


async def test_a_replica_counts_another_replicas_calls_until_their_answers_not_from_when_they_left(
    any_cache: Cache, clock: FrozenClock,
) -> None:
    """The platform counts a call when it arrives, which may be as late as its answer. Replica A's two
    calls to a chat that allows two a second leave at 0. Counted from when they left, replica B could
    send at 1.0 whatever became of them: three arrivals within a second when they travel slowly.

    Answered at 0.6, they count until 1.6, so B, asking at 1.0, goes at 1.6. Never answered, they
    count as arrived by the answer cap (1.0) and until 2.0, so B, asking at 0.5, goes at 2.0."""
    sleep = RecordingSleep(clock)
    a, b = WindowLimiter(any_cache, clock, sleep=sleep), WindowLimiter(any_cache, clock, sleep=sleep)

    async def b_leaves(limits: list[Limit], asks_at: float, start: float) -> float:
        clock.advance(timedelta(seconds=asks_at - (clock.now().timestamp() - start)))
        await b.acquire(limits)
        return round(clock.now().timestamp() - start, 3)

    for chat, answered_after, asks_at, goes_at in (("answered", 0.6, 1.0, 1.6), ("hanging", None, 0.5, 2.0)):
        limits = [Limit(f"chat:{chat}", 2, 1.0, paced=True)]
        start = clock.now().timestamp()
        answer, left = asyncio.Event(), asyncio.Semaphore(0)

        async def slow_call(limits: list[Limit], left: asyncio.Semaphore, answer: asyncio.Event) -> None:
            async with a.slot(limits):
                left.release()
                await answer.wait()

        calls = [asyncio.create_task(slow_call(limits, left, answer)) for _ in range(2)]
        for _ in calls:
            await left.acquire()
        if answered_after is not None:
            clock.advance(timedelta(seconds=answered_after))
            answer.set()
            await asyncio.gather(*calls)
        assert await b_leaves(limits, asks_at, start) == pytest.approx(goes_at, abs=0.002), chat
        answer.set()
        await asyncio.gather(*calls)
