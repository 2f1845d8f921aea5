"""SQL statements and commits of a process's database work, on every path (run.py and cost.py).

SQLAlchemy's events see what goes through its engines. The acks' asyncpg pool counts its own
statements, each its own commit, and so does storage/driver.py for what it sends to the driver
past SQLAlchemy; the task-code counter's pool runs in autocommit, so each of its statements,
through SQLAlchemy or on the driver, is a commit too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event

from storage.db import Database
from storage.driver import commits_on_driver, statements_on_driver


class SqlCounts:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._seen = Counter[str]()
        for engine in {db.engine, db.counter_engine} - {None}:
            assert engine is not None
            event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
            event.listen(engine.sync_engine, "commit", self._commit)
            if engine is db.counter_engine:
                event.listen(engine.sync_engine, "before_cursor_execute", self._commit)

    def _statement(self, *_: Any) -> None:
        self._seen["statements"] += 1

    def _commit(self, *_: Any) -> None:
        self._seen["commits"] += 1

    def snapshot(self) -> tuple[int, int]:
        """(statements, commits) so far."""
        db = self.db
        acks = db.ack_pool.statements if db.ack_pool is not None else 0
        numbered = statements_on_driver(db.counter_engine) if db.counter_engine is not None else 0
        return (self._seen["statements"] + acks + statements_on_driver(db.engine) + numbered,
                self._seen["commits"] + acks + numbered + commits_on_driver(db.engine))
