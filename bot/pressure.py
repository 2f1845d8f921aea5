"""Acknowledgements first: background work steps aside, briefly, while acks are in flight.

Everything runs on one event loop, so a command being processed or a reply being sent takes turns
with the requests being acknowledged. Each unit of background work (one event, one send) first
waits until no ack is in flight, for at most `max_wait` seconds; if acks are still arriving (one
is in flight or finished within `recent` seconds) it then runs one at a time with the other
background units, so the acks keep most of the loop.
A burst is acknowledged first, work still makes progress under a steady stream, and the backlog
bound turns the excess away with a 503. With no ack in flight, background work runs at its
full concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager


class AckPressure:
    def __init__(self, max_wait: float = 0.02, recent: float = 0.05) -> None:
        self.max_wait = max_wait
        self.recent = recent
        self._last_ack = float("-inf")
        self._in_flight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._turn = asyncio.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextmanager
    def ack(self) -> Iterator[None]:
        self._in_flight += 1
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
        """Acks in flight, or one finished a moment ago (a steady stream has gaps between acks)."""
        if self.max_wait <= 0:
            return False
        return self._in_flight > 0 or asyncio.get_running_loop().time() - self._last_ack < self.recent
