"""The cache contract, on the in-process cache (with a frozen clock) and on real Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

import pytest

from bot.clock import FrozenClock
from storage.cache import Cache, InProcessCache, build_cache
from storage.redis_cache import RedisCache

REDIS_URL = os.environ.get("TUIJIN_TEST_REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="Redis tests need TUIJIN_TEST_REDIS_URL (CI sets it)")


async def _pttl_ms(cache: RedisCache, key: str) -> int:
    return int(await cache._redis.pttl(cache._prefix + key))


async def test_get_set_delete(any_cache: Cache) -> None:
    assert await any_cache.get("k") is None
    await any_cache.set("k", "值")
    assert await any_cache.get("k") == "值"
    await any_cache.set("k", "新值")
    assert await any_cache.get("k") == "新值"
    await any_cache.delete("k")
    assert await any_cache.get("k") is None
    await any_cache.delete("k")  # deleting a missing key is fine


async def test_add_is_a_claim(any_cache: Cache) -> None:
    assert await any_cache.add("claim", "replica-1") is True
    assert await any_cache.add("claim", "replica-2") is False
    assert await any_cache.get("claim") == "replica-1"
    await any_cache.delete("claim")
    assert await any_cache.add("claim", "replica-2") is True
    assert await any_cache.get("claim") == "replica-2"


async def test_concurrent_adds_have_one_winner(any_cache: Cache) -> None:
    results = await asyncio.gather(*(any_cache.add("race", str(n)) for n in range(10)))
    assert results.count(True) == 1


async def test_incr_counts(any_cache: Cache) -> None:
    assert [await any_cache.incr("n") for _ in range(3)] == [1, 2, 3]
    assert await any_cache.get("n") == "3"
    assert await any_cache.incr("other") == 1


async def test_ttl_expiry(any_cache: Cache, clock: FrozenClock) -> None:
    if isinstance(any_cache, RedisCache):
        await any_cache.set("s", "v", ttl=30)
        assert await any_cache.add("a", "v", ttl=20) is True
        assert 0 < await _pttl_ms(any_cache, "s") <= 30_000
        assert 0 < await _pttl_ms(any_cache, "a") <= 20_000
        await any_cache.set("forever", "v")
        assert await _pttl_ms(any_cache, "forever") == -1
        # And one real expiry, bounded.
        await any_cache.set("short", "v", ttl=0.05)
        for _ in range(100):
            if await any_cache.get("short") is None:
                break
            await asyncio.sleep(0.02)
        assert await any_cache.get("short") is None
        return

    await any_cache.set("s", "v", ttl=30)
    assert await any_cache.add("a", "v", ttl=20) is True
    await any_cache.set("forever", "v")
    clock.advance(timedelta(seconds=19))
    assert await any_cache.get("a") == "v"
    assert await any_cache.add("a", "again", ttl=20) is False
    clock.advance(timedelta(seconds=1))
    assert await any_cache.get("a") is None
    assert await any_cache.get("s") == "v"
    clock.advance(timedelta(seconds=10))
    assert await any_cache.get("s") is None
    assert await any_cache.get("forever") == "v"
    # An expired claim can be taken again.
    assert await any_cache.add("a", "again", ttl=20) is True


async def test_incr_ttl_starts_when_the_counter_is_created(any_cache: Cache, clock: FrozenClock) -> None:
    assert await any_cache.incr("rate", ttl=60) == 1
    if isinstance(any_cache, RedisCache):
        first = await _pttl_ms(any_cache, "rate")
        assert 0 < first <= 60_000
        assert await any_cache.incr("rate", ttl=60) == 2
        second = await _pttl_ms(any_cache, "rate")
        assert 0 < second <= first  # not pushed back by the second increment
        return
    clock.advance(timedelta(seconds=40))
    assert await any_cache.incr("rate", ttl=60) == 2  # does not extend the window
    clock.advance(timedelta(seconds=20))
    assert await any_cache.get("rate") is None
    assert await any_cache.incr("rate", ttl=60) == 1


async def test_ping(any_cache: Cache) -> None:
    assert await any_cache.ping() is True


async def test_in_process_caches_are_namespaced_by_prefix(clock: FrozenClock) -> None:
    cache = InProcessCache(clock=clock, prefix="one:")
    await cache.set("k", "v")
    assert await cache.get("k") == "v"
    assert set(cache._data) == {"one:k"}
    await cache.close()
    assert await cache.get("k") is None


async def test_build_cache_without_url_is_in_process(clock: FrozenClock) -> None:
    cache = build_cache("", clock=clock, prefix="x:")
    assert isinstance(cache, InProcessCache)
    await cache.set("k", "v", ttl=1)
    clock.advance(timedelta(seconds=1))
    assert await cache.get("k") is None


async def test_build_cache_with_url_is_redis() -> None:
    cache = build_cache("redis://127.0.0.1:1/0", prefix="x:")  # construction does not connect
    try:
        assert isinstance(cache, RedisCache)
        assert await cache.ping() is False  # nothing listens there
    finally:
        await cache.close()


@needs_redis
@pytest.mark.redis
async def test_redis_keys_are_namespaced_by_prefix() -> None:
    base = f"tjtest:ns:{uuid.uuid4().hex[:8]}:"
    # "a*" would match "ab:…" as an unescaped glob; delete_prefix must treat the prefix literally.
    a = RedisCache(REDIS_URL, prefix=base + "a*")
    ab = RedisCache(REDIS_URL, prefix=base + "ab:")
    try:
        await a.set("k", "from-a")
        await ab.set("k", "from-ab")
        await ab.set("k2", "only-ab")
        assert await a.get("k") == "from-a"
        assert await ab.get("k") == "from-ab"
        assert await a.get("k2") is None
        assert await a._redis.get(base + "a*k") == "from-a"  # the stored key carries the prefix

        assert await a.add("k2", "a-claims") is True  # b's key of the same name is no obstacle
        assert await a.delete_prefix() == 2
        assert await a.get("k") is None
        assert await ab.get("k") == "from-ab"
        assert await ab.get("k2") == "only-ab"
        assert await ab.delete_prefix() == 2
        assert await ab._redis.exists(base + "ab:k", base + "ab:k2") == 0
    finally:
        await a.delete_prefix()
        await ab.delete_prefix()
        await a.close()
        await ab.close()


async def test_the_in_process_cache_forgets_expired_keys_without_being_asked(clock) -> None:
    from datetime import timedelta

    from storage.cache import InProcessCache

    cache = InProcessCache(clock=clock)
    # A rate limiter's pattern: one short-lived counter per second, for an hour.
    for second in range(3600):
        await cache.incr(f"rl:app:{second}", ttl=2)
        clock.advance(timedelta(seconds=1))
    assert len(cache) < 300  # not 3,600: expired windows are swept as new ones are written


async def test_a_burst_waits_for_a_redis_connection_instead_of_failing(private_redis) -> None:
    """A Redis that takes 12 clients: 200 commands at once queue for 8 pooled connections."""
    import asyncio

    from storage.redis_cache import RedisCache

    cache = RedisCache(private_redis.url, prefix="burst:", max_connections=8)
    try:
        results = await asyncio.gather(*(cache.incr("hits") for _ in range(200)))
        assert sorted(results) == list(range(1, 201))
    finally:
        await cache.close()


async def test_a_sliding_window_holds_count_uses_in_any_span(any_cache: Cache) -> None:
    # The caller's clock: 100.0 is an instant like any other, windows are not aligned to it.
    for offset in (0.0, 0.1, 0.2):
        assert await any_cache.take_in_window("w", 3, 1.0, 100.0 + offset) == 0
    # Full until the oldest use (100.0) is a whole span old; the fraction is kept.
    assert await any_cache.take_in_window("w", 3, 1.0, 100.5) == pytest.approx(0.5)
    assert await any_cache.take_in_window("w", 3, 1.0, 100.9) == pytest.approx(0.1)
    # A refused use is not recorded: at 101.0 one place is free again, and only one.
    assert await any_cache.take_in_window("w", 3, 1.0, 101.0) == 0
    assert await any_cache.take_in_window("w", 3, 1.0, 101.0) == pytest.approx(0.1)
    # Keys are independent.
    assert await any_cache.take_in_window("other", 3, 1.0, 101.0) == 0


async def test_a_named_use_counts_until_it_is_settled_and_then_from_when_it_ended(any_cache: Cache) -> None:
    # A call leaves at 100.0, possibly arriving as late as 101.0: it holds its place until 102.0.
    assert await any_cache.take_in_window("w", 1, 1.0, 100.0, use="call-1", until=101.0) == 0
    assert await any_cache.take_in_window("w", 1, 1.0, 101.5) == pytest.approx(0.5)
    # Its answer came at 100.3: it counts as having happened then, so the place is free at 101.3.
    await any_cache.settle_in_window([("w", "call-1"), ("gone", "nothing")], 100.3)
    assert await any_cache.take_in_window("w", 1, 1.0, 101.2) == pytest.approx(0.1)
    assert await any_cache.take_in_window("w", 1, 1.0, 101.3) == 0
    # Settling never moves a use later than recorded.
    assert await any_cache.take_in_window("x", 1, 1.0, 200.0, use="call-2") == 0
    await any_cache.settle_in_window([("x", "call-2")], 200.9)
    assert await any_cache.take_in_window("x", 1, 1.0, 201.0) == 0


async def test_concurrent_uses_of_a_window_take_exactly_count_places(any_cache: Cache) -> None:
    answers = await asyncio.gather(*(any_cache.take_in_window("burst", 5, 10.0, 200.0) for _ in range(40)))
    assert sum(1 for wait in answers if wait == 0) == 5
    assert all(wait == pytest.approx(10.0) for wait in answers if wait)


@needs_redis
async def test_a_redis_window_forgets_itself_when_unused() -> None:
    cache = RedisCache(REDIS_URL, prefix=f"t-{uuid.uuid4().hex[:8]}:")
    try:
        await cache.take_in_window("w", 2, 1.5, 100.0)
        assert 0 < await _pttl_ms(cache, "w") <= 3000
    finally:
        await cache.delete_prefix()
        await cache.close()
