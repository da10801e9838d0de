"""languages: the council's language, and each person's Slack locale and own choice

Revision ID: 4dfaf466495e
Revises: 3c5e7a9b1d24
Create Date: 2026-12-06 06:28:25.522767
"""
from __future__ import annotations

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import cxbot.store.types


revision = '4dfaf466495e'
down_revision = '3c5e7a9b1d24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='', nullable=False))

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='', nullable=False))

    # People looked up before now were never asked for their locale: look them up again when next needed.
    people = sa.table('people', sa.column('fetched_at', cxbot.store.types.UTCDateTime(timezone=True)))
    op.execute(people.update().values(fetched_at=datetime(1970, 1, 1, tzinfo=UTC)))


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.drop_column('locale')

    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.drop_column('language')
