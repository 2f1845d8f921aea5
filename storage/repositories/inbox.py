"""The inbox: each inbound event recorded once per (platform, tenant, event id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import InboxEvent
from storage.upsert import insert_for


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_once(
        self, platform: str, tenant_key: str, event_id: str, kind: str, at: datetime
    ) -> bool:
        """True when this is the first time the event is seen."""
        stmt = (
            insert_for(self.session, InboxEvent)
            .values(platform=platform, tenant_key=tenant_key, event_id=event_id[:191], kind=kind,
                    received_at=at)
            .on_conflict_do_nothing(index_elements=["platform", "tenant_key", "event_id"])
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark(self, platform: str, tenant_key: str, event_id: str, status: str, at: datetime) -> None:
        await self.session.execute(
            update(InboxEvent)
            .where(
                InboxEvent.platform == platform,  # type: ignore[arg-type]
                InboxEvent.tenant_key == tenant_key,  # type: ignore[arg-type]
                InboxEvent.event_id == event_id[:191],  # type: ignore[arg-type]
            )
            .values(status=status, processed_at=at)
        )
