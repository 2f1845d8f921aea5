"""Several serving processes on one port (`TUIJIN_WORKERS`), so a multi-core machine is used.

One Python process runs on one core: acknowledging, processing and sending all share its event
loop. With `TUIJIN_WORKERS=N` the parent starts N copies of the whole app, each binding the same
port with SO_REUSEPORT, so the kernel spreads incoming connections over them. Nothing else has to
change for that, because the app is already safe to run as replicas: the inbox, outbox and
dispatch claims live in the database, rate-limit windows and platform tokens in Redis.

What that takes, checked before anything starts (`workers_problem`): PostgreSQL (SQLite has one
writer), Redis (otherwise each process would count Feishu's 50 messages/s on its own), webhook
or callback mode for every platform (a long connection delivers all events to the one process
that holds it), and no console (its chats live in one process's memory). Worker 0 is the
primary: it alone runs the minute sweep; every worker acknowledges, processes and delivers.

The parent only supervises: it forwards SIGTERM/SIGINT (each worker then drains as a single
server does), restarts a worker that dies, and gives up when workers keep dying at start-up.
Metrics are gathered across the workers with prometheus_client's multiprocess mode.

With `TUIJIN_PROCESSORS=M` it also starts M processor processes (bot/processor.py): the serving
workers then only acknowledge and answer card clicks, and the processors, at a lower CPU
priority, process messages, send replies and run the minute sweep (the first of them). The
serving workers can then hold a platform's long connection when there is one of them
(`TUIJIN_WORKERS=1`): the events still arrive in one process, which only stores them.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from bot.config import Settings
from bot.platforms import console_enabled, long_connections

log = logging.getLogger(__name__)

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# A worker that dies sooner than this after starting counts as failing to start.
QUICK_EXIT_SECONDS = 10.0
QUICK_EXITS_ALLOWED = 3
RESTART_PAUSE_SECONDS = 1.0


def several_processes(settings: Settings) -> bool:
    return settings.workers > 1 or settings.processors > 0


def workers_problem(settings: Settings) -> str | None:
    """Why this configuration cannot run several processes, in words for whoever deploys it."""
    if not several_processes(settings):
        return None
    asked = "TUIJIN_WORKERS > 1" if settings.processors == 0 else "TUIJIN_PROCESSORS"
    if settings.resolved_database_url().startswith("sqlite"):
        return (f"{asked} needs PostgreSQL (TUIJIN_DATABASE_URL): SQLite has one writer, "
                "so several processes would only wait on its lock")
    if not settings.redis_url:
        return (f"{asked} needs Redis (TUIJIN_REDIS_URL): the platforms' rate limits and access "
                "tokens must be shared by the processes")
    if console_enabled(settings):
        return (f"{asked} cannot serve the console (its chats live in one process's memory): "
                "set TUIJIN_CONSOLE__ENABLED=false, or run one process (TUIJIN_WORKERS=1, TUIJIN_PROCESSORS=0)")
    held = long_connections(settings)
    if held and settings.workers > 1:
        return ("TUIJIN_WORKERS > 1 needs webhook/callback mode: " + ", ".join(held)
                + " receive every event over one connection, in one process; use TUIJIN_WORKERS=1")
    return None


def serve_workers(settings: Settings, overrides: dict[str, Any]) -> int:
    """Run `settings.workers` serving processes until SIGTERM/SIGINT; the exit code for the CLI."""
    problem = workers_problem(settings)
    if problem is not None:
        print(f"tuijin: {problem}", file=sys.stderr)
        return 2
    from bot.app import SchemaBehind

    try:
        asyncio.run(_check_schema(settings))
    except SchemaBehind as behind:
        print(f"tuijin: {behind}", file=sys.stderr)
        return 1
    metrics_dir = tempfile.mkdtemp(prefix="tuijin-metrics-")
    # Read by prometheus_client when a worker imports it: every worker writes its counters there.
    os.environ[METRICS_DIR_VARIABLE] = metrics_dir
    try:
        return _Supervisor(settings.workers, settings.processors, overrides).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


async def _check_schema(settings: Settings) -> None:
    from bot.app import require_current_schema
    from storage.db import Database

    db = Database(settings.resolved_database_url())
    try:
        await require_current_schema(db)
    finally:
        await db.dispose()


class _Supervisor:
    """Indexes 0..count-1 are serving workers, the next `processors` ones processors."""

    def __init__(self, count: int, processors: int, overrides: dict[str, Any]) -> None:
        self.count = count
        self.processors = processors
        self.overrides = overrides
        self.context = mp.get_context("spawn")  # a fresh interpreter: no loop or connection is inherited
        self.workers: dict[int, BaseProcess] = {}
        self.started_at: dict[int, float] = {}
        self.quick_exits = 0
        self.stopping = False

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index in range(self.count + self.processors):
                self._start(index)
            while self.workers:
                wait([worker.sentinel for worker in self.workers.values()])
                for index, worker in list(self.workers.items()):
                    if worker.is_alive():
                        continue
                    del self.workers[index]
                    self._forget_metrics(worker)
                    if not self.stopping:
                        self._restart(index, worker)
            return 1 if self.quick_exits > QUICK_EXITS_ALLOWED else 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, index: int) -> None:
        if index < self.count:
            worker = self.context.Process(target=run_worker, args=(self.overrides, index),
                                          name=f"tuijin-worker-{index}")
        else:
            worker = self.context.Process(target=run_processor, args=(self.overrides, index - self.count),
                                          name=f"tuijin-processor-{index - self.count}")
        worker.start()
        self.workers[index] = worker
        self.started_at[index] = time.monotonic()

    def _restart(self, index: int, worker: BaseProcess) -> None:
        lived = time.monotonic() - self.started_at[index]
        log.error("worker exited; starting it again",
                  extra={"worker": index, "exit_code": worker.exitcode, "lived_seconds": round(lived, 1)})
        if lived < QUICK_EXIT_SECONDS:
            self.quick_exits += 1
            if self.quick_exits > QUICK_EXITS_ALLOWED:
                log.error("workers keep failing at start-up; stopping")
                self._stop(signal.SIGTERM, None)
                return
        else:
            self.quick_exits = 0
        time.sleep(RESTART_PAUSE_SECONDS)
        self._start(index)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for worker in self.workers.values():
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)

    @staticmethod
    def _forget_metrics(worker: BaseProcess) -> None:
        if worker.pid is not None and os.environ.get(METRICS_DIR_VARIABLE):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)


def run_worker(overrides: dict[str, Any], index: int) -> None:
    """One serving process (the target of the supervisor's spawn)."""
    from bot.cli import serve_app
    from bot.logs import configure_logging

    settings = Settings(**overrides)
    configure_logging(settings.log_level)
    workers, processors = settings.workers, settings.processors
    shape = f"{workers} worker{'s' if workers > 1 else ''}" + (
        f", {processors} processor{'s' if processors > 1 else ''}" if processors else "")
    sys.exit(serve_app(settings, primary=index == 0, reuse_port=workers > 1,
                       announce=f" ({shape})" if index == 0 else None))


def run_processor(overrides: dict[str, Any], index: int) -> None:
    """One processor process (bot/processor.py); the first runs the minute sweep."""
    from bot.logs import configure_logging
    from bot.processor import serve_processor

    settings = Settings(**overrides)
    configure_logging(settings.log_level)
    sys.exit(serve_processor(settings, primary=index == 0))
