"""cadence: the team calendar, leave, daily stand-ups, monthly review notes; decisions by chat

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        'calendar_day',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('workday', sa.Boolean(), nullable=False),
        sa.Column('name', _string(100), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['set_by_id'], ['user.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'day'),
    )
    op.create_table(
        'leave',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('start_day', sa.Date(), nullable=False),
        sa.Column('end_day', sa.Date(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['set_by_id'], ['user.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_leave_tenant_user', 'leave', ['tenant_id', 'user_id'])
    op.create_table(
        'standup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.Integer(), nullable=False),
        sa.Column('prompt_time', _string(5), nullable=False),
        sa.Column('remind_time', _string(5), nullable=True),
        sa.Column('summary_time', _string(5), nullable=True),
        sa.Column('member_ids', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['chat_id'], ['chat.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('chat_id'),
    )
    op.create_index('ix_standup_next', 'standup', ['enabled', 'next_at'])
    op.create_index(op.f('ix_standup_tenant_id'), 'standup', ['tenant_id'])
    op.create_table(
        'standup_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('yesterday', sa.Text(), nullable=True),
        sa.Column('today', sa.Text(), nullable=True),
        sa.Column('blockers', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['chat_id'], ['chat.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('chat_id', 'user_id', 'day'),
    )
    op.create_index(op.f('ix_standup_answer_tenant_id'), 'standup_answer', ['tenant_id'])
    op.create_table(
        'review_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('period', _string(7), nullable=False),
        sa.Column('good', sa.Text(), nullable=True),
        sa.Column('improve', sa.Text(), nullable=True),
        sa.Column('actions', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['user.id']),
        sa.ForeignKeyConstraint(['chat_id'], ['chat.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_review_note_chat', 'review_note', ['tenant_id', 'chat_id', 'created_at'])
    # Digests and reviews read a chat's decisions of a period.
    op.create_index('ix_decision_chat_created', 'decision', ['tenant_id', 'chat_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_decision_chat_created', table_name='decision')
    op.drop_index('ix_review_note_chat', table_name='review_note')
    op.drop_table('review_note')
    op.drop_index(op.f('ix_standup_answer_tenant_id'), table_name='standup_answer')
    op.drop_table('standup_answer')
    op.drop_index(op.f('ix_standup_tenant_id'), table_name='standup')
    op.drop_index('ix_standup_next', table_name='standup')
    op.drop_table('standup')
    op.drop_index('ix_leave_tenant_user', table_name='leave')
    op.drop_table('leave')
    op.drop_table('calendar_day')
