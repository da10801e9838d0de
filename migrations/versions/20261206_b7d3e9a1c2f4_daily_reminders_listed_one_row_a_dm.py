"""daily_reminders.listed and daily_listings: the requests a daily DM lists, one row a DM

The requests a person's daily DM lists were `reminders` rows of kind "daily", one a
request listed (a big council's morning: 250,000 rows, each through a foreign key and two
indexes). They move to the DM's own row (`daily_reminders.listed`, the ids comma-separated,
soonest deadline first) and, to find the DMs a request is listed in, to one
`daily_listings` row a request and day naming the people; every listed request is kept.

Revision ID: b7d3e9a1c2f4
Revises: ef5510395f04
Create Date: 2026-12-06 10:30:00.000000
"""
from __future__ import annotations

from itertools import groupby

from alembic import op
import sqlalchemy as sa


revision = 'b7d3e9a1c2f4'
down_revision = 'ef5510395f04'
branch_labels = None
depends_on = None

_CHUNK = 5000


def upgrade() -> None:
    with op.batch_alter_table('daily_reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listed', sa.Text(), nullable=False, server_default=''))
    op.create_table('daily_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('users', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['review_requests.id'],
                            name=op.f('fk_daily_listings_request_id_review_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_listings'))
    )
    with op.batch_alter_table('daily_listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_listings_request_id'), ['request_id'], unique=False)
    _move_listed_rows()
    with op.batch_alter_table('daily_reminders', schema=None) as batch_op:
        batch_op.alter_column('listed', server_default=None)


def _move_listed_rows() -> None:
    """A day at a time (a big council lists 250,000 requests a morning: its history would not
    fit in memory at once)."""
    conn = op.get_bind()
    days = list(conn.execute(sa.text("SELECT DISTINCT day FROM reminders WHERE kind = 'daily' ORDER BY day")).scalars())
    for day in days:
        rows = conn.execute(sa.text(
            "SELECT r.user_id, r.request_id, r.at FROM reminders r JOIN review_requests q ON q.id = r.request_id "
            "WHERE r.kind = 'daily' AND r.day = :day ORDER BY r.user_id, q.due_at, q.id"), {"day": day}).all()
        claimed = set(conn.execute(sa.text("SELECT user_id FROM daily_reminders WHERE day = :day"),
                                   {"day": day}).scalars())
        updates, inserts, listings = [], [], {}
        for user, listed in groupby(rows, key=lambda row: row[0]):
            listed = list(listed)
            ids = ",".join(str(row[1]) for row in listed)
            if user in claimed:
                updates.append({"ids": ids, "user": user, "day": day})
            else:   # listed before a DM was claimed per person and day: its claim, as then made
                inserts.append({"user": user, "day": day, "at": min(row[2] for row in listed), "ids": ids})
            for row in listed:
                listings.setdefault(row[1], []).append(user)
        if updates:
            conn.execute(sa.text("UPDATE daily_reminders SET listed = :ids WHERE user_id = :user AND day = :day"),
                         updates)
        if inserts:
            conn.execute(sa.text("INSERT INTO daily_reminders (user_id, day, at, channel, ts, content_hash, listed) "
                                 "VALUES (:user, :day, :at, '', '', '', :ids)"), inserts)
        values = [{"request_id": request_id, "day": day, "users": ",".join(users)}
                  for request_id, users in sorted(listings.items())]
        for start in range(0, len(values), _CHUNK):
            conn.execute(sa.text("INSERT INTO daily_listings (request_id, day, users) "
                                 "VALUES (:request_id, :day, :users)"), values[start:start + _CHUNK])
        conn.execute(sa.text("DELETE FROM reminders WHERE kind = 'daily' AND day = :day"), {"day": day})


def downgrade() -> None:
    conn = op.get_bind()
    days = list(conn.execute(sa.text("SELECT DISTINCT day FROM daily_reminders WHERE listed <> '' ORDER BY day"))
                .scalars())
    for day in days:
        rows = [{"request_id": int(r), "user_id": user, "day": day, "at": at} for user, at, listed in conn.execute(
            sa.text("SELECT user_id, at, listed FROM daily_reminders WHERE day = :day AND listed <> ''"),
            {"day": day}) for r in listed.split(",")]
        for start in range(0, len(rows), _CHUNK):
            conn.execute(sa.text("INSERT INTO reminders (request_id, user_id, kind, day, at) "
                                 "VALUES (:request_id, :user_id, 'daily', :day, :at)"), rows[start:start + _CHUNK])
    with op.batch_alter_table('daily_listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_listings_request_id'))
    op.drop_table('daily_listings')
    with op.batch_alter_table('daily_reminders', schema=None) as batch_op:
        batch_op.drop_column('listed')
