"""Recognising the database errors that a retry of the same transaction resolves."""

from __future__ import annotations

# PostgreSQL: deadlock_detected, serialization_failure.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
# Attempts at one transaction before the conflict is treated as a real failure.
CONFLICT_ATTEMPTS = 3


def is_transient_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction lost a race and may simply run again."""
    orig = getattr(error, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code in TRANSIENT_SQLSTATES:
            return True
    return False
