"""A platform access token shared through the cache by every process, refreshed before it expires.

Each platform's client fetches its own token (Feishu's tenant_access_token, DingTalk's
accessToken, WeCom's access_token); what they share is this: one fetch at a time per process, the
token kept in the shared cache with its expiry, treated as gone a margin before that, and dropped
only if it is still the one a caller found stale (another caller may have replaced it already).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from storage.cache import Cache, Clock

# The platform's answer: the token and its lifetime in seconds.
Fetch = Callable[[], Awaitable[tuple[str, int]]]


class SharedToken:
    def __init__(self, cache: Cache, key: str, clock: Clock, *, refresh_margin: int) -> None:
        self._cache, self._key, self._clock, self._margin = cache, key, clock, refresh_margin
        self._lock = asyncio.Lock()

    async def get(self, fetch: Fetch) -> str:
        token = await self._cached()
        if token is not None:
            return token
        async with self._lock:
            token = await self._cached()
            if token is not None:
                return token
            token, lifetime = await fetch()
            margin = min(self._margin, lifetime // 2)
            record = json.dumps({"token": token, "expires_at": self._clock.now().timestamp() + lifetime})
            await self._cache.set(self._key, record, ttl=max(lifetime - margin, 1))
            return token

    async def _cached(self) -> str | None:
        raw = await self._cache.get(self._key)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            if float(record["expires_at"]) - self._clock.now().timestamp() < self._margin:
                return None
            return str(record["token"])
        except (ValueError, KeyError, TypeError):
            return None

    async def drop(self, stale: str) -> None:
        async with self._lock:
            if await self._cached() == stale:
                await self._cache.delete(self._key)
