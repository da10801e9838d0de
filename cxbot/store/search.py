"""Full-text search over requests: the search documents, kept current, and the ranked match.

Each request has one row in `search_documents` (its title; its description, the summary and
impact note; its discussion, the objections' reasons and what would fix them and the live
comments). A flush listener rewrites the rows of the requests a flush changed in any of
those, by SQL in the same transaction, so the index is never behind what was committed.

Each database indexes the rows its own way, made by the migration that made the table:

* PostgreSQL: a generated `tsvector` column (`document`; the title weighted A, the
  description B, the discussion C) with a GIN index, in the `english` configuration.
* SQLite: an FTS5 table `search_fts` over the rows (external content), with the `porter`
  tokenizer on `unicode61` without diacritics, kept by triggers on `search_documents`.

Both stem English: "invoice" finds "invoices". Norwegian and German words are matched as
written (no stemming). The query is built here from words alone (`search_words`): what a
person typed never reaches either query syntax.

Imported by cxbot.store.models, so the listener is registered whenever the tables are.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, event, inspect, text
from sqlalchemy.orm import Session

from cxbot.domain.model import VoteKind
from cxbot.store.models import Comment, ReviewRequest, Vote

# What the migration made beside `search_documents` that the models do not describe: the
# comparison of models and migrations (`alembic check`, migrations/env.py) leaves them out.
FTS_TABLE = "search_fts"
UNMODELLED_COLUMNS = {("search_documents", "document")}
UNMODELLED_INDEXES = {"ix_search_documents_document"}

# How much more a hit in the title counts than one in the description, and that than one in
# the discussion (SQLite's bm25 weights; PostgreSQL's ts_rank weighs A, B and C the same way).
WEIGHTS = (10.0, 4.0, 1.0)
CONFIG = "english"


def unmodelled_table(name: str) -> bool:
    """The FTS5 table and the shadow tables SQLite keeps for it."""
    return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")


def _documents(dialect: str, where: str) -> str:
    """SELECT of the search documents of the requests `where` picks (`r` is the request)."""
    def joined(value: str) -> str:
        return f"string_agg({value}, ' ')" if dialect == "postgresql" else f"group_concat({value}, ' ')"
    objection = "v.note || ' ' || v.mitigation || ' ' || v.resolution_note"
    return (
        "SELECT r.id, d.council_id, r.title, r.summary || ' ' || r.impact_note, "
        f"coalesce((SELECT {joined(objection)} FROM votes v WHERE v.request_id = r.id "
        f"AND v.kind = '{VoteKind.OBJECT.value}'), '') || ' ' || "
        f"coalesce((SELECT {joined('c.text')} FROM comments c WHERE c.request_id = r.id "
        f"AND c.deleted_at IS NULL), '') "
        f"FROM review_requests r JOIN departments d ON d.id = r.department_id {where}")


_COLUMNS = "INSERT INTO search_documents (request_id, council_id, title, body, discussion) "


def refresh(conn: Connection, request_ids: Collection[int] | None = None) -> None:
    """Rewrite the search documents of these requests (of every request, with None): what the
    flush listener does for a flush's requests, and the migration and the benchmarks for all."""
    dialect = conn.dialect.name
    if request_ids is None:
        conn.execute(text("DELETE FROM search_documents"))
        conn.execute(text(_COLUMNS + _documents(dialect, "")))
        return
    ids = {"ids": sorted(request_ids)}
    conn.execute(text("DELETE FROM search_documents WHERE request_id IN :ids")
                 .bindparams(bindparam("ids", expanding=True)), ids)
    conn.execute(text(_COLUMNS + _documents(dialect, "WHERE r.id IN :ids"))
                 .bindparams(bindparam("ids", expanding=True)), ids)


def _changed(obj: Any, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _objection(vote: Vote) -> bool:
    """A vote whose change can change what the discussion says: an objection, or one that was."""
    history = inspect(vote).attrs.kind.history
    return VoteKind.OBJECT in (vote.kind, *history.deleted)


@event.listens_for(Session, "after_flush")
def _keep_documents(session: Session, _context: Any) -> None:
    """Rewrite the documents of the requests whose title or description, objections or
    comments this flush added, changed or deleted (a vote button's approval changes none).
    Requests themselves are never deleted: they are the council's record."""
    touched: set[int | None] = set()
    for obj in session.new:
        if isinstance(obj, ReviewRequest):
            touched.add(obj.id)
        elif isinstance(obj, Comment) or (isinstance(obj, Vote) and obj.kind is VoteKind.OBJECT):
            touched.add(obj.request_id)
    for obj in session.dirty:
        if isinstance(obj, ReviewRequest) and _changed(obj, "title", "summary", "impact_note"):
            touched.add(obj.id)
        elif isinstance(obj, Comment) and _changed(obj, "text", "deleted_at"):
            touched.add(obj.request_id)
        elif isinstance(obj, Vote) and _objection(obj) and _changed(obj, "kind", "note", "mitigation",
                                                                     "resolution_note"):
            touched.add(obj.request_id)
    for obj in session.deleted:
        if isinstance(obj, Comment | Vote):
            touched.add(obj.request_id)
    touched.discard(None)
    if touched:
        refresh(session.connection(), [i for i in touched if i is not None])


def _fts5_query(words: Sequence[str]) -> str:
    """`"w1" AND "w2"*`: each word quoted (only letters and digits, so nothing in it is
    syntax), all of them wanted, the last one also as the start of a longer word."""
    return " AND ".join(f'"{w}"' for w in words) + "*"


def _tsquery(words: Sequence[str]) -> str:
    """`'w1' & 'w2':*`, the same query in PostgreSQL's syntax."""
    return " & ".join(f"'{w}'" for w in words) + ":*"


# How many of the newest matching requests a search ranks: a word most requests hold would
# otherwise cost a rank for each of them (a third of a second at 100,000 requests); more words
# narrow the matches below it, and then every match is ranked.
WINDOW = 1000


def ranked(conn: Connection, words: Sequence[str], council_ids: Collection[int], limit: int,
           window: int = WINDOW) -> list[int]:
    """The ids of the requests of these councils whose documents hold every word, best first
    (a title hit above a description hit above a discussion hit; then the newest), ranked
    among the `window` newest of them. `words` are letters and digits only
    (cxbot.domain.search.search_words)."""
    if not words or not council_ids:
        return []
    params: dict[str, Any] = {"councils": sorted(council_ids), "n": limit, "window": window}
    # The newest matches first, so that a word most requests hold stops the scan at `window`
    # of them (and a rarer one is found through the index, then sorted).
    if conn.dialect.name == "postgresql":
        params["q"] = _tsquery(words)
        sql = ("SELECT id FROM (SELECT request_id AS id, document FROM search_documents "
               f"WHERE council_id IN :councils AND document @@ to_tsquery('{CONFIG}', :q) "
               "ORDER BY request_id DESC LIMIT :window) AS newest "
               f"ORDER BY ts_rank(document, to_tsquery('{CONFIG}', :q)) DESC, id DESC LIMIT :n")
    else:
        params["q"] = _fts5_query(words)
        weights = ", ".join(str(w) for w in WEIGHTS)
        # The council through the request's narrow columns: the document row is wide.
        sql = (f"SELECT id FROM (SELECT {FTS_TABLE}.rowid AS id, bm25({FTS_TABLE}, {weights}) AS score "
               f"FROM {FTS_TABLE} JOIN review_requests r ON r.id = {FTS_TABLE}.rowid "
               "JOIN departments d ON d.id = r.department_id "
               f"WHERE d.council_id IN :councils AND {FTS_TABLE} MATCH :q ORDER BY {FTS_TABLE}.rowid DESC "
               "LIMIT :window) ORDER BY score, id DESC LIMIT :n")
    stmt = text(sql).bindparams(bindparam("councils", expanding=True))
    return [row[0] for row in conn.execute(stmt, params)]


def sharing_any(conn: Connection, words: Sequence[str], council_id: int, limit: int) -> list[int]:
    """The ids of the council's requests whose documents hold any of `words` (letters and digits
    only), best first: the candidates for "related" (cxbot.services.related)."""
    if not words:
        return []
    params: dict[str, Any] = {"council": council_id, "n": limit}
    if conn.dialect.name == "postgresql":
        params["q"] = " | ".join(f"'{w}'" for w in words)
        sql = ("SELECT request_id FROM search_documents WHERE council_id = :council "
               f"AND document @@ to_tsquery('{CONFIG}', :q) "
               f"ORDER BY ts_rank(document, to_tsquery('{CONFIG}', :q)) DESC, request_id DESC LIMIT :n")
    else:
        params["q"] = " OR ".join(f'"{w}"' for w in words)
        weights = ", ".join(str(w) for w in WEIGHTS)
        sql = (f"SELECT {FTS_TABLE}.rowid FROM {FTS_TABLE} JOIN search_documents s "
               f"ON s.request_id = {FTS_TABLE}.rowid WHERE s.council_id = :council AND {FTS_TABLE} MATCH :q "
               f"ORDER BY bm25({FTS_TABLE}, {weights}), {FTS_TABLE}.rowid DESC LIMIT :n")
    return [row[0] for row in conn.execute(text(sql), params)]
