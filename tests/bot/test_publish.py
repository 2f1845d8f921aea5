"""A reply's extras: a refresh of an earlier card goes where that card went."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.core import Card, ConversationRef, OutboundMessage, Text
from bot.core.serialize import message_from_dict
from bot.delivery.outbox import Outbox
from bot.delivery.publish import publish_extras
from bot.router import CardRefresh, Reply
from storage.db import Database
from storage.tables import OutboxMessage

GROUP = ConversationRef("fakeim", "t1", "group-1", "group", "项目群")


async def test_a_refresh_of_a_card_sent_to_a_person_stays_one_to_one(sqlite_db: Database, clock: FrozenClock) -> None:
    outbox = Outbox()
    to_person = ConversationRef("fakeim", "t1", "lisi", "p2p")
    async with sqlite_db.transaction() as session:
        for key, where in (("card:group", GROUP), ("card:direct", to_person)):
            await outbox.enqueue(session, OutboundMessage(where, idempotency_key=key, card=Card("asked")),
                                 tenant_id=None, at=clock.now())
    decided = Card("decided", (Text("结果：已接受"),))
    reply = Reply(text="ok", refreshes=(CardRefresh("card:group", decided), CardRefresh("card:direct", decided)))

    async with sqlite_db.transaction() as session:
        await publish_extras(session, outbox, reply, conversation=GROUP, event_key="ev-1", tenant_id=None,
                             at=clock.now())

    async with sqlite_db.session() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()  # type: ignore[arg-type]
        refreshes = {m.update_of_key: m for r in rows if (m := message_from_dict(r.payload)).update_of_key}
    assert refreshes["card:direct"].conversation == to_person
    assert refreshes["card:group"].conversation == GROUP


async def test_a_refresh_the_reply_already_shows_in_that_chat_is_an_update_only(
    sqlite_db: Database, clock: FrozenClock,
) -> None:
    outbox = Outbox()
    to_person = ConversationRef("fakeim", "t1", "lisi", "p2p")
    async with sqlite_db.transaction() as session:
        for key, where in (("card:group", GROUP), ("card:direct", to_person)):
            await outbox.enqueue(session, OutboundMessage(where, idempotency_key=key, card=Card("asked")),
                                 tenant_id=None, at=clock.now())
    decided = Card("decided", (Text("结果：已拒绝"),))
    reply = Reply(card=decided, refreshes=(CardRefresh("card:group", decided, shown_in_reply=True),
                                           CardRefresh("card:direct", decided, shown_in_reply=True)))

    async with sqlite_db.transaction() as session:  # the answer was typed in the group
        await publish_extras(session, outbox, reply, conversation=GROUP, event_key="ev-2", tenant_id=None,
                             at=clock.now())

    async with sqlite_db.session() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()  # type: ignore[arg-type]
        refreshes = {m.update_of_key: m for r in rows if (m := message_from_dict(r.payload)).update_of_key}
    assert refreshes["card:group"].update_only
    assert not refreshes["card:direct"].update_only  # the person's chat has not seen the reply
