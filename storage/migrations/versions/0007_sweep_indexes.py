"""sweep indexes: the minute sweep reads only tasks that changed since its last pass

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:50:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_task_tenant_updated', 'task', ['tenant_id', 'updated_at'])
    op.create_index('ix_task_tenant_due', 'task', ['tenant_id', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_task_tenant_due', table_name='task')
    op.drop_index('ix_task_tenant_updated', table_name='task')
