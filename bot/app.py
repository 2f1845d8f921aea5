"""The aiohttp application: wiring, lifecycle, health and metrics endpoints."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.core.platform import PlatformAdapter
from bot.delivery.outbox import Outbox
from bot.delivery.worker import DeliveryWorker
from bot.directory_sync import DirectorySync
from bot.handlers import root_router
from bot.http_edge import error_middleware
from bot.leases import new_lease_owner, release_leases
from bot.metrics import CONTENT_TYPE, Metrics
from bot.pipeline import Pipeline
from bot.platforms import build_adapters
from bot.recovery import InboxRecovery
from bot.scheduler.digests import Digests
from bot.scheduler.due_alerts import DueAlerts
from bot.scheduler.escalations import Escalations
from bot.scheduler.job import SweepJob, Sweeps
from bot.scheduler.retention import Retention
from bot.scheduler.standups import Standups
from bot.supervisor import Supervisor
from storage.cache import Cache, build_cache
from storage.db import Database

log = logging.getLogger(__name__)

# What a process does: everything; only acknowledging and answering clicks while processors
# process messages and send (bot/processor.py); or that processing and sending.
Role = Literal["all", "edge", "processor"]


@dataclass
class Services:
    """Everything the app owns, reachable from handlers and tests as app[SERVICES]."""

    settings: Settings
    clock: Clock
    db: Database
    cache: Cache
    metrics: Metrics
    outbox: Outbox
    supervisor: Supervisor
    pipeline: Pipeline
    worker: DeliveryWorker
    sweeps: Sweeps
    sweep_job: SweepJob
    recovery: InboxRecovery
    # Names this process in every lease it takes (bot/leases.py).
    lease_owner: str
    role: Role = "all"
    adapters: dict[str, PlatformAdapter] = field(default_factory=dict)


SERVICES = web.AppKey("services", Services)


class SchemaBehind(RuntimeError):
    """The database lacks migrations this code needs; serving would fail on every event."""


async def require_current_schema(db: Database) -> None:
    if not await db.schema_is_current():
        raise SchemaBehind("the database schema is behind this version: run `tuijin db upgrade` first")


def tune_gc() -> None:
    """Fewer, cheaper collections for a long-running server.

    Everything allocated at start-up (modules, mappers, compiled statements) moves out of the
    collector's sight, and the youngest generation is collected after 20,000 net allocations
    instead of 700: under load, collections through all generations otherwise paused the event
    loop often enough to put tens of milliseconds on the slowest acknowledgements.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


def build_services(settings: Settings, *, clock: Clock | None = None, db: Database | None = None,
                   cache: Cache | None = None, role: Role | None = None) -> Services:
    """`role` None: "edge" when processors are configured (`TUIJIN_PROCESSORS`), else "all"."""
    role = role or ("edge" if settings.processors > 0 else "all")
    clock = clock or SystemClock()
    db = db or Database(settings.resolved_database_url())
    cache = cache or build_cache(settings.redis_url, clock=clock, prefix=settings.redis_prefix)
    metrics = Metrics()
    outbox = Outbox()
    supervisor = Supervisor()
    lease_owner = new_lease_owner()
    adapters: dict[str, PlatformAdapter] = {}
    directory = DirectorySync(db, adapters, cache, clock, settings)
    pipeline = Pipeline(db=db, settings=settings, clock=clock, router=root_router(), outbox=outbox,
                        supervisor=supervisor, metrics=metrics, directory=directory, lease_owner=lease_owner,
                        hand_off=role == "edge")
    if role == "edge":
        # Its clicks' messages are sent by the processors: announced, they wake the processors' delivery.
        outbox.wake_elsewhere = partial(pipeline.announce, "outbox")
    adapters.update(build_adapters(settings, sink=pipeline, cache=cache, clock=clock))
    worker = DeliveryWorker(db, outbox, adapters, clock, metrics, settings.delivery, pressure=pipeline.pressure,
                            lease_owner=lease_owner)
    sweeps = Sweeps(metrics, due_alerts=DueAlerts(db, settings, outbox, clock),
                    escalations=Escalations(db, settings, outbox, clock),
                    standups=Standups(db, settings, outbox, clock), digests=Digests(db, settings, outbox, clock),
                    retention=Retention(db, settings))
    return Services(settings=settings, clock=clock, db=db, cache=cache, metrics=metrics, outbox=outbox,
                    supervisor=supervisor, pipeline=pipeline, worker=worker, sweeps=sweeps,
                    sweep_job=SweepJob(sweeps, clock), recovery=InboxRecovery(db, pipeline, clock),
                    lease_owner=lease_owner, role=role, adapters=adapters)


async def _give_back_leases(services: Services) -> None:
    try:
        released = await release_leases(services.db, services.lease_owner, services.clock.now())
    except Exception:
        # The leases then run out as after a crash; the stop itself goes on.
        log.warning("could not give back leases at shutdown", exc_info=True)
        return
    if released.inbox and services.role == "edge":
        # What a serving process gave back (clicks it was answering) is the processors' at once.
        try:
            await services.db.announce("inbox")
        except Exception:
            log.warning("could not announce the events given back; the processors' poll finds them", exc_info=True)


async def shut_down(services: Services, *, background: bool) -> None:
    """Stop gracefully; `background`: the delivery worker and the recovery loop were started."""
    await services.sweep_job.stop()
    # Order matters: finish in-flight work (new events are refused so the platform re-sends
    # them elsewhere; events and replays still running after the grace are cancelled), let the
    # worker deliver what that work queued while the adapters' API clients are still open, give
    # back what was leased but not finished once nothing here can still finish it, and only
    # then close the adapters.
    grace = services.settings.drain_seconds
    await asyncio.gather(services.supervisor.drain(grace),
                         *([services.recovery.stop(grace)] if background else []))
    if background:
        await services.worker.stop(grace)
    await services.pipeline.acks_settled()
    await _give_back_leases(services)
    for adapter in services.adapters.values():
        await adapter.stop()
    await services.cache.close()
    await services.db.dispose()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks = {"database": await services.db.ping(), "cache": await services.cache.ping()}
    checks["schema"] = checks["database"] and await _schema_current(services)
    status = 200 if all(checks.values()) else 503
    return web.json_response({"status": "ok" if status == 200 else "unavailable", "checks": checks}, status=status)


async def _schema_current(services: Services) -> bool:
    try:
        return await services.db.schema_is_current()
    except Exception:
        return False


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = services.settings.metrics_token.get_secret_value()
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return web.json_response({"error": "unauthorized"}, status=401)
    body = services.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def index(request: web.Request) -> web.Response:
    if "console" in request.app[SERVICES].adapters:
        raise web.HTTPFound("/console")
    return web.json_response({"service": "tuijin"})


def create_app(services: Services, *, migrate: bool | None = None, start_worker: bool = True,
               primary: bool = True) -> web.Application:
    """`migrate` defaults to on for the embedded SQLite file and off for a server database.

    Of several workers serving one port (bot/workers.py) only the `primary` runs the minute sweep.
    A serving process beside processors (role "edge") runs neither the sweep, the delivery worker
    nor the recovery loop: the processors do (bot/processor.py).

    Tests pass `start_worker=False` and drive `services.worker.run_once()`,
    `services.sweeps.run(at)` and `services.recovery.run_once()` themselves; then neither the
    worker, the minute sweep nor the inbox recovery loop runs.
    """
    settings = services.settings
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware])
    app[SERVICES] = services
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    for adapter in services.adapters.values():
        adapter.setup_routes(app)
    should_migrate = services.db.is_sqlite if migrate is None else migrate

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if should_migrate:
            await services.db.upgrade()
        else:
            await require_current_schema(services.db)
        background = start_worker and services.role == "all"
        if background:
            services.worker.start()
            if primary:
                services.sweep_job.start()
        for adapter in services.adapters.values():
            await adapter.start()
        if background:
            # Finishes what a previous process acknowledged but did not complete.
            services.recovery.start()
        if start_worker:
            tune_gc()
        log.info("tuijin started", extra={"adapters": ",".join(services.adapters)})
        yield
        log.info("tuijin stopping: draining background work")
        await shut_down(services, background=background)

    app.cleanup_ctx.append(lifecycle)
    return app
