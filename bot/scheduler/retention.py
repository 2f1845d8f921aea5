"""The retention sweep: inbox, outbox and dispatch claims older than TUIJIN_RETENTION_DAYS are pruned."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.config import Settings
from storage.db import Database
from storage.repositories.retention import RetentionRepository

log = logging.getLogger(__name__)

BATCH = 1000
# At most this many batches per table and minute: a backlog is worked off over a few minutes.
MAX_BATCHES = 20


class Retention:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def run(self, at: datetime) -> int:
        """Rows removed as of `at`."""
        before = at - timedelta(days=self.settings.retention_days)
        removed = 0
        for prune in ("prune_inbox", "prune_outbox", "prune_claims"):
            for _ in range(MAX_BATCHES):
                # A transaction per batch: locks are short and each batch is kept even if a later one fails.
                async with self.db.transaction() as session:
                    count: int = await getattr(RetentionRepository(session), prune)(before, limit=BATCH)
                removed += count
                if count < BATCH:
                    break
        if removed:
            log.info("retention pruned old rows", extra={"count": removed})
        return removed
