"""Group commit: concurrent callers' small writes collected into one statement and one commit.

Each caller submits one item and waits for its own result. Items submitted while a flush is
running wait for it to finish and then go together in the next one, so under load a batch
grows to whatever arrived meanwhile (never beyond `max_batch`), and a lone caller is flushed on
the next turn of the event loop without waiting for company. `flush` must return one result per
item, in order; if it raises, every caller of that batch gets the error, as each would have
from its own transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(self, flush: Callable[[list[T]], Awaitable[Sequence[R]]], *, max_batch: int = 256,
                 parallel: int = 1) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._parallel = parallel
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._running = 0
        self._scheduled = False
        self._flushes: set[asyncio.Future[None]] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        if self._pending and not self._scheduled and self._running < self._parallel:
            self._scheduled = True
            # call_soon: callers ready in this same turn of the loop join the batch.
            asyncio.get_running_loop().call_soon(self._start)

    def _start(self) -> None:
        self._scheduled = False
        if not self._pending or self._running >= self._parallel:
            return
        batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
        self._running += 1
        task = asyncio.ensure_future(self._run(batch))
        self._flushes.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._flushes.discard(task)
        self._running -= 1
        self._schedule()

    async def settled(self) -> None:
        """Wait until no flush is running or waiting (a caller that gave up leaves its flush running)."""
        while self._flushes or self._pending:
            if self._flushes:
                await asyncio.gather(*list(self._flushes), return_exceptions=True)
            else:
                await asyncio.sleep(0)  # a flush scheduled with call_soon starts on the next turn

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
        except BaseException as error:  # every caller of the batch learns of it; nothing is swallowed
            for _, future in batch:
                if not future.done():
                    future.set_exception(error if isinstance(error, Exception) else RuntimeError(repr(error)))
            if not isinstance(error, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
