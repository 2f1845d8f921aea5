"""`tuijin`: serve, demo, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from bot.app import SchemaBehind, build_services, create_app
from bot.config import Settings
from bot.event_loop import new_event_loop
from bot.logs import configure_logging
from bot.platforms import console_enabled
from bot.workers import serve_workers, several_processes

log = logging.getLogger("tuijin")


def serve_app(settings: Settings, *, demo: bool = False, primary: bool = True, reuse_port: bool = False,
              announce: str | None = "") -> int:
    """Serve one app in this process until SIGTERM/SIGINT. `announce` (None: silent) ends the ready line."""
    services = build_services(settings)
    # The demo seeds tables, so it migrates whatever the database; serve does so for SQLite only.
    app = create_app(services, migrate=True if demo else None, primary=primary)
    if demo:
        from bot.demo import load_demo

        # Runs after the app's own start-up (migrations included), which aiohttp registers first.
        async def seed(app: web.Application) -> None:
            loaded = await load_demo(services.db, settings, services.clock)
            log.info("demo project " + ("loaded" if loaded else "already present"))

        app.on_startup.append(seed)
    console = "  (console: /console)" if console_enabled(settings) else ""

    def ready(_: str) -> None:
        # Called by aiohttp once the socket is bound, so the line means "ready for requests".
        if announce is not None:
            print(f"Tuijin 推进 listening on http://{settings.host}:{settings.port}{announce}{console}", flush=True)

    try:
        web.run_app(app, host=settings.host, port=settings.port, print=ready, shutdown_timeout=10,
                    reuse_port=reuse_port or None, loop=new_event_loop(settings.event_loop))
    except SchemaBehind as behind:
        print(f"tuijin: {behind}", file=sys.stderr)
        return 1
    return 0


def _serve(settings: Settings, overrides: dict[str, Any], *, demo: bool) -> int:
    if several_processes(settings):
        if demo:
            print("tuijin: the demo runs in one process; unset TUIJIN_WORKERS and TUIJIN_PROCESSORS for it",
                  file=sys.stderr)
            return 2
        return serve_workers(settings, overrides)
    return serve_app(settings, demo=demo)


async def _upgrade(settings: Settings) -> None:
    from storage.db import Database

    db = Database(settings.resolved_database_url())
    try:
        await db.upgrade()
    finally:
        await db.dispose()


def _instant(text: str, timezone: str) -> datetime:
    """An ISO time; without an offset it is read in the team's timezone."""
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(timezone))


async def _tick(settings: Settings, at: datetime) -> dict[str, int]:
    """Run every sweep as of `at`, then deliver what they queued. Twice for one instant sends nothing twice.

    No adapter is started: `tick` only sends, and a second long connection would take events away
    from the running server. What only the server itself can show (the console) is left to it.
    """
    from bot.delivery.worker import DeliveryWorker

    services = build_services(settings)
    try:
        if services.db.is_sqlite:
            await services.db.upgrade()
        queued = await services.sweeps.run(at)
        senders = {name: adapter for name, adapter in services.adapters.items()
                   if not getattr(adapter, "local_only", False)}
        worker = DeliveryWorker(services.db, services.outbox, senders, services.clock, services.metrics,
                                settings.delivery)
        while await worker.run_once():
            pass
        return queued
    finally:
        for adapter in services.adapters.values():
            await adapter.stop()
        await services.cache.close()
        await services.db.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuijin", description="Tuijin (推进): the work-advancement bot")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("serve", "run the bot"), ("demo", "run the bot with the example project loaded")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", help="interface to bind (TUIJIN_HOST)")
        sub.add_argument("--port", type=int, help="port to listen on (TUIJIN_PORT)")
        sub.add_argument("--workers", type=int, help="serving processes sharing the port (TUIJIN_WORKERS)")
        sub.add_argument("--processors", type=int,
                         help="processes that process messages while the workers acknowledge (TUIJIN_PROCESSORS)")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations to TUIJIN_DATABASE_URL")
    tick = commands.add_parser("tick", help="run every scheduled sweep as of an instant (replays a missed window)")
    tick.add_argument("--at", required=True, metavar="ISO-TIME",
                      help="e.g. 2026-11-24T09:00 (team timezone) or 2026-11-24T01:00+00:00")
    return parser


def _configuration_problems(invalid: ValidationError) -> str:
    """One line per bad setting, named as the operator sets it; never the value of a secret."""
    lines = []
    for error in invalid.errors(include_input=False, include_url=False):
        name = "__".join(str(part) for part in error["loc"])
        lines.append(f"tuijin: TUIJIN_{name.upper()}: {error['msg']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {key: value for key in ("host", "port", "workers", "processors")
                 if (value := getattr(args, key, None)) is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as invalid:
        print(_configuration_problems(invalid), file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command in ("serve", "demo"):
        return _serve(settings, overrides, demo=args.command == "demo")
    if args.command == "tick":
        try:
            at = _instant(args.at, settings.timezone)
        except ValueError:
            print(f"--at {args.at!r} is not an ISO time, e.g. 2026-11-24T09:00", file=sys.stderr)
            return 2
        queued = asyncio.run(_tick(settings, at))
        print(f"tick {at.isoformat()}: " + ", ".join(f"{name} {count}" for name, count in queued.items()))
        return 0
    if args.command == "db" and args.db_command == "upgrade":
        asyncio.run(_upgrade(settings))
        print("database is up to date")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
