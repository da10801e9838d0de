"""outbox: partial indexes on pending and delivered rows, for retention

The due-lanes query and a lane's pending items read an index of pending rows only, and
the retention job finds delivered rows by delivery time, so neither slows down as
delivered rows pile up between prunings.

Revision ID: 67ae2e831420
Revises: c58ed974e9d0
Create Date: 2026-12-06 04:15:03.269905
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '67ae2e831420'
down_revision = 'c58ed974e9d0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_pending'))
        batch_op.create_index('ix_outbox_done_delivered_at', ['delivered_at'], unique=False, sqlite_where=sa.text("status = 'done'"), postgresql_where=sa.text("status = 'done'"))
        batch_op.create_index('ix_outbox_pending_lane_id', ['lane', 'id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_lane_id', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_outbox_done_delivered_at', sqlite_where=sa.text("status = 'done'"), postgresql_where=sa.text("status = 'done'"))
        batch_op.create_index(batch_op.f('ix_outbox_pending'), ['status', 'next_attempt_at'], unique=False)
