"""A chat the bot cannot reach: its messages wait, and the tenant's admins are told once what to do."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import ConversationRef, OutboundMessage
from bot.delivery.outbox import Outbox
from storage.repositories import DirectoryRepository, DispatchRepository

KIND = "unreachable_chat"


class UnreachableNotices:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.directory = DirectoryRepository(session, tenant_id)
        self.tenant_id = tenant_id

    async def report(self, chat: ConversationRef, hint: str, now: datetime, outbox: Outbox) -> bool:
        """Queue a direct message to each admin, once per chat; False when they were told before."""
        target = f"{chat.platform}:{chat.tenant_key}:{chat.chat_id}"
        if not await DispatchRepository(self.session).claim(KIND, target, "once", now):
            return False
        known = await self.directory.chat_by_platform_id(chat.chat_id)
        name = known.name if known is not None and known.name else chat.chat_id
        for admin in await self.directory.admins():
            person = admin.platform_user_id
            where = ConversationRef(platform=chat.platform, tenant_key=chat.tenant_key, chat_id=person, chat_type="p2p")
            await outbox.enqueue(self.session, OutboundMessage(
                conversation=where, direct_to=person, idempotency_key=f"{KIND}:{target}:{person}",
                text=f"推进暂时无法向群「{name}」发送消息，提醒和卡片正在排队等待。{hint}",
            ), tenant_id=self.tenant_id, at=now)
        return True
