"""The steady phase of bench/run.py: commands offered at a fixed rate for a while, as traffic comes.

The e2e phase sends its commands from a closed loop of clients as fast as they are acknowledged,
so they are all stored within a second or two and the rate it reports is how fast the server
drains a backlog it holds while nothing else arrives. Traffic is not like that: events keep
arriving while the server works, and each one wants its ack at once. This phase offers commands
open loop at `rate` per second for `seconds`; a 503 is sent again `retry_after` seconds later (the
platform re-sends too, later still). A server that keeps up answers every command within a short
while of its send; one that does not must still answer at its full rate, and turn away only what
exceeds it.

Reported: `served/s` (replies received during the offered window, per second of it), p50/p99
from each command's scheduled send to its reply, the 503s answered, and how long after the
window the last reply came (`drain s`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Steady:
    rate: float
    seconds: float
    started: float = 0.0
    scheduled: dict[str, float] = field(default_factory=dict)  # message id -> scheduled send
    refused: int = 0  # 503 answers (each re-sent)
    errors: Counter[str] = field(default_factory=Counter)


async def offer(url: str, commands: Sequence[tuple[str, bytes, dict[str, str]]], rate: float, *,
                retry_after: float = 1.0, give_up_after: float = 120.0) -> Steady:
    """Send each command at its time; re-send a 503 after `retry_after` seconds until accepted."""
    steady = Steady(rate=rate, seconds=len(commands) / rate)

    async def one(session: aiohttp.ClientSession, message_id: str, due: float, body: bytes,
                  headers: dict[str, str]) -> None:
        steady.scheduled[message_id] = due
        delay = due - time.perf_counter()
        while True:
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = str(response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            if status == "503" and time.perf_counter() - due < give_up_after:
                steady.refused += 1
                delay = retry_after
                continue
            if status != "200":
                steady.errors[status] += 1
            return

    connector = aiohttp.TCPConnector(limit=1024)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        steady.started = time.perf_counter() + 0.05
        await asyncio.gather(*(one(session, message_id, steady.started + i / rate, body, headers)
                               for i, (message_id, body, headers) in enumerate(commands)))
    return steady


def results(steady: Steady, replies: dict[str, list[float]]) -> dict[str, float]:
    """What the phase reports, from the replies the fake received (first arrival of each)."""
    end = steady.started + steady.seconds
    arrived = {m: replies[m][0] for m in steady.scheduled if m in replies}
    waits = sorted(arrived[m] - steady.scheduled[m] for m in arrived)
    in_window = sum(1 for at in arrived.values() if at <= end)

    def pct(q: float) -> float:
        return waits[min(len(waits) - 1, int(q * len(waits)))] * 1000 if waits else float("nan")

    return {
        "steady_rate": steady.rate,
        "steady_served": in_window / steady.seconds,
        "steady_p50": pct(0.5),
        "steady_p99": pct(0.99),
        "steady_refused": steady.refused,
        "steady_drain": max(0.0, max(arrived.values(), default=end) - end),
        "steady_missing": len(steady.scheduled) - len(arrived),
    }
