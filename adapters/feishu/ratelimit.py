"""Fixed-window rate limits counted in the shared cache, and jittered backoff.

Nothing here knows a platform. Counters live in the `Cache`, so when Redis is configured every
replica draws from the same windows; with the in-process cache the limits hold per process.
Waiting goes through an injected `sleep`, so tests advance a frozen clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from storage.cache import Cache

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Limit:
    """At most `count` acquisitions per `per` seconds for one key."""

    key: str
    count: int
    per: float


class WindowLimiter:
    def __init__(self, cache: Cache, clock: Clock, *, sleep: Sleep = asyncio.sleep, prefix: str = "rl:") -> None:
        self._cache = cache
        self._clock = clock
        self._sleep = sleep
        self._prefix = prefix

    async def acquire(self, limits: Sequence[Limit]) -> float:
        """Take one slot under every limit, waiting for the next window when one is full.

        Returns the seconds waited. After a wait every limit is taken again: a slot counted in an
        earlier window may be over-counted, which only ever makes us slower, never over the limit.
        """
        waited = 0.0
        while True:
            wait = await self._try(limits)
            if wait is None:
                return waited
            waited += wait
            await self._sleep(wait)

    async def _try(self, limits: Sequence[Limit]) -> float | None:
        for limit in limits:
            now = self._clock.now().timestamp()
            window = math.floor(now / limit.per)
            key = f"{self._prefix}{limit.key}:{limit.per:g}:{window}"
            # Twice the window so a counter outlives clock skew between replicas.
            count = await self._cache.incr(key, ttl=limit.per * 2)
            if count > limit.count:
                return max((window + 1) * limit.per - now, 0.001)
        return None
