"""Sliding-window rate limits counted in the shared cache, and jittered backoff.

Nothing here knows a platform. Every limit is a sliding window in the `Cache` (at most `count`
calls in any span of `per` seconds, `Cache.take_in_window`), so when Redis is configured every
replica and worker draws from the same window, and a burst at the end of one second cannot meet
another at the start of the next; with the in-process cache the limits hold per process.
Waiting goes through an injected `sleep`, so tests advance a frozen clock instead of sleeping.

The platform counts a call when it arrives, somewhere between when it left and its answer, and
calls travel unevenly. So under a `paced` limit a call counts until its answer: in the shared
window (recorded as late as the answer cap, settled to the answer when it comes) and in this
process's log of answers, which lets a call follow the one `count` places before it without
asking the cache again (see `slot`). Bursts up to the limit still go at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.clock import Clock
from storage.cache import Cache

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# A paced call leaves this much later than the span strictly needs (clock rounding).
PACE_MARGIN = 0.002
# A call still unanswered this long after it left is taken to have reached the platform by then,
# so one hanging request holds up the calls behind it for at most this long.
ANSWER_WAIT_CAP = 1.0


@dataclass(frozen=True)
class Limit:
    """At most `count` acquisitions per `per` seconds for one key."""

    key: str
    count: int
    per: float
    paced: bool = False


@dataclass(eq=False)
class _Turn:
    """One call's place in the paced logs (times in epoch seconds on the limiter's clock)."""

    left: float | None = None  # when it passed the limiter
    done: float | None = None  # when its answer came back (or it was given up)
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class WindowLimiter:
    def __init__(self, cache: Cache, clock: Clock, *, sleep: Sleep = asyncio.sleep, prefix: str = "rl:",
                 processes: int = 1) -> None:
        self._cache = cache
        self._clock = clock
        self._sleep = sleep
        self._prefix = prefix
        # Processes sending under the same limits (TUIJIN_WORKERS): each paces to its share, so
        # together they stay within every span; the shared window still counts the whole.
        self._processes = max(1, processes)
        # This process's latest calls under each paced key, in order, at most `count`.
        self._sent: dict[str, deque[_Turn]] = {}

    async def acquire(self, limits: Sequence[Limit]) -> float:
        """Take one slot under every limit, waiting for the next window when one is full.

        Returns the seconds waited. For a paced limit the call counts as answered at once; use
        `slot` around the call itself so the calls behind it are spaced from its answer.
        """
        async with self.slot(limits) as waited:
            return waited

    @asynccontextmanager
    async def slot(self, limits: Sequence[Limit]) -> AsyncIterator[float]:
        """Hold a slot under every limit for the duration of one call; yields the seconds waited.

        The platform counts a call when it arrives, which is after it left us and before its answer
        came back. So under a paced limit a call follows the one `count` places before it by `per`
        counted from that one's answer: no span of `per` can then hold more than `count` arrivals,
        however unevenly the calls travel. The shared window does the same across processes: a
        paced use is recorded as taking place as late as the answer cap, and moved back to its
        answer when it comes, so another replica's call cannot count it as gone too early. After a
        window wait every limit is taken again: a use already recorded under another limit is then
        counted twice, which only makes us slower.
        """
        started = self._clock.now().timestamp()
        turn, before = self._reserve(limits)
        held: list[tuple[str, str]] = []
        try:
            while True:
                # Paced (again, after a window wait): the calls that waited must not all go at its start.
                await self._pace(before)
                wait = await self._try(limits, held)
                if wait is None:
                    break
                await self._sleep(wait)
            turn.left = self._clock.now().timestamp()
            yield turn.left - started
        finally:
            turn.done = self._clock.now().timestamp()
            turn.answered.set()
            if held:
                try:
                    await self._cache.settle_in_window(held, turn.done)
                except Exception:  # the call is made; its uses then count until the answer cap
                    log.warning("rate-limit window not settled (cache unreachable)", exc_info=True)

    def _reserve(self, limits: Sequence[Limit]) -> tuple[_Turn, list[tuple[Limit, _Turn]]]:
        """This call's place under every paced limit (no await: atomic), and the calls it must follow."""
        turn = _Turn()
        before: list[tuple[Limit, _Turn]] = []
        paced = [limit for limit in limits if limit.paced]
        if not paced:
            return turn, before
        if len(self._sent) > 4096:
            now = self._clock.now().timestamp()
            self._sent = {key: log for key, log in self._sent.items()
                          if log[-1].done is None or log[-1].done > now - 60}
        for limit in paced:
            log = self._sent.setdefault(limit.key, deque())
            share = max(1, limit.count // self._processes)
            if len(log) >= share:
                before.append((limit, log[-share]))
            log.append(turn)
            while len(log) > share:
                log.popleft()
        return turn, before

    async def _pace(self, before: list[tuple[Limit, _Turn]]) -> None:
        for limit, earlier in before:
            reached = await self._reached(earlier)
            wait = reached + limit.per + PACE_MARGIN - self._clock.now().timestamp()
            if wait > 0:
                await self._sleep(wait)

    async def _reached(self, earlier: _Turn) -> float:
        """The latest the earlier call can have reached the platform: its answer, or the cap."""
        if earlier.left is None:
            await earlier.answered.wait()  # still waiting its own turn, ahead of us in line
        if earlier.done is None and earlier.left is not None:
            cap = earlier.left + ANSWER_WAIT_CAP
            await self._until_answered(earlier, cap - self._clock.now().timestamp())
            if earlier.done is None:
                return cap
        assert earlier.done is not None
        return earlier.done

    async def _until_answered(self, earlier: _Turn, seconds: float) -> None:
        """Wait for the earlier call's answer, at most `seconds` (through the injected sleep)."""
        if seconds <= 0:
            return
        answered = asyncio.ensure_future(earlier.answered.wait())
        timer = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait({answered, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (answered, timer):
                waiting.cancel()
            await asyncio.gather(answered, timer, return_exceptions=True)

    async def _try(self, limits: Sequence[Limit], held: list[tuple[str, str]]) -> float | None:
        """Take every limit's window; a paced use taken is added to `held`, to be settled at the answer."""
        for limit in limits:
            now = self._clock.now().timestamp()
            key = f"{self._prefix}{limit.key}:{limit.per:g}"
            if not limit.paced:
                wait = await self._cache.take_in_window(key, limit.count, limit.per, now)
            else:
                use = secrets.token_hex(8)
                wait = await self._cache.take_in_window(key, limit.count, limit.per, now, use=use,
                                                        until=now + ANSWER_WAIT_CAP)
                if wait <= 0:
                    held.append((key, use))
                else:
                    # The window may be full of calls still on their way, whose answers come in
                    # milliseconds: look again after an even share of the span, not the cap.
                    wait = min(wait, limit.per / limit.count)
            if wait > 0:
                return max(wait, 0.001)
        return None

