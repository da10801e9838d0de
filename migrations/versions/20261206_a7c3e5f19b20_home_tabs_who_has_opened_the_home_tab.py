"""home_tabs: who has opened cxbot's Home tab (only their Home is published again on a change)

Revision ID: a7c3e5f19b20
Revises: a7c3e9d1f2b4
Create Date: 2026-12-06 10:25:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import cxbot.store.types


revision = 'a7c3e5f19b20'
down_revision = 'a7c3e9d1f2b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('home_tabs',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('opened_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_home_tabs'))
    )


def downgrade() -> None:
    op.drop_table('home_tabs')
