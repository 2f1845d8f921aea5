"""A refused command or click: everything its handler wrote is undone, the refusal is answered once.

The handler's transaction rolls back as a whole (no savepoint on the way that succeeds); the
answer, the inbox row and the scope a first contact creates commit in a second transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.commands.model import ShowHelp
from bot.core import ActionPayload, CardActionEvent, ConversationRef, MessageEvent, UserRef
from bot.engine.errors import DomainError
from bot.router import Reply, Router
from bot.scope import Scope
from storage.db import Database
from storage.tables import Chat, InboxEvent, OutboxMessage, Task, User
from tests.support import settle, start_app

REFUSAL = "这次不行：负责人还没确认。"
CONV = ConversationRef(platform="console", tenant_key="t-refuse", chat_id="oc_refuse", chat_type="group")
WHEN = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def refusing_router() -> Router:
    router = Router("refusing")

    async def write_then_refuse(scope: Scope, code: str) -> Reply:
        assert scope.tenant.id is not None
        scope.session.add(Task(tenant_id=scope.tenant.id, code=code, title="写了一半"))
        await scope.session.flush()  # the row is in the database, inside the transaction
        raise DomainError(REFUSAL)

    @router.command(ShowHelp)
    async def help_refused(command: ShowHelp, scope: Scope) -> Reply:
        return await write_then_refuse(scope, "XZB20261198")

    @router.action("refuse")
    async def click_refused(action: ActionPayload, scope: Scope) -> Reply:
        return await write_then_refuse(scope, "XZB20261199")

    return router


async def count(db: Database, table: Any, *where: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_a_refused_command_leaves_no_write_and_is_answered_once(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock,
) -> None:
    _, services = await start_app(aiohttp_client, any_db, clock)
    services.pipeline.router = refusing_router()
    event = MessageEvent(event_id="ev-refuse", message_id="om-refuse", conversation=CONV,
                         sender=UserRef(user_id="u_first", name="初次"), text="帮助", addressed=True,
                         occurred_at=WHEN)
    assert await services.pipeline.accept_message(event)
    await settle(services)

    assert await count(any_db, Task) == 0
    async with any_db.session() as session:
        replies = (await session.execute(select(OutboxMessage))).scalars().all()
        inbox = (await session.execute(select(InboxEvent))).scalar_one()
    assert [r.payload["text"] for r in replies] == [REFUSAL]
    assert (inbox.status, inbox.attempts) == ("done", 0)
    # The first contact's chat and person were written again in the answering transaction.
    assert await count(any_db, Chat, Chat.platform_chat_id == "oc_refuse") == 1
    assert await count(any_db, User, User.platform_user_id == "u_first") == 1
    assert services.metrics.commands.labels("ShowHelp", "refused")._value.get() == 1


async def test_a_refused_click_leaves_no_write_and_answers_inline_with_the_refusal(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock,
) -> None:
    _, services = await start_app(aiohttp_client, any_db, clock)
    services.pipeline.router = refusing_router()
    event = CardActionEvent(event_id="ev-click-refuse", conversation=CONV, operator=UserRef("u_presser", "点击者"),
                            action=ActionPayload(act="refuse", ref="x"), occurred_at=WHEN, message_id="om-card")
    result = await services.pipeline.accept_card_action(event)
    await settle(services)

    assert (result.toast, result.toast_kind) == (REFUSAL, "error")
    assert await count(any_db, Task) == 0
    assert await count(any_db, InboxEvent, InboxEvent.status == "done") == 1
    assert await count(any_db, User, User.platform_user_id == "u_presser") == 1
