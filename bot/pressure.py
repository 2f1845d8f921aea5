"""Acknowledgements first during a burst: background work steps aside while acks flood in.

Everything runs on one event loop, so a command being processed or a reply being sent takes turns
with the requests being acknowledged. During a burst (on average at least `flood_at` acks waiting
for their inbox insert, and one in flight or finished within `recent` seconds) each unit of
background work (one event, one send) first waits until no ack is in flight, for at most
`max_wait` seconds, then runs one at a time with the other background units, with a breather
between units: the acks keep most of the loop, and the burst is stored first.

Otherwise background work runs at its full concurrency. Acks arriving at a steady rate keep one or
two in flight; holding the work back for them only delays every reply and makes no ack faster (a
steady 150 commands/s was served at 55/s, replies seconds late, when any recent ack held the work
back). Nor is it held back once the backlog is at or nearly at its bound (`full`): new events
are refused with a 503 anyway, and only processing makes room, so a long overload is served at the
full rate instead of trickling.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

# Weight of each new ack in the running average of acks in flight (about the last 20 acks).
FLOOD_WEIGHT = 0.05


class AckPressure:
    def __init__(self, max_wait: float = 0.02, recent: float = 0.05, *, flood_at: float = 4.0,
                 full: Callable[[], bool] | None = None) -> None:
        self.max_wait = max_wait
        self.recent = recent
        self.flood_at = flood_at
        self.full = full
        self._last_ack = float("-inf")
        self._in_flight = 0
        # Acks in flight as each ack starts, averaged: a steady stream keeps it low, a burst high.
        self._flood = 0.0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._turn = asyncio.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def flooding(self) -> bool:
        return self._flood >= self.flood_at

    @contextmanager
    def ack(self) -> Iterator[None]:
        if not self._arriving():
            self._flood = 0.0  # a burst that ended is forgotten: this ack starts afresh
        self._in_flight += 1
        self._flood += FLOOD_WEIGHT * (self._in_flight - self._flood)
        self._quiet.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._last_ack = asyncio.get_running_loop().time()
            if self._in_flight == 0:
                self._quiet.set()

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """Around one unit of background work."""
        if not self._busy():
            yield
            return
        if self._in_flight:
            try:
                await asyncio.wait_for(self._quiet.wait(), self.max_wait)
            except TimeoutError:
                pass
        if not self._busy():
            yield
            return
        async with self._turn:
            yield
            if self._busy():
                # A breather before the next unit's turn: the acks keep most of the loop.
                await asyncio.sleep(self.max_wait / 4)

    def _busy(self) -> bool:
        """A burst of acks still arriving, and room left in the backlog."""
        if self.max_wait <= 0 or self._flood < self.flood_at or not self._arriving():
            return False
        return self.full is None or not self.full()

    def _arriving(self) -> bool:
        """Acks are arriving: one in flight, or one finished within `recent` seconds."""
        return self._in_flight > 0 or asyncio.get_running_loop().time() - self._last_ack < self.recent
