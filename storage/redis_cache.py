"""The cache in Redis, shared by every process and deployment pointed at it (storage/cache.py's protocol)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import BlockingConnectionPool, Redis

# One use under a sliding window, atomically in Redis: a sorted set of use times per key.
# The result is a string: Redis turns a Lua number into an integer, which would drop the fraction.
_TAKE_IN_WINDOW = """
local now, per, count, at = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
if redis.call('ZCARD', KEYS[1]) < count then
  redis.call('ZADD', KEYS[1], at, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil((at - now + per) * 2000))
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + per - now)
"""

# Named uses moved to when they ended (never later than recorded); ARGV[1] the time, then the names.
_SETTLE_IN_WINDOW = """
local at = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local recorded = redis.call('ZSCORE', key, ARGV[i + 1])
  if recorded and at < tonumber(recorded) then
    redis.call('ZADD', key, 'XX', at, ARGV[i + 1])
  end
end
return 0
"""


# A burst waits this long for a pooled Redis connection instead of failing at once.
REDIS_POOL_SIZE = 64
REDIS_POOL_WAIT_SECONDS = 5.0


class RedisCache:
    def __init__(self, url: str, prefix: str = "tuijin:", *, max_connections: int = REDIS_POOL_SIZE) -> None:
        pool = BlockingConnectionPool.from_url(url, decode_responses=True, max_connections=max_connections,
                                               timeout=REDIS_POOL_WAIT_SECONDS)
        self._redis: Redis = Redis(connection_pool=pool)
        self._prefix = prefix
        self._take_in_window = self._redis.register_script(_TAKE_IN_WINDOW)
        self._settle_in_window = self._redis.register_script(_SETTLE_IN_WINDOW)

    @staticmethod
    def _ms(ttl: float | None) -> timedelta | None:
        return None if ttl is None else timedelta(seconds=ttl)

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(self._prefix + key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self._redis.set(self._prefix + key, value, px=self._ms(ttl))

    async def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        return bool(await self._redis.set(self._prefix + key, value, px=self._ms(ttl), nx=True))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        full = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            if ttl is not None:
                pipe.pexpire(full, self._ms(ttl), nx=True)  # type: ignore[arg-type]
            result = await pipe.execute()
        return int(result[0])

    async def take_in_window(self, key: str, count: int, per: float, now: float, *,
                             use: str | None = None, until: float | None = None) -> float:
        # A member unique to this use: two uses at the same instant are two entries.
        member = use or f"{now:.6f}:{secrets.token_hex(4)}"
        at = now if until is None else until
        wait = await self._take_in_window(keys=[self._prefix + key],
                                          args=[repr(now), repr(per), count, member, repr(at)])
        return float(wait)

    async def settle_in_window(self, uses: Sequence[tuple[str, str]], at: float) -> None:
        if uses:
            await self._settle_in_window(keys=[self._prefix + key for key, _ in uses],
                                         args=[repr(at), *(use for _, use in uses)])

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def delete_prefix(self) -> int:
        """Remove every key under this cache's prefix (test cleanup, tenant offboarding)."""
        removed = 0
        # Escape glob metacharacters, so a prefix like "a*" or "t[1]" matches only itself.
        literal = "".join("\\" + c if c in "\\*?[]^" else c for c in self._prefix)
        async for key in self._redis.scan_iter(match=literal + "*", count=500):
            removed += int(await self._redis.delete(key))
        return removed

    async def close(self) -> None:
        await self._redis.aclose()
