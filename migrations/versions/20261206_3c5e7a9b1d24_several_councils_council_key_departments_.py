"""several councils: council.key, departments.council_id, digest_sends per council and week

The existing council (if any) becomes the council keyed "default", and its departments and
sent digests are its own: nothing else changes, so a database of one council keeps working.

Revision ID: 3c5e7a9b1d24
Revises: 27d7f6297bce
Create Date: 2026-12-06 06:45:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '3c5e7a9b1d24'
down_revision = '27d7f6297bce'
branch_labels = None
depends_on = None

# The council rows already there belong to (before this revision there was one, id 1).
EXISTING = "COALESCE((SELECT MIN(id) FROM council), 1)"


def upgrade() -> None:
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=64), nullable=True))
    op.execute("UPDATE council SET key = CASE WHEN id = (SELECT MIN(id) FROM council) THEN 'default' "
               "ELSE 'council-' || CAST(id AS VARCHAR(20)) END")
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.alter_column('key', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_council_key'), ['key'])

    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_departments(several=True)
    else:
        with op.batch_alter_table('departments', schema=None) as batch_op:
            batch_op.add_column(sa.Column('council_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE departments SET council_id = {EXISTING}")
        with op.batch_alter_table('departments', schema=None) as batch_op:
            batch_op.alter_column('council_id', existing_type=sa.Integer(), nullable=False)
            batch_op.drop_constraint('uq_departments_key', type_='unique')
            batch_op.create_unique_constraint(batch_op.f('uq_departments_council_id_key'), ['council_id', 'key'])
            batch_op.create_foreign_key(batch_op.f('fk_departments_council_id_council'), 'council',
                                        ['council_id'], ['id'])

    with op.batch_alter_table('digest_sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('council_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE digest_sends SET council_id = {EXISTING}")
    with op.batch_alter_table('digest_sends', schema=None) as batch_op:
        batch_op.alter_column('council_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('pk_digest_sends', type_='primary')
        batch_op.create_primary_key('pk_digest_sends', ['council_id', 'week'])
        batch_op.create_foreign_key(batch_op.f('fk_digest_sends_council_id_council'), 'council', ['council_id'],
                                    ['id'])


def downgrade() -> None:
    """Back to one council: only possible while the database holds one (the default)."""
    with op.batch_alter_table('digest_sends', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_digest_sends_council_id_council'), type_='foreignkey')
        batch_op.drop_constraint('pk_digest_sends', type_='primary')
        batch_op.create_primary_key('pk_digest_sends', ['week'])
        batch_op.drop_column('council_id')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_departments(several=False)
    else:
        with op.batch_alter_table('departments', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_departments_council_id_council'), type_='foreignkey')
            batch_op.drop_constraint(batch_op.f('uq_departments_council_id_key'), type_='unique')
            batch_op.create_unique_constraint('uq_departments_key', ['key'])
            batch_op.drop_column('council_id')
    with op.batch_alter_table('council', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_council_key'), type_='unique')
        batch_op.drop_column('key')


def _rebuild_departments(*, several: bool) -> None:
    """SQLite cannot drop a unique constraint: the table is built again. Alembic's batch mode
    would copy it into a new table and drop the old one, which the rows that reference it
    (memberships, requests, votes…) forbid while foreign keys are enforced, as they are in
    the transaction the migrations run in. Instead, with the checks deferred to the commit:
    the rows are kept aside, the table dropped (its referencing rows now dangle), built
    again and refilled, which puts every referenced row back before the commit checks."""
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TABLE _departments_rows AS SELECT * FROM departments")
    op.drop_table('departments')
    columns = [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('stages', sa.JSON(), server_default='[]', nullable=False),
        sa.Column('usergroup', sa.String(length=32), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    ]
    kept = "id, key, name, position, active, stages, usergroup"
    if several:
        op.create_table(
            'departments', *columns, sa.Column('council_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['council_id'], ['council.id'], name=op.f('fk_departments_council_id_council')),
            sa.UniqueConstraint('council_id', 'key', name=op.f('uq_departments_council_id_key')))
        op.execute(f"INSERT INTO departments ({kept}, council_id) SELECT {kept}, {EXISTING} FROM _departments_rows")
    else:
        op.create_table('departments', *columns, sa.UniqueConstraint('key', name=op.f('uq_departments_key')))
        op.execute(f"INSERT INTO departments ({kept}) SELECT {kept} FROM _departments_rows")
    op.drop_table('_departments_rows')
