"""A scope seen before loads its rows in one statement, and a remembered id that is wrong is never trusted."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import event

from bot.clock import FrozenClock
from bot.core import ConversationRef, UserRef
from bot.scope import KnownRows, open_scope
from storage.db import Database
from storage.driver import statements_on_driver
from storage.repositories import CalendarRepository
from tests.support import make_settings

CONV = ConversationRef(platform="feishu", tenant_key="t1", chat_id="oc_1", chat_type="group", chat_name="群一")
ALICE = UserRef(user_id="ou_alice", name="张三")
BOB = UserRef(user_id="ou_bob", name="李四")
NEW_YEARS_EVE = date(2026, 12, 31)  # a Thursday


async def _open(db: Database, known: KnownRows, clock: FrozenClock, actor: UserRef = ALICE,
                mentions: tuple[UserRef, ...] = (BOB,), conv: ConversationRef = CONV) -> tuple[int, dict[str, Any]]:
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    on_driver = statements_on_driver(db.engine)  # those sent past SQLAlchemy count too
    try:
        async with db.transaction() as session:
            scope = await open_scope(session, conv, actor, settings=make_settings(), clock=clock,
                                     mentions=mentions, known=known)
            seen = {"off": not scope.calendar.is_working_day(NEW_YEARS_EVE),
                    "tenant": scope.tenant.id, "chat": scope.chat.id, "chat_name": scope.chat.name,
                    "user": scope.user.platform_user_id, "name": scope.user.name, "admin": scope.user.is_admin}
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    return statements + statements_on_driver(db.engine) - on_driver, seen


async def test_a_known_scope_is_one_statement_and_the_same_rows(any_db: Database, clock: FrozenClock) -> None:
    known = KnownRows()
    first_count, first = await _open(any_db, known, clock)  # first contact: Alice becomes admin
    assert first["admin"] is True
    # The tenant had no admin when this began, so it is not yet known as one: slow path again.
    _, second = await _open(any_db, known, clock)
    count, third = await _open(any_db, known, clock)
    assert count == 2 < first_count  # the rows in one statement, then the tenant's calendar (假期, 调休)
    count, fourth = await _open(any_db, known, clock)
    assert count == 1  # the calendar is remembered while the tenant's calendar_version stays
    assert first == second == third == fourth
    # A newly learnt name is kept on the fast path too.
    _, renamed = await _open(any_db, known, clock, actor=UserRef(user_id="ou_alice", name="张三丰"))
    assert renamed["name"] == "张三丰"


async def test_a_wrong_remembered_id_falls_back_to_the_real_rows(any_db: Database, clock: FrozenClock) -> None:
    known = KnownRows()
    await _open(any_db, known, clock)
    await _open(any_db, known, clock)
    tenant_id = known.tenants[("feishu", "t1")]
    # Ids swapped, as if a rolled-back row's id had been given to someone else.
    alice, bob = known.users[(tenant_id, "ou_alice")], known.users[(tenant_id, "ou_bob")]
    known.users[(tenant_id, "ou_alice")], known.users[(tenant_id, "ou_bob")] = bob, bob
    _, seen = await _open(any_db, known, clock)
    assert seen["user"] == "ou_alice"
    assert known.users[(tenant_id, "ou_alice")] == alice  # remembered right again
    # Another chat of the tenant is learnt, not confused with the first.
    other = ConversationRef(platform="feishu", tenant_key="t1", chat_id="oc_2", chat_type="group")
    _, seen = await _open(any_db, known, clock, conv=other)
    assert seen["chat"] != known.chats[(tenant_id, "oc_1")]


async def test_a_remembered_calendar_is_read_again_once_any_process_changes_it(
    any_db: Database, clock: FrozenClock,
) -> None:
    this, other = KnownRows(), KnownRows()  # two processes (or replicas) serving the same tenant
    for known in (this, other):
        for _ in range(3):
            _, seen = await _open(any_db, known, clock)
    assert seen["off"] is False and known.calendars
    count, _ = await _open(any_db, this, clock)
    assert count == 1
    # The other process's admin sets 12月31日 as a day off: its transaction moves the version.
    async with any_db.transaction() as session:
        await CalendarRepository(session, seen["tenant"]).set_days(
            [NEW_YEARS_EVE], workday=False, name="年会", by=None, at=clock.now())
    count, seen = await _open(any_db, this, clock)
    assert seen["off"] is True and count == 2  # the rows, then the calendar read afresh
    count, seen = await _open(any_db, this, clock)
    assert seen["off"] is True and count == 1
    # A change that rolls back leaves the remembered calendar as it was.
    async with any_db.session() as session:
        await CalendarRepository(session, seen["tenant"]).set_days(
            [NEW_YEARS_EVE], workday=True, name="上班", by=None, at=clock.now())
        await session.rollback()
    count, seen = await _open(any_db, this, clock)
    assert seen["off"] is True and count == 1
