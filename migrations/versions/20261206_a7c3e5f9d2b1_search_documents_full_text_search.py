"""search_documents: full-text search over requests (FTS5 on SQLite, tsvector + GIN on PostgreSQL)

Revision ID: a7c3e5f9d2b1
Revises: a7c3e5f19b20
Create Date: 2026-12-06 10:10:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = 'a7c3e5f9d2b1'
down_revision = 'a7c3e5f19b20'
branch_labels = None
depends_on = None

COLUMNS = "title, body, discussion"
SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, discussion, content='search_documents', "
    "content_rowid='request_id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    f"INSERT INTO search_fts(rowid, {COLUMNS}) VALUES (new.request_id, new.title, new.body, new.discussion); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    f"INSERT INTO search_fts(search_fts, rowid, {COLUMNS}) "
    "VALUES ('delete', old.request_id, old.title, old.body, old.discussion); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    f"INSERT INTO search_fts(search_fts, rowid, {COLUMNS}) "
    "VALUES ('delete', old.request_id, old.title, old.body, old.discussion); "
    f"INSERT INTO search_fts(rowid, {COLUMNS}) VALUES (new.request_id, new.title, new.body, new.discussion); END",
]
POSTGRESQL = [
    "ALTER TABLE search_documents ADD COLUMN document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B') || "
    "setweight(to_tsvector('english', discussion), 'C')) STORED",
    "CREATE INDEX ix_search_documents_document ON search_documents USING gin (document)",
]


def upgrade() -> None:
    op.create_table('search_documents',
    sa.Column('request_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('discussion', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['council.id'], name=op.f('fk_search_documents_council_id_council')),
    sa.ForeignKeyConstraint(['request_id'], ['review_requests.id'], name=op.f('fk_search_documents_request_id_review_requests')),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_search_documents'))
    )
    bind = op.get_bind()
    for statement in POSTGRESQL if bind.dialect.name == "postgresql" else SQLITE:
        op.execute(statement)
    # Every request filed so far, in the index.
    from cxbot.store.search import refresh

    refresh(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table('search_documents')
