"""Callbacks run once a session's transaction has committed, and never if its writes were undone.

A callback is tied to the innermost transaction open when it was registered: a savepoint rolled
back (a handler's refusal) drops the callbacks registered inside it, a rollback of the whole
transaction drops them all, and they run only when the outermost transaction commits.
SQLAlchemy's `after_commit` also fires when a savepoint is released, hence the nesting check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

KEY = "tuijin.after_commit"
Pending = list[tuple[SessionTransaction, Callable[[], None]]]


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    sync = session.sync_session
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    if transaction is None:
        raise RuntimeError("after_commit needs a transaction in progress")
    pending: Pending = sync.info.setdefault(KEY, [])
    pending.append((transaction, callback))


def _within(transaction: SessionTransaction, ended: SessionTransaction) -> bool:
    current: SessionTransaction | None = transaction
    while current is not None:
        if current is ended:
            return True
        current = current.parent
    return False


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction() or KEY not in session.info:
        return
    pending: Pending = session.info.pop(KEY)
    for _transaction, callback in pending:
        try:
            callback()
        except Exception:
            # The transaction has committed: a failing callback must not make it look failed.
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: Pending | None = session.info.get(KEY)
    if pending:
        pending[:] = [(t, c) for t, c in pending if not _within(t, previous_transaction)]
