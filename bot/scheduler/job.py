"""The minute sweep: APScheduler (3.x) tied to the app's lifecycle, errors routed to the log."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.metrics import Metrics
from bot.scheduler.errors import SweepIncomplete

log = logging.getLogger(__name__)


class Sweep(Protocol):
    async def run(self, at: datetime) -> int:
        """Do what is due at `at`; returns how many pushes (or rows) it handled."""
        ...


class Sweeps:
    """Every scheduled sweep, run for one instant; `tuijin tick` and the minute job share it.

    Each sweep runs on its own: one that fails is logged and counted, and the others still run.
    """

    def __init__(self, metrics: Metrics, **sweeps: Sweep) -> None:
        self.metrics = metrics
        self.sweeps = sweeps

    async def run(self, at: datetime) -> dict[str, int]:
        done: dict[str, int] = {}
        for name, sweep in self.sweeps.items():
            try:
                done[name] = await sweep.run(at)
            except SweepIncomplete as partly:
                self.metrics.sweep_failures.labels(name).inc()
                log.error("scheduled sweep done only in part", extra={"sweep": name, "reason": str(partly)})
                done[name] = partly.done
            except Exception:
                self.metrics.sweep_failures.labels(name).inc()
                log.exception("scheduled sweep failed", extra={"sweep": name})
                done[name] = -1
        return done


# At shutdown a sweep under way gets this long to finish before it is stopped.
STOP_WAIT_SECONDS = 10.0


class SweepJob:
    def __init__(self, sweeps: Sweeps, clock: Clock, *, stop_wait: float = STOP_WAIT_SECONDS) -> None:
        self.sweeps = sweeps
        self.clock = clock
        self.stop_wait = stop_wait
        self._scheduler: AsyncIOScheduler | None = None
        self._running: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # One run at a time; a missed minute is folded into the next rather than replayed.
        self._scheduler.add_job(self._tick, IntervalTrigger(minutes=1), id="sweeps", max_instances=1,
                                coalesce=True, misfire_grace_time=30)
        self._scheduler.start()

    async def stop(self) -> None:
        """No new sweep; the one under way may finish (each tenant's work is its own transaction,
        and what it claimed is claimed once, so one stopped half-way is simply swept again later)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        running = self._running
        if running is None or running.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(running), self.stop_wait)
        except TimeoutError:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    async def _tick(self) -> None:
        self._running = asyncio.current_task()
        try:
            await self.sweeps.run(self.clock.now())
        except asyncio.CancelledError:
            # Stopped at shutdown: the current tenant's transaction rolls back and nothing is lost.
            log.info("scheduled sweep stopped at shutdown")
        except Exception:
            log.exception("scheduled sweep failed")
        finally:
            self._running = None
