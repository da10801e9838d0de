"""council.channel_locale: the council channel's Slack locale, and when it was read

Revision ID: a7c3e9d1f2b4
Revises: d5f6e8141c42
Create Date: 2026-12-06 10:05:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import cxbot.store.types


revision = 'a7c3e9d1f2b4'
down_revision = 'd5f6e8141c42'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_locale', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('channel_locale_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.drop_column('channel_locale_at')
        batch_op.drop_column('channel_locale')
