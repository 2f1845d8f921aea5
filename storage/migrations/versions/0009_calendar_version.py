"""tenant.calendar_version: bumped with each calendar change, so processes may cache the calendar

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('tenant', sa.Column('calendar_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('tenant') as batch:
        batch.drop_column('calendar_version')
