"""across the experience: moments of truth, the customer's cost of a request, its go-live date and follow-ups

Existing councils and requests get none: a council names its moments in its file, and a
request filed before says nothing of its cost to customers or of when it went live.

Revision ID: d5f6e8141c42
Revises: 4dfaf466495e
Create Date: 2026-12-06 10:12:51.172390
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import cxbot.store.types


revision = 'd5f6e8141c42'
down_revision = '4dfaf466495e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite and PostgreSQL both take a constant default): a batch copy of
    # `council` would drop a table the departments' foreign keys point at.
    op.add_column('council', sa.Column('moments', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    op.add_column('review_requests', sa.Column('moments', sa.JSON(), server_default=sa.text("'[]'"),
                                               nullable=False))
    op.add_column('review_requests', sa.Column('customer_minutes', sa.Float(), nullable=True))
    op.add_column('review_requests', sa.Column('customers_per_month', sa.Integer(), nullable=True))
    op.add_column('review_requests', sa.Column('steps', sa.Integer(), nullable=True))
    op.add_column('review_requests', sa.Column('warning_signs', sa.JSON(), server_default=sa.text("'[]'"),
                                               nullable=False))
    op.add_column('review_requests', sa.Column('go_live', sa.Date(), nullable=True))
    op.create_table(
        'follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('due_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sent_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('chased_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('answer', sa.String(length=16), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('measured', sa.String(length=100), nullable=False),
        sa.Column('answered_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['review_requests.id'],
                                name=op.f('fk_follow_ups_request_id_review_requests')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
        sa.UniqueConstraint('request_id', 'user_id', 'role', name=op.f('uq_follow_ups_request_id_user_id_role')),
    )
    op.create_index(op.f('ix_follow_ups_next_at'), 'follow_ups', ['next_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_follow_ups_next_at'), table_name='follow_ups')
    op.drop_table('follow_ups')
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        for column in ('go_live', 'warning_signs', 'steps', 'customers_per_month', 'customer_minutes', 'moments'):
            batch_op.drop_column(column)
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.drop_column('moments')
