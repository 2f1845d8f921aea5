"""The cache: Redis when configured (storage/redis_cache.py), an in-process stand-in otherwise.

Both speak the same small protocol; keys are namespaced with a prefix so several
deployments (and test runs) can share one Redis.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the cache needs of a clock (bot.clock's clocks fit); storage depends on nothing above it."""

    def now(self) -> datetime: ...


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Cache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        """Set only when absent; True when this call set it (a claim)."""
        ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, ttl: float | None = None) -> int:
        """Increment a counter; `ttl` starts when the counter is created."""
        ...

    async def take_in_window(self, key: str, count: int, per: float, now: float, *,
                             use: str | None = None, until: float | None = None) -> float:
        """One use under a sliding window: at most `count` uses in any `per` seconds.

        Records a use at `now` (epoch seconds, the caller's clock) and returns 0 when fewer than
        `count` were recorded in the `per` seconds before it; otherwise records nothing and
        returns the seconds until the oldest of them leaves the window. Atomic across every
        process sharing the cache.

        A use that takes a while (a call on its way to a platform that counts it when it arrives)
        is named (`use`, unique to it) and recorded as taking place as late as `until`, so it
        keeps its place in everyone's window until `settle_in_window` says when it ended.
        """
        ...

    async def settle_in_window(self, uses: Sequence[tuple[str, str]], at: float) -> None:
        """Named uses (key, use) ended at `at`: each counts from then on as taking place then, if earlier."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


# The in-process cache drops expired keys after this many writes, so short-lived keys (one
# rate-limit window per second) do not pile up in a long-running process.
SWEEP_EVERY_WRITES = 256
# Past this many sliding-window keys the in-process cache drops the ones unused for an hour.
SWEEP_WINDOWS_ABOVE = 4096


class InProcessCache:
    """A dictionary with expiry read from the injectable clock; expired keys are swept as it writes."""

    def __init__(self, clock: Clock | None = None, prefix: str = "tuijin:") -> None:
        self._clock = clock or _SystemClock()
        self._prefix = prefix
        self._data: dict[str, tuple[str, float | None]] = {}
        self._writes = 0
        # Per key: each use's name and the time it counts as taking place, in the order taken.
        self._windows: dict[str, OrderedDict[str, float]] = {}

    def __len__(self) -> int:
        return len(self._data)

    def _store(self, key: str, value: str, expires: float | None) -> None:
        self._data[self._prefix + key] = (value, expires)
        self._writes += 1
        if self._writes % SWEEP_EVERY_WRITES == 0:
            now = self._now()
            for stale in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
                del self._data[stale]

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _live(self, key: str) -> str | None:
        entry = self._data.get(self._prefix + key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self._now():
            del self._data[self._prefix + key]
            return None
        return value

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._now() + ttl

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._store(key, value, self._expiry(ttl))

    async def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._store(key, value, self._expiry(ttl))
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(self._prefix + key, None)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        current = self._live(key)
        if current is None:
            self._store(key, "1", self._expiry(ttl))
            return 1
        value = int(current) + 1
        self._store(key, str(value), self._data[self._prefix + key][1])
        return value

    async def take_in_window(self, key: str, count: int, per: float, now: float, *,
                             use: str | None = None, until: float | None = None) -> float:
        uses = self._windows.setdefault(self._prefix + key, OrderedDict())
        # Oldest first: each call drops what has left the window from the front, so a window of
        # thousands of uses (a minute's quota) costs nothing per call.
        while uses and next(iter(uses.values())) <= now - per:
            uses.popitem(last=False)
        if len(uses) >= count:
            # A settled use may have left the window behind an older one still on its way.
            for gone in [name for name, at in uses.items() if at <= now - per]:
                del uses[gone]
        if len(uses) < count:
            uses[use or secrets.token_hex(8)] = now if until is None else until
            if len(self._windows) > SWEEP_WINDOWS_ABOVE:
                self._windows = {k: v for k, v in self._windows.items() if v and max(v.values()) > now - 3600}
            return 0.0
        return min(uses.values()) + per - now

    async def settle_in_window(self, uses: Sequence[tuple[str, str]], at: float) -> None:
        for key, use in uses:
            window = self._windows.get(self._prefix + key)
            if window is not None and use in window and at < window[use]:
                window[use] = at

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()
        self._windows.clear()


def build_cache(redis_url: str, clock: Clock | None = None, prefix: str = "tuijin:") -> Cache:
    if redis_url:
        # Imported only when configured: the client adds about 5 MB to a process that never uses it.
        from storage.redis_cache import RedisCache

        return RedisCache(redis_url, prefix=prefix)
    return InProcessCache(clock=clock, prefix=prefix)
