"""A scope seen before loads its rows in one statement, and a remembered id that is wrong is never trusted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.clock import FrozenClock
from bot.core import ConversationRef, UserRef
from bot.scope import KnownRows, open_scope
from storage.db import Database
from tests.support import make_settings

CONV = ConversationRef(platform="feishu", tenant_key="t1", chat_id="oc_1", chat_type="group", chat_name="群一")
ALICE = UserRef(user_id="ou_alice", name="张三")
BOB = UserRef(user_id="ou_bob", name="李四")


async def _open(db: Database, known: KnownRows, clock: FrozenClock, actor: UserRef = ALICE,
                mentions: tuple[UserRef, ...] = (BOB,), conv: ConversationRef = CONV) -> tuple[int, dict[str, Any]]:
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.transaction() as session:
            scope = await open_scope(session, conv, actor, settings=make_settings(), clock=clock,
                                     mentions=mentions, known=known)
            seen = {"tenant": scope.tenant.id, "chat": scope.chat.id, "chat_name": scope.chat.name,
                    "user": scope.user.platform_user_id, "name": scope.user.name, "admin": scope.user.is_admin}
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    return statements, seen


async def test_a_known_scope_is_one_statement_and_the_same_rows(any_db: Database, clock: FrozenClock) -> None:
    known = KnownRows()
    first_count, first = await _open(any_db, known, clock)  # first contact: Alice becomes admin
    assert first["admin"] is True
    # The tenant had no admin when this began, so it is not yet known as one: slow path again.
    _, second = await _open(any_db, known, clock)
    count, third = await _open(any_db, known, clock)
    # One statement for the rows, one for the tenant's calendar (its 假期 and 调休), read per event.
    assert count == 2 < first_count
    assert first == second == third
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
