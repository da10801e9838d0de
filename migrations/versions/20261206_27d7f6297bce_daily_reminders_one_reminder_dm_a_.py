"""daily_reminders: one reminder DM a person a day, kept up to date

Revision ID: 27d7f6297bce
Revises: 5e1a2b3c4d5f
Create Date: 2026-12-06 04:53:34.780928
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import cxbot.store.types


revision = '27d7f6297bce'
down_revision = '5e1a2b3c4d5f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('daily_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', cxbot.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_reminders')),
    sa.UniqueConstraint('user_id', 'day', name=op.f('uq_daily_reminders_user_id_day'))
    )


def downgrade() -> None:
    op.drop_table('daily_reminders')
