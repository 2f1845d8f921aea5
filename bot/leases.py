"""Leases held by this process, and giving them back when it stops gracefully.

Every lease this process takes on an inbox or outbox row carries one token, drawn when the process
starts. A graceful stop gives back whatever it still holds, so a sibling replica or the next start
takes those rows at once; a process that dies (kill -9) cannot, and its rows wait for their leases
to run out, which is what leases are for. A restarted process draws a new token: it never mistakes
its predecessor's leases for its own.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.repositories import InboxRepository, OutboxRepository

log = logging.getLogger(__name__)


def new_lease_owner() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Released:
    inbox: int
    outbox: int


async def release_leases(db: Database, owner: str, at: datetime) -> Released:
    """Give back the unfinished rows `owner` holds: one statement per table, in one transaction.

    Call it only once this process takes no more work and its in-flight work has finished or been
    cancelled: a row given back while its work could still commit might be started by another.
    """
    async with db.transaction() as session:
        released = Released(inbox=await InboxRepository(session).release_leases(owner),
                            outbox=await OutboxRepository(session).release_leases(owner, at))
    if released.inbox or released.outbox:
        log.info("leases given back at shutdown", extra={"inbox": released.inbox, "outbox": released.outbox})
    return released
