"""What every scheduled push shares: where it goes and how each tenant is swept on its own."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import ConversationRef
from bot.scheduler.errors import SweepIncomplete
from storage.db import Database
from storage.tables import Chat, Tenant

log = logging.getLogger(__name__)


def conversation_of(tenant: Tenant, chat: Chat) -> ConversationRef:
    return ConversationRef(tenant.platform, tenant.tenant_key, chat.platform_chat_id,
                           "p2p" if chat.chat_type == "p2p" else "group", chat.name or None)


async def per_tenant(
    db: Database, name: str, tenants: Iterable[Tenant],
    work: Callable[[AsyncSession, Tenant], Awaitable[int]],
) -> int:
    """Run `work` for each tenant in its own transaction; a failing tenant is logged and the rest go on."""
    done = failed = total = 0
    for tenant in tenants:
        total += 1
        try:
            async with db.transaction() as session:
                done += await work(session, tenant)
        except Exception:
            failed += 1
            log.exception("scheduled sweep failed for a tenant", extra={"sweep": name, "tenant_id": tenant.id})
    if failed:
        raise SweepIncomplete(f"{failed} of {total} tenants failed", done=done)
    return done


def local_label(at: datetime) -> str:
    return f"{at.month}月{at.day}日 {at:%H:%M}"
