"""decisions: requests, blockers, risks, changes and reviews answered on cards; a task's brief

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('request', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('decider_id', sa.Integer(), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('chat_id', sa.Integer(), nullable=True),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.ForeignKeyConstraint(['task_id'], ['task.id']),
        sa.ForeignKeyConstraint(['decider_id'], ['user.id']),
        sa.ForeignKeyConstraint(['requester_id'], ['user.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user.id']),
        sa.ForeignKeyConstraint(['department_id'], ['department.id']),
        sa.ForeignKeyConstraint(['chat_id'], ['chat.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'task_id', 'kind', 'number'),
    )
    op.create_index(op.f('ix_decision_tenant_id'), 'decision', ['tenant_id'])
    op.create_index(op.f('ix_decision_task_id'), 'decision', ['task_id'])
    op.create_index('ix_decision_decider_state', 'decision', ['tenant_id', 'decider_id', 'state'])
    op.create_index('ix_decision_state_due', 'decision', ['state', 'due_at'])
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('background', sa.Text(), nullable=True))
        batch.add_column(sa.Column('objective', sa.Text(), nullable=True))
        batch.add_column(sa.Column('deliverables', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.drop_column('deliverables')
        batch.drop_column('objective')
        batch.drop_column('background')
    op.drop_index('ix_decision_state_due', table_name='decision')
    op.drop_index('ix_decision_decider_state', table_name='decision')
    op.drop_index(op.f('ix_decision_task_id'), table_name='decision')
    op.drop_index(op.f('ix_decision_tenant_id'), table_name='decision')
    op.drop_table('decision')
