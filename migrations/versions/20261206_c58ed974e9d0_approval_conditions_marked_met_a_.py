"""approval conditions marked met (and indexed for the digest); a refiled request revises a withdrawn one

Revision ID: c58ed974e9d0
Revises: 89f2ebb6b810
Create Date: 2026-12-06 03:54:39.066493
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import cxbot.store.types


revision = 'c58ed974e9d0'
down_revision = '89f2ebb6b810'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revises_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_review_requests_revises_id'), ['revises_id'])
        batch_op.create_foreign_key(batch_op.f('fk_review_requests_revises_id_review_requests'), 'review_requests', ['revises_id'], ['id'])

    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('condition_met_at', cxbot.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('condition_met_by', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_votes_conditions', ['kind', 'retracted'], unique=False,
                              sqlite_where=sa.text("kind = 'approve' AND note <> ''"),
                              postgresql_where=sa.text("kind = 'approve' AND note <> ''"))


def downgrade() -> None:
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index('ix_votes_conditions')
        batch_op.drop_column('condition_met_by')
        batch_op.drop_column('condition_met_at')

    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_review_requests_revises_id_review_requests'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_review_requests_revises_id'), type_='unique')
        batch_op.drop_column('revises_id')
