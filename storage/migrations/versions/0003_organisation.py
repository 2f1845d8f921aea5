"""organisation: tenant admins, and department/superior set by command winning over the directory

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('org_set_by_command', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.drop_column('org_set_by_command')
        batch.drop_column('is_admin')
