"""comments: edits, deletions and shared files

A comment edited in Slack keeps its row (new text, edited_at), a deleted one is marked
(deleted_at), and a reply with files keeps their names and permalinks. Edits and
deletions name the message by its ts alone, hence the index on slack_ts.

Revision ID: 20b17259ad10
Revises: c3d81f2a6b47
Create Date: 2026-12-06 03:24:59.238690
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import cxbot.store.types


revision = '20b17259ad10'
down_revision = 'c3d81f2a6b47'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('edited_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_comments_slack_ts'), ['slack_ts'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comments_slack_ts'))
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('edited_at')
        batch_op.drop_column('files')
