"""delivery_halt: Slack refused the token, delivery stopped

Revision ID: 89f2ebb6b810
Revises: 20b17259ad10
Create Date: 2026-12-06 03:24:58.125552
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import cxbot.store.types


revision = '89f2ebb6b810'
down_revision = '20b17259ad10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_halt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('since', cxbot.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_halt'))
    )


def downgrade() -> None:
    op.drop_table('delivery_halt')
