"""moments of truth: the council's (from its file), and those a request touches; the customer's cost of a request

Existing councils and requests get none: a council names its moments in its file, and a
request filed before says nothing of its cost to customers.

Revision ID: d5f6e8141c42
Revises: 4dfaf466495e
Create Date: 2026-12-06 10:12:51.172390
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


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


def downgrade() -> None:
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        for column in ('warning_signs', 'steps', 'customers_per_month', 'customer_minutes', 'moments'):
            batch_op.drop_column(column)
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.drop_column('moments')
