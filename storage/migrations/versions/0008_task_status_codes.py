"""task status and priority as codes: pending/in_progress/in_review/done/cancelled, high/medium/low

The words people read (待启动, 高 …) belong to presentation; rows written before keep their meaning.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:55:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = {"待启动": "pending", "进行中": "in_progress", "待验收": "in_review", "已完成": "done",
            "已取消": "cancelled"}
PRIORITIES = {"高": "high", "中": "medium", "低": "low"}


def _remap(column: str, mapping: dict[str, str]) -> None:
    for old, new in mapping.items():
        op.execute(sa.text(f"UPDATE task SET {column} = :new WHERE {column} = :old").bindparams(old=old, new=new))


def _widen(status: int, priority: int) -> None:
    # SQLite does not enforce VARCHAR lengths, and rebuilding the task table there would trip the
    # foreign keys that point at it: only PostgreSQL's columns change.
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column('task', 'status', type_=sqlmodel.sql.sqltypes.AutoString(length=status), existing_nullable=False)
    op.alter_column('task', 'priority', type_=sqlmodel.sql.sqltypes.AutoString(length=priority),
                    existing_nullable=False)


def upgrade() -> None:
    _widen(16, 8)
    _remap("status", STATUSES)
    _remap("priority", PRIORITIES)


def downgrade() -> None:
    _remap("status", {new: old for old, new in STATUSES.items()})
    _remap("priority", {new: old for old, new in PRIORITIES.items()})
    _widen(8, 4)
