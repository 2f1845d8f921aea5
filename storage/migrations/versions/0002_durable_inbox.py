"""durable inbox: the neutral event, attempts, last error and a replay lease; retention indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 00:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox_event') as batch:
        batch.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_inbox_status_received', 'inbox_event', ['status', 'received_at'])
    op.create_index('ix_outbox_created', 'outbox_message', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_created', table_name='outbox_message')
    op.drop_index('ix_inbox_status_received', table_name='inbox_event')
    with op.batch_alter_table('inbox_event') as batch:
        batch.drop_column('lease_until')
        batch.drop_column('last_error')
        batch.drop_column('attempts')
        batch.drop_column('payload')
