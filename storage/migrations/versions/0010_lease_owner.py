"""inbox_event.lease_owner, outbox_message.lease_owner: the process holding a row's lease

A process stopping gracefully gives back the rows it leased but did not finish, found by this
token, instead of leaving them to wait for their lease to run out.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('inbox_event', 'outbox_message')


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('lease_owner')
