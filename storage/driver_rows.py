"""Whole table rows read on the driver and handed back as the session's ORM objects.

The rows every event reads (its tenant, chat and people; the task a click presses) cost less to
read on the driver (storage/driver.py) than through an ORM query, whose compiling from cache,
result building and loading machinery cost about as much again as the statement on this
project's benchmark machines. `DriverQuery` keeps what the rest of the code relies on from a query:

- an object already in the session is the one returned (its identity), its expired attributes
  filled in from the row, and a `refresh` read (a row read under FOR UPDATE) overwrites its
  attributes as `populate_existing` does;
- a new object is persistent in the session, its attributes loaded and unmodified, so a change
  to it is flushed as an UPDATE of that row;
- pending changes are flushed first, as the session's autoflush would before a query.

Values are read as each column's SQLAlchemy type reads them (storage/driver.py), so the objects
hold what an ORM query would give them (tests/storage/test_driver_rows.py compares the two).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value
from sqlalchemy.sql import ClauseElement, ColumnElement

from storage.driver import DriverStatement, connection_of


class Entity:
    """One mapped class's objects made from its table's columns, in table order."""

    def __init__(self, cls: type) -> None:
        # Attributes are instrumented once mappers are configured, which the first ORM query
        # otherwise does: this may come first in a process.
        configure_mappers()
        self.mapper: Mapper[Any] = sa_inspect(cls)
        table = self.mapper.local_table
        self.columns: tuple[ColumnElement[Any], ...] = tuple(table.columns)
        self.keys = tuple(self.mapper.get_property_by_column(column).key for column in table.columns)
        [self.pk] = [i for i, column in enumerate(table.columns) if column.primary_key]
        self.width = len(self.keys)

    def attach(self, session: AsyncSession, values: Sequence[Any], *, refresh: bool) -> Any:
        identity = self.mapper.identity_key_from_primary_key((values[self.pk],))
        found = session.identity_map.get(identity)
        if found is not None:
            # As a query does: what is expired (unloaded) is filled in, the rest kept unless refreshed.
            unloaded = sa_inspect(found).unloaded
            if refresh or unloaded:
                for key, value in zip(self.keys, values, strict=True):
                    if refresh or key in unloaded:
                        set_committed_value(found, key, value)
            return found
        obj = self.mapper.class_manager.new_instance()
        instance_dict(obj).update(zip(self.keys, values, strict=True))
        make_transient_to_detached(obj)  # loaded, unmodified, with its identity
        session.add(obj)  # and persistent in this session
        return obj


class DriverQuery:
    """A SELECT (by `build`) of whole rows of `entities`, then any other columns, run on the driver.

    `build(dialect_name, *entities)` gets the entities' column lists to select, in that order.
    """

    def __init__(self, build: Callable[..., ClauseElement], *entities: type, refresh: bool = False) -> None:
        self.entities = tuple(Entity(cls) for cls in entities)
        self.refresh = refresh
        columns = tuple(entity.columns for entity in self.entities)
        self.statement = DriverStatement(lambda dialect: build(dialect, *columns))

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Each row as the entities' objects, then the other columns' values."""
        if session.autoflush and (session.new or session.dirty or session.deleted):
            await session.flush()
        found = await self.statement.fetch(await connection_of(session), params)
        rows = []
        for row in found:
            values = tuple(row)
            start, made = 0, []
            for entity in self.entities:
                made.append(entity.attach(session, values[start:start + entity.width], refresh=self.refresh))
                start += entity.width
            rows.append((*made, *values[start:]))
        return rows
