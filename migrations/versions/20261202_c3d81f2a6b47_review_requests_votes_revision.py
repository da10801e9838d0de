"""review_requests.votes_revision: raised by every change to a request's votes

Revision ID: c3d81f2a6b47
Revises: 9af5e94b0856
Create Date: 2026-12-02 21:05:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = 'c3d81f2a6b47'
down_revision = '9af5e94b0856'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('votes_revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.drop_column('votes_revision')
