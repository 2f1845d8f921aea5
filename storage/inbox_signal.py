"""Waking the processors when events are handed to them: PostgreSQL's LISTEN/NOTIFY.

With processor processes (`TUIJIN_PROCESSORS`, bot/processor.py) the serving processes only
store events, and the processors take them from the inbox (bot/recovery.py). Each stored batch is
announced with one NOTIFY; every processor LISTENs on a connection of its own and claims at once.
A notification is a hint, never the hand-over itself: the row is in the inbox either way, so a
processor that missed one (its connection dropped, it was starting) finds the row at its next
poll, and a reconnect is itself taken as a hint, since anything may have arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Literal

import asyncpg

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.5
RETRY_CAP_SECONDS = 15.0
# A connection cut without a word (a NAT forgetting it, a dead host) is only noticed by using it.
PING_EVERY_SECONDS = 30.0
PING_TIMEOUT_SECONDS = 5.0


# What waits: events in the inbox to process, or messages in the outbox to send; "any" after a
# reconnect, when either may have arrived unannounced.
Announced = Literal["inbox", "outbox", "any"]


def inbox_channel(schema: str | None) -> str:
    """Channels belong to the database, not to a schema: deployments sharing one keep apart."""
    return f"tuijin_inbox_{schema}" if schema else "tuijin_inbox"


class InboxSignal:
    def __init__(self, options: dict[str, Any], channel: str, on_signal: Callable[[Announced], None]) -> None:
        self._options = options
        self.channel = channel
        self._on_signal = on_signal
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.connected = False

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="inbox-signal")

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(**self._options)
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(self.channel, self._heard)
                self.connected, failures = True, 0
                self._on_signal("any")
                await self._hold(conn, lost)
            except Exception as error:
                failures += 1
                if failures == 1:
                    log.warning("cannot listen for new events; polling until it can",
                                extra={"error": type(error).__name__})
            finally:
                self.connected = False
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            if not self._stopping.is_set():
                pause = min(RETRY_FIRST_SECONDS * 2 ** max(failures - 1, 0), RETRY_CAP_SECONDS)
                try:
                    async with asyncio.timeout(pause):
                        await self._stopping.wait()
                except TimeoutError:
                    pass


    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_signal("outbox" if payload == "outbox" else "inbox")

    async def _hold(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Until the connection is lost, does not answer a ping in time, or we stop."""
        while not lost.is_set() and not self._stopping.is_set():
            try:
                async with asyncio.timeout(PING_EVERY_SECONDS):
                    await _first(lost.wait(), self._stopping.wait())
            except TimeoutError:
                async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                    await conn.fetchval("SELECT 1")


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
