"""queue indexes over open rows only: inbox events not processed, outbox messages not sent

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:00:00

The status indexes covered every row of the retention period. Prepared with the status as a
parameter, PostgreSQL's generic plan took an event by walking the index over every unprocessed
row instead of the primary key (a backlog of n made each event cost O(n)), and a new reply
checked its chat for waiting messages across every due row. Partial indexes over the open rows
only are small, cannot be chosen for a lookup by id, and give the claims (oldest open rows
first) their rows in id order without walking past the finished ones.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECEIVED = sa.text("status = 'received'")
_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.drop_index('ix_inbox_status_received', table_name='inbox_event')
    op.create_index('ix_inbox_open', 'inbox_event', ['id'], postgresql_where=_RECEIVED, sqlite_where=_RECEIVED)
    op.drop_index('ix_outbox_due', table_name='outbox_message')
    op.create_index('ix_outbox_open', 'outbox_message', ['id'], postgresql_where=_PENDING, sqlite_where=_PENDING)
    op.create_index('ix_outbox_open_chat', 'outbox_message', ['platform', 'tenant_key', 'chat_id', 'next_attempt_at'],
                    postgresql_where=_PENDING, sqlite_where=_PENDING)


def downgrade() -> None:
    op.drop_index('ix_outbox_open_chat', table_name='outbox_message')
    op.drop_index('ix_outbox_open', table_name='outbox_message')
    op.create_index('ix_outbox_due', 'outbox_message', ['status', 'next_attempt_at'])
    op.drop_index('ix_inbox_open', table_name='inbox_event')
    op.create_index('ix_inbox_status_received', 'inbox_event', ['status', 'received_at'])
