"""Fixed-window rate limits counted in the shared cache, and jittered backoff.

Nothing here knows a platform. Counters live in the `Cache`, so when Redis is configured every
replica draws from the same windows; with the in-process cache the limits hold per process.
Waiting goes through an injected `sleep`, so tests advance a frozen clock instead of sleeping.

A fixed window alone lets a burst at the end of one window meet another at the start of the
next: twice the limit within a second, which a platform counting any one-second span refuses
(429). So a `paced` limit is also kept in this process as a sliding log: a call goes only when
fewer than `count` of this process's calls fall in the span of `per` before it. Bursts up to the
limit still go at once. The log is per process; across replicas the shared window still bounds
the total.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from storage.cache import Cache

Sleep = Callable[[float], Awaitable[None]]
# A paced call waits this much longer than the span strictly needs: clock rounding and a little
# network jitter must not squeeze `count + 1` calls into one span of `per` at the platform.
PACE_MARGIN = 0.001


@dataclass(frozen=True)
class Limit:
    """At most `count` acquisitions per `per` seconds for one key."""

    key: str
    count: int
    per: float
    paced: bool = False


class WindowLimiter:
    def __init__(self, cache: Cache, clock: Clock, *, sleep: Sleep = asyncio.sleep, prefix: str = "rl:") -> None:
        self._cache = cache
        self._clock = clock
        self._sleep = sleep
        self._prefix = prefix
        # The times (epoch seconds) of this process's latest calls under each paced key, at most `count`.
        self._sent: dict[str, deque[float]] = {}

    async def acquire(self, limits: Sequence[Limit]) -> float:
        """Take one slot under every limit, waiting for the next window when one is full.

        Returns the seconds waited. After a wait every limit is taken again: a slot counted in an
        earlier window may be over-counted, which only ever makes us slower, never over the limit.
        """
        waited = 0.0
        while True:
            # Paced again after a window wait: the calls that waited must not all go at its start.
            turn = self._pace(limits)
            if turn > 0:
                waited += turn
                await self._sleep(turn)
            wait = await self._try(limits)
            if wait is None:
                return waited
            waited += wait
            await self._sleep(wait)

    def _pace(self, limits: Sequence[Limit]) -> float:
        """Reserve this call's turn under every paced limit (no await: atomic); returns the wait for it.

        Turns under one key never go backwards, and each is at least `per` after the one `count`
        turns before it, so no span of `per` holds more than `count` of them.
        """
        paced = [limit for limit in limits if limit.paced]
        if not paced:
            return 0.0
        now = self._clock.now().timestamp()
        if len(self._sent) > 4096:
            self._sent = {key: sent for key, sent in self._sent.items() if sent[-1] > now - 60}
        logs = [self._sent.setdefault(limit.key, deque()) for limit in paced]
        turn = now
        for limit, sent in zip(paced, logs, strict=True):
            if sent:
                turn = max(turn, sent[-1])
            if len(sent) >= limit.count:
                turn = max(turn, sent[-limit.count] + limit.per + PACE_MARGIN)
        for limit, sent in zip(paced, logs, strict=True):
            sent.append(turn)
            while len(sent) > limit.count:
                sent.popleft()
        return turn - now

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
