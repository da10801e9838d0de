"""departments.usergroup: the Slack user group the vote prompt mentions

Revision ID: 5e1a2b3c4d5f
Revises: 74cb949a4dcb
Create Date: 2026-12-06 04:50:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '5e1a2b3c4d5f'
down_revision = '74cb949a4dcb'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('usergroup', sa.String(length=32), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('usergroup')
