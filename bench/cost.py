"""CPU and SQL statements per event in the core, in process (issue 7): what one command or click costs.

    .venv/bin/python bench/cost.py                                  # SQLite (a temp file)
    .venv/bin/python bench/cost.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    # options: --events 300 --warmup 50 --calls --profile /tmp/cost/profile.txt

The real core (`build_services`: pipeline, router, handlers, repositories) on a real database, fed
the neutral events an adapter would hand it, one at a time: no HTTP, no delivery (the replies stay
in the outbox), so what is measured is the processing an event costs. For each kind of event it
reports the process's CPU time (`time.process_time`, so other load on a shared machine does not
count) and the SQL statements and commits, split into the acknowledgement (storing the event in
the inbox) and the processing (command or click, reply queued). Events:

  帮助        `帮助` from a known person in a known chat, answered with the help card.
  新建任务    `新建任务 … 负责人 @… 截止 明天`, answered with the new task's card.
  完成 click  the task's owner presses 完成 on its card: answered inline (toast and new card),
              the Feishu rendering of that answer included.

Everything is measured after a warm-up of each kind (the first contact with a tenant, chat or
person, and SQLAlchemy's statement cache, are not what a busy server pays). The garbage collector
is tuned as the server tunes it (bot.app.tune_gc). On PostgreSQL it works in a schema of its own,
dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg_schema import create_schema, drop_schema
from sql_counts import SqlCounts

from adapters.feishu.adapter import card_action_response
from bot.app import Services, build_services, tune_gc
from bot.clock import FrozenClock
from bot.config import Settings
from bot.core import ActionPayload, CardActionEvent, ConversationRef, MessageEvent, UserRef
from storage.db import Database
from storage.tables import Task

TENANT = "tenant_cost"
CHATS = 10
PEOPLE = 50
# A working Tuesday, 10:00 in Shanghai: 明天 is a working day and in the future.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


class Meter:
    """Per kind of event: CPU seconds and statements of its ack and of its processing.

    With `calls`, also the Python function calls (and coroutine resumptions) cProfile counts: runs
    of the same code count within about 1 % of each other whatever else the machine does, where
    CPU time on a shared machine can differ by half between runs. CPU time under cProfile is inflated.
    """

    def __init__(self, counts: SqlCounts, *, calls: bool = False) -> None:
        self.counts = counts
        self.calls = calls
        self.rows: dict[str, dict[str, list[float]]] = {}

    async def measure(self, kind: str, part: str, step: Callable[[], Awaitable[Any]]) -> Any:
        statements, commits = self.counts.snapshot()
        profile = cProfile.Profile() if self.calls else None
        started = time.process_time()
        if profile is not None:
            profile.enable()
        result = await step()
        if profile is not None:
            profile.disable()
        cpu = time.process_time() - started
        after_statements, after_commits = self.counts.snapshot()
        row = self.rows.setdefault(kind, {})
        if profile is not None:
            row.setdefault(f"{part} calls", []).append(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]
        row.setdefault(f"{part} cpu", []).append(cpu)
        row.setdefault(f"{part} sql", []).append(after_statements - statements)
        row.setdefault(f"{part} tx", []).append(after_commits - commits)
        return result


def person(i: int) -> UserRef:
    return UserRef(user_id=f"ou_person_{i % PEOPLE:03d}", name=f"成员{i % PEOPLE:03d}")


def conversation(i: int) -> ConversationRef:
    return ConversationRef(platform="feishu", tenant_key=TENANT, chat_id=f"oc_cost_{i % CHATS:02d}",
                           chat_type="group", chat_name=f"压测群{i % CHATS:02d}")


def owner_of(i: int) -> UserRef:
    return person(i + 7)


def message(tag: str, i: int, *, creates: bool) -> MessageEvent:
    owner = owner_of(i)
    text_ = f"新建任务 成本任务{tag}{i} 负责人 <@{owner.user_id}> 截止 明天" if creates else "帮助"
    return MessageEvent(event_id=f"ev-{tag}-{i}", conversation=conversation(i), sender=person(i), text=text_,
                        occurred_at=NOW, message_id=f"om-{tag}-{i}", mentions=(owner,) if creates else ())


def press_done(tag: str, i: int, code: str) -> CardActionEvent:
    return CardActionEvent(event_id=f"ev-click-{tag}-{i}", conversation=conversation(i), operator=owner_of(i),
                           action=ActionPayload(act="task.done", ref=code), occurred_at=NOW,
                           message_id=f"om-card-{tag}-{i}")


async def send_message(services: Services, meter: Meter, kind: str, event: MessageEvent) -> None:
    # accept_message stores the event and spawns its processing, which runs on the next turns of the loop.
    accepted = await meter.measure(kind, "ack", lambda: services.pipeline.accept_message(event))
    assert accepted, event.event_id
    await meter.measure(kind, "processing", services.supervisor.idle)


async def click(services: Services, meter: Meter, kind: str, event: CardActionEvent) -> dict[str, Any]:
    async def answer() -> dict[str, Any]:
        result = await services.pipeline.accept_card_action(event)
        return card_action_response(result, legacy=False)

    response: dict[str, Any] = await meter.measure(kind, "click", answer)
    return response


async def codes_by_title(db: Database, prefix: str) -> dict[str, str]:
    async with db.session() as session:
        rows = (await session.execute(
            select(col(Task.title), col(Task.code)).where(col(Task.title).startswith(prefix))
        )).all()
    return {title: code for title, code in rows}


async def scenario(services: Services, meter: Meter, tag: str, n: int) -> None:
    for i in range(n):
        await send_message(services, meter, "帮助", message(f"{tag}h", i, creates=False))
    for i in range(n):
        await send_message(services, meter, "新建任务", message(tag, i, creates=True))
    codes = await codes_by_title(services.db, f"成本任务{tag}")
    assert len(codes) == n, f"{len(codes)} of {n} tasks created"
    for i in range(n):
        response = await click(services, meter, "完成 click", press_done(tag, i, codes[f"成本任务{tag}{i}"]))
        assert response["toast"]["type"] == "success" and "card" in response, response


async def measure(url: str, schema: str | None, args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    db = Database(url, schema=schema)
    if db.is_sqlite:
        await db.upgrade()
    settings = Settings(_env_file=None, redis_url="", database_url=url)  # type: ignore[call-arg]
    services = build_services(settings, clock=FrozenClock(NOW), db=db)
    try:
        warm = Meter(SqlCounts(db))
        await scenario(services, warm, "warm", args.warmup)
        meter = Meter(warm.counts, calls=args.calls)
        tune_gc()
        profiler = None
        if args.profile:
            from pyinstrument import Profiler  # only with --profile

            profiler = Profiler(async_mode="disabled")
            profiler.start()
        await scenario(services, meter, "run", args.events)
        if profiler is not None:
            profiler.stop()
            name = f"{args.profile}.{'sqlite' if db.is_sqlite else 'postgres'}.txt"
            await asyncio.to_thread(Path(name).write_text, profiler.output_text(unicode=True, show_all=False))
            if profiler.last_session is not None:  # for bench/profile_libs.py
                await asyncio.to_thread(profiler.last_session.save, str(Path(name).with_suffix(".pyisession")))
            print(f"profile: {name}")
        async with db.session() as session:
            inbox: dict[str, int] = dict((await session.execute(
                text("SELECT status, count(*) FROM inbox_event GROUP BY status"))).all())
        assert set(inbox) == {"done"}, inbox
        return meter.rows
    finally:
        await services.supervisor.idle()
        await db.dispose()




def _ms(values: list[float]) -> str:
    return f"{statistics.mean(values) * 1000:.2f} ({statistics.median(values) * 1000:.2f})"


def _line(kind: str, row: dict[str, list[float]]) -> str:
    parts = ["click"] if "click cpu" in row else ["ack", "processing"]
    total = [sum(cpus) for cpus in zip(*(row[f"{p} cpu"] for p in parts), strict=True)]
    commits = sum(statistics.mean(row[f"{p} tx"]) for p in parts)
    calls = ""
    if f"{parts[0]} calls" in row:
        calls = f" {sum(statistics.mean(row[f'{p} calls']) for p in parts):.0f} |"
    if parts == ["click"]:
        return (f"| {kind} (inline answer) | — | — | {_ms(total)} | — | {statistics.mean(row['click sql']):.1f} "
                f"| {commits:.1f} |{calls}")
    return (f"| {kind} | {_ms(row['ack cpu'])} | {_ms(row['processing cpu'])} | {_ms(total)} "
            f"| {statistics.mean(row['ack sql']):.1f} | {statistics.mean(row['processing sql']):.1f} | {commits:.1f} |"
            f"{calls}")


def report(target: str, rows: dict[str, dict[str, list[float]]], *, calls: bool) -> None:
    print(f"\n{target}: per event, mean (median) over the measured events")
    if calls:
        print("| event | CPU ms ack | CPU ms processing | CPU ms total | SQL ack | SQL processing | commits "
              "| Python calls |")
        print("|---|---|---|---|---|---|---|---|")
    else:
        print("| event | CPU ms ack | CPU ms processing | CPU ms total | SQL ack | SQL processing | commits |")
        print("|---|---|---|---|---|---|---|")
    for kind, row in rows.items():
        print(_line(kind, row))


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tuijin-cost-") as tmp:
        if not args.postgres_only:
            report("SQLite", await measure(f"sqlite+aiosqlite:///{Path(tmp) / 'cost.sqlite3'}", None, args),
                   calls=args.calls)
    if args.postgres:
        schema = f"tj_cost_{uuid.uuid4().hex[:10]}"
        await create_schema(args.postgres, schema)
        try:
            report("PostgreSQL", await measure(args.postgres, schema, args), calls=args.calls)
        finally:
            await drop_schema(args.postgres, schema)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default="", help="also on PostgreSQL at this URL (own schema, dropped after)")
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite")
    parser.add_argument("--events", type=int, default=300, help="measured events of each kind")
    parser.add_argument("--warmup", type=int, default=50, help="events of each kind before measuring")
    parser.add_argument("--calls", action="store_true",
                        help="also count Python calls per event (cProfile): repeatable where CPU time is not")
    parser.add_argument("--profile", default="",
                        help="write a pyinstrument profile of the measured run to PREFIX.*.txt")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
