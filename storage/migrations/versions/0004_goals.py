"""goals: objectives and stage goals, key results, and tasks linked into the goal tree

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 01:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'goal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('initiator_id', sa.Integer(), nullable=True),
        sa.Column('chat_id', sa.Integer(), nullable=True),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['chat_id'], ['chat.id']),
        sa.ForeignKeyConstraint(['initiator_id'], ['user.id']),
        sa.ForeignKeyConstraint(['owner_id'], ['user.id']),
        sa.ForeignKeyConstraint(['parent_id'], ['goal.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'code'),
    )
    op.create_index(op.f('ix_goal_parent_id'), 'goal', ['parent_id'])
    op.create_index(op.f('ix_goal_tenant_id'), 'goal', ['tenant_id'])
    op.create_table(
        'key_result',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('goal_id', sa.Integer(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('target', sa.Float(), nullable=False),
        sa.Column('current', sa.Float(), nullable=False),
        sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['goal_id'], ['goal.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'code'),
    )
    op.create_index(op.f('ix_key_result_goal_id'), 'key_result', ['goal_id'])
    op.create_index(op.f('ix_key_result_tenant_id'), 'key_result', ['tenant_id'])
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('goal_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('key_result_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_task_goal_id'), ['goal_id'])
        batch.create_index(batch.f('ix_task_key_result_id'), ['key_result_id'])
        batch.create_foreign_key('fk_task_goal', 'goal', ['goal_id'], ['id'])
        batch.create_foreign_key('fk_task_key_result', 'key_result', ['key_result_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.drop_constraint('fk_task_key_result', type_='foreignkey')
        batch.drop_constraint('fk_task_goal', type_='foreignkey')
        batch.drop_index(batch.f('ix_task_key_result_id'))
        batch.drop_index(batch.f('ix_task_goal_id'))
        batch.drop_column('key_result_id')
        batch.drop_column('goal_id')
    op.drop_table('key_result')
    op.drop_table('goal')
