"""The minute job at shutdown: a sweep under way finishes, or is stopped quietly when it takes too long."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest

from bot.clock import FrozenClock
from bot.metrics import Metrics
from bot.scheduler.job import SweepJob, Sweeps


class SlowSweep:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = False

    async def run(self, at: datetime) -> int:
        self.started.set()
        await self.release.wait()
        self.finished = True
        return 1


async def test_stop_lets_a_sweep_under_way_finish(clock: FrozenClock) -> None:
    sweep = SlowSweep()
    job = SweepJob(Sweeps(Metrics(), slow=sweep), clock, stop_wait=30)
    tick = asyncio.create_task(job._tick())
    await sweep.started.wait()
    stopping = asyncio.create_task(job.stop())
    await asyncio.sleep(0)
    assert not stopping.done()  # waiting for the sweep
    sweep.release.set()
    await stopping
    assert sweep.finished and tick.done() and tick.exception() is None


async def test_a_sweep_that_outlasts_the_wait_is_stopped_quietly(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture,
) -> None:
    sweep = SlowSweep()
    job = SweepJob(Sweeps(Metrics(), slow=sweep), clock, stop_wait=0)
    tick = asyncio.create_task(job._tick())
    await sweep.started.wait()
    with caplog.at_level(logging.INFO):
        await job.stop()
    assert tick.done() and not tick.cancelled() and tick.exception() is None
    assert not sweep.finished
    assert "scheduled sweep stopped at shutdown" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
