"""Processor processes: messages processed and replies sent away from the acknowledgements.

A serving process runs everything on one event loop, so while it processes a command it is not
acknowledging the next event: under a burst the acks queue behind processing, and past the
platform's deadline (Feishu's is 3 s) the platform re-sends. With `TUIJIN_PROCESSORS=M` the
supervisor (bot/workers.py) starts M processor processes beside the serving workers. A serving
worker then only stores each message, the durable ack, and announces it
(storage/inbox_signal.py); a processor claims it from the inbox through the recovery loop
(bot/recovery.py), processes it in the usual transaction and sends the reply. Card clicks stay
with the serving workers: they are answered inline, while the user waits.

Processors run at a lower CPU priority (`TUIJIN_PROCESSOR_NICE`, 10 by default). When the machine
is short of CPU the kernel gives it to the acknowledgements first: a burst is acknowledged within
the deadline while its processing waits, durably, in the inbox, and catches up after. Only the
processors' own CPU is lowered: PostgreSQL's backends serving them run at the database's priority,
so on a machine that also runs the database their statements still compete with the acks
(bench/README.md has what that costs). Nothing else changes: a processor that dies leaves what
it claimed leased, and any processor replays it when the lease runs out, exactly once, as after
any crash. The first processor runs the minute sweep.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from bot.app import SchemaBehind, Services, build_services, require_current_schema, shut_down, tune_gc
from bot.config import Settings
from bot.event_loop import new_event_loop

log = logging.getLogger(__name__)


def lower_priority(settings: Settings) -> None:
    if settings.processor_nice:
        os.nice(settings.processor_nice)  # lowering one's own priority needs no privilege


def serve_processor(settings: Settings, *, primary: bool) -> int:
    """Run one processor in this process until SIGTERM/SIGINT; the exit code."""
    lower_priority(settings)
    loop = new_event_loop(settings.event_loop)
    try:
        return loop.run_until_complete(run_processor(build_services(settings, role="processor"), primary=primary))
    except SchemaBehind as behind:
        print(f"tuijin: {behind}", file=sys.stderr)
        return 1
    finally:
        loop.close()


async def run_processor(services: Services, *, primary: bool, stop: asyncio.Event | None = None) -> int:
    """Process and send until `stop` is set (by SIGTERM/SIGINT when not given), then drain.

    Raises SchemaBehind, before starting anything, when the database lacks migrations.
    """
    stop = stop or _stop_on_signals()
    await require_current_schema(services.db)
    services.worker.start()
    if primary:
        services.sweep_job.start()
    services.recovery.start(listen=True, wake_sender=services.outbox.wake)
    tune_gc()
    log.info("tuijin processor started", extra={"primary": primary})
    await stop.wait()
    log.info("tuijin processor stopping: draining background work")
    await shut_down(services, background=True)
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
