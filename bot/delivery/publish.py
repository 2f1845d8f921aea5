"""A handler's reply, its posts and its card refreshes, queued in the handler's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import ConversationRef, OutboundMessage
from bot.core.serialize import conversation_from_dict
from bot.delivery.outbox import Outbox
from bot.router import Reply
from storage.repositories import OutboxRepository


async def publish_extras(
    session: AsyncSession, outbox: Outbox, reply: Reply, *, conversation: ConversationRef, event_key: str,
    tenant_id: int | None, at: datetime, pressed: str | None = None,
) -> None:
    """Everything a reply carries beyond itself. Keys derive from the event, so a replay sends nothing twice.

    `pressed` is the platform id of a clicked card: the click's own answer shows it anew, so a
    refresh of that same card would only repeat the update.
    """
    for index, post in enumerate(reply.posts):
        if post.direct_to is not None:
            where = replace(conversation, chat_id=post.direct_to, chat_type="p2p", chat_name=None)
        elif post.chat_id is not None:
            where = replace(conversation, chat_id=post.chat_id, chat_type="group", chat_name=None)
        else:
            where = conversation
        message = OutboundMessage(conversation=where, text=post.text, card=post.card, direct_to=post.direct_to,
                                  idempotency_key=post.key or f"{event_key}:post:{index}")
        await outbox.enqueue(session, message, tenant_id=tenant_id, at=at, task_code=post.task_code)
    for refresh in reply.refreshes:
        original = await OutboxRepository(session).by_key(refresh.key)
        if original is None or (pressed is not None and original.platform_message_id == pressed):
            continue
        where = _where(original.payload) or ConversationRef(
            platform=original.platform, tenant_key=original.tenant_key, chat_id=original.chat_id)
        # The reply shows it in this chat already: only an update in place adds anything.
        update_only = refresh.shown_in_reply and (where.platform, where.chat_id) == (
            conversation.platform, conversation.chat_id)
        message = OutboundMessage(conversation=where, card=refresh.card, update_of_key=refresh.key,
                                  idempotency_key=f"{refresh.key}:refresh:{event_key}", update_only=update_only)
        await outbox.enqueue(session, message, tenant_id=tenant_id, at=at, task_code=original.task_code)


def _where(payload: dict[str, Any]) -> ConversationRef | None:
    """Where the card being refreshed was sent: a copy sent to a person stays a one-to-one message.

    A platform that cannot update the card any more sends the new state there as a new card, and
    needs to know it is a person and not a group.
    """
    conversation = payload.get("conversation")
    return conversation_from_dict(conversation) if isinstance(conversation, dict) else None
