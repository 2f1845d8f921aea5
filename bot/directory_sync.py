"""Learning who people are from the platform's contact API: names, departments, leaders.

Looked up at most once per person per TTL (a cache claim), outside any transaction, and
skipped quietly when the platform will not say (the app lacks the contact permission).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.clock import Clock
from bot.config import Settings
from bot.core import ConversationRef, UserRef
from bot.core.platform import DirectoryProfile, PlatformAdapter
from storage.cache import Cache
from storage.conflicts import CONFLICT_ATTEMPTS, is_transient_conflict
from storage.db import Database
from storage.repositories import DirectoryRepository, TenantRepository

log = logging.getLogger(__name__)
TTL_SECONDS = 12 * 3600


class DirectorySync:
    def __init__(
        self, db: Database, adapters: Mapping[str, PlatformAdapter], cache: Cache, clock: Clock, settings: Settings
    ) -> None:
        self.db = db
        self.adapters = adapters
        self.cache = cache
        self.clock = clock
        self.settings = settings

    async def sync(self, conversation: ConversationRef, people: Iterable[UserRef]) -> None:
        adapter = self.adapters.get(conversation.platform)
        if adapter is None:
            return
        for person in people:
            key = f"directory:{conversation.platform}:{conversation.tenant_key}:{person.user_id}"
            if not await self.cache.add(key, "1", ttl=TTL_SECONDS):
                continue
            try:
                profile = await adapter.lookup_user(conversation.tenant_key, person.user_id)
            except Exception:
                log.warning("directory lookup failed", extra={"platform": conversation.platform}, exc_info=True)
                await self.cache.delete(key)
                continue
            if profile is not None:
                await self._apply(conversation, profile)

    async def _apply(self, conversation: ConversationRef, profile: DirectoryProfile) -> None:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                await self._apply_once(conversation, profile)
                return
            except Exception as error:
                if attempt == CONFLICT_ATTEMPTS or not is_transient_conflict(error):
                    raise

    async def _apply_once(self, conversation: ConversationRef, profile: DirectoryProfile) -> None:
        async with self.db.transaction() as session:
            tenant = await TenantRepository(session).ensure(
                conversation.platform, conversation.tenant_key, code_prefix=self.settings.task_code_prefix
            )
            assert tenant.id is not None
            directory = DirectoryRepository(session, tenant.id)
            # Department first, then people in id order: every first contact locks in the same order.
            department = None
            if profile.department_names:
                department = await directory.ensure_department(
                    profile.department_names[0],
                    platform_department_id=profile.department_ids[0] if profile.department_ids else None,
                )
            people = sorted({profile.user_id, *([profile.leader_user_id] if profile.leader_user_id else [])})
            ensured = {uid: await directory.ensure_user(uid, profile.name if uid == profile.user_id else None)
                       for uid in people}
            user = ensured[profile.user_id]
            leader = ensured[profile.leader_user_id] if profile.leader_user_id else None
            await directory.record_directory_sync(user, department=department, leader=leader, at=self.clock.now(),
                                                  platform_admin=profile.is_platform_admin)
