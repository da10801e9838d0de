"""related requests found at filing: the requests of other departments a new one was found to be near

Revision ID: ef5510395f04
Revises: a7c3e5f9d2b1
Create Date: 2026-12-06 10:54:26.500261
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = 'ef5510395f04'
down_revision = 'a7c3e5f9d2b1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default, on SQLite as on PostgreSQL.
    op.add_column('review_requests', sa.Column('related', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.drop_column('related')
