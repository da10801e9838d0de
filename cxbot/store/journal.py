"""Where acknowledged vote button presses wait to be applied.

On PostgreSQL (and an in-memory SQLite database) they wait in the `presses` table of the
database itself, and the round that applies them deletes them in its own transaction.

On a SQLite file they wait in a journal of their own, the SQLite file `<database>-presses`
(WAL, with its own write lock), so storing a press before its acknowledgement never waits
for SQLite's one write lock on the database, which the rounds applying presses, the outbox
and the sweeps take in turn. The journal is part of the database: back the two files up
together (`cxbot.db` and `cxbot.db-presses`).

A press in the journal cannot be deleted in the transaction that applies it, so each
request remembers the last press applied to it (`review_requests.applied_press_id`, set in
that transaction): a press at or below its request's mark is applied, and whoever finds it
deletes it (the round right after its commit; otherwise the next round). A crash between
the two applies nothing twice. Journal ids only grow (AUTOINCREMENT), and when the journal
is opened they are raised above every mark, so a journal that was lost (with the presses
it held) cannot make new presses look applied. Presses a cxbot from before the journal left
in the database's own table (or stored there while a reload still ran it) are moved into the
journal by the next round (`Waiting.adopt`).

There is no foreign key from the journal to the requests: `PressIntake` checks that the
request exists before it stores a press.

Storing presses (`append`) and deleting applied ones (`Waiting.done`) are each one
statement in autocommit mode: SQLite takes the journal's write lock, writes and commits
inside that one call, which runs without holding Python's GIL. A transaction of several
statements would hold the lock while its thread waits for the GIL between them (several
milliseconds when the process's other threads are busy), and every other writer would wait
with it; the acknowledgement path measured a p90 of 17 ms to store a group of presses that
way, against well under a millisecond of work. Writers of several processes (web workers,
the jobs worker) queue on SQLite's busy timeout.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, Table, bindparam, delete, event, func, insert, select, update
from sqlalchemy.orm import Session

from cxbot.store.db import make_engine, one_of, read_only_engine
from cxbot.store.models import Press, ReviewRequest

SUFFIX = "-presses"

# The journal's table has the columns of `presses`, without the foreign key (the requests are in
# the other file); AUTOINCREMENT, so an id is never used twice, even after the newest is deleted.
_DDL = (
    "CREATE TABLE IF NOT EXISTS presses (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER NOT NULL, "
    "user_id VARCHAR(32) NOT NULL, kind VARCHAR(16) NOT NULL, channel VARCHAR(32) NOT NULL, "
    "thread_ts VARCHAR(32), received_at DATETIME NOT NULL, attempts INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_presses_request_id_id ON presses (request_id, id)",
    # Presses moved here from the database's own table, by their id there (see `Waiting.adopt`).
    "CREATE TABLE IF NOT EXISTS moved (main_id INTEGER PRIMARY KEY)",
)

log = logging.getLogger(__name__)
_FORGET_KEY = "cxbot_forget_presses"
_journals: dict[tuple[int, str], Engine] = {}
_opening = threading.Lock()


def journal_path(bind: Any) -> str | None:
    """`<database>-presses` for a SQLite file; None where presses wait in the database itself."""
    if bind.dialect.name != "sqlite":
        return None
    database = bind.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}{SUFFIX}"


def journal_of(bind: Any) -> Engine | None:
    """The journal of this database (an engine, one a process), opened on first use."""
    path = journal_path(bind)
    if path is None:
        return None
    key = (os.getpid(), path)  # a forked process opens its own
    journal = _journals.get(key)
    if journal is None:
        with _opening:
            journal = _journals.get(key)
            if journal is None:
                journal = _journals[key] = _open(bind, path)
    return journal


def close_journal(bind: Any) -> None:
    """Close this process's connections to the journal (it opens again when next used)."""
    path = journal_path(bind)
    journal = _journals.pop((os.getpid(), path), None) if path else None
    if journal is not None:
        journal.dispose()


def append(journal: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Store presses (dicts of `PRESS_COLUMNS`) in the journal, in their order, committed
    when this returns: one INSERT of a JSON array, in autocommit mode (see the module's
    docstring)."""
    stamp = _stamp(journal)
    payload = json.dumps([[row[c] if c != "received_at" else stamp(row[c]) for c in PRESS_COLUMNS] for row in rows])
    _autocommit(journal, _APPEND, (payload,))


def _autocommit(journal: Engine, sql: str, params: Sequence[Any]) -> None:
    """One statement, its own transaction: run on the driver's connection, which issues no
    BEGIN of its own (the engine's connections are in the driver's autocommit mode)."""
    connection = journal.raw_connection()
    try:
        connection.driver_connection.execute(sql, params)  # type: ignore[union-attr]
    finally:
        connection.close()


@functools.cache
def _stamp(journal: Engine) -> Any:
    """How the journal's `received_at` column stores a datetime (as SQLAlchemy would)."""
    return Press.__table__.c.received_at.type.dialect_impl(journal.dialect).bind_processor(journal.dialect)


def _open(bind: Any, path: str) -> Engine:
    """Create the journal's tables if need be and raise its ids above every mark, in one
    transaction on the journal (the marks read first): no press is stored in between."""
    with read_only_engine(bind).connect() as conn:
        floor = conn.scalar(select(func.max(ReviewRequest.applied_press_id))) or 0
    journal = make_engine(f"sqlite:///{path}")
    try:
        with journal.begin() as conn:
            for ddl in _DDL:
                conn.exec_driver_sql(ddl)
            seq = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'presses'").scalar()
            if seq is None:
                conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('presses', ?)", (floor,))
            elif seq < floor:
                conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = 'presses'", (floor,))
    except BaseException:
        journal.dispose()
        raise
    return journal


class Waiting:
    """The presses waiting on the database of session `s`, wherever they are kept.

    `read()` runs a statement on `presses`; `done(requests, rows)` marks the rows applied in
    `s`'s transaction: deleted in it, or, in a journal, below their request's new mark, and
    deleted from the journal once the transaction is committed (if that fails, the next
    round deletes them).
    """

    def __init__(self, s: Session) -> None:
        self._s = s
        self.journal = journal_of(s.get_bind())

    def read(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        if self.journal is None:
            return list(self._s.scalars(stmt, params))
        with Session(read_only_engine(self.journal), expire_on_commit=False) as js:
            return list(js.scalars(stmt, params))

    def adopt(self) -> None:
        """Move presses waiting in the database's own `presses` table into the journal (stored
        there by a cxbot from before the journal, still running during a reload), in their
        order, in a transaction of `s` that this commits, before `s` does anything else. The
        rows are deleted from the table under the database's write lock, and those the
        journal took already (a crash before that deletion committed) are not taken twice."""
        if self.journal is None:
            return
        with read_only_engine(self._s.get_bind()).connect() as conn:  # looking takes no lock
            if conn.scalar(_ANY_LEFT) is None:
                return
        rows = self._s.execute(select(Press.__table__).order_by(Press.id)).mappings().all()
        with self.journal.begin() as conn:
            taken = set(conn.scalars(select(_MOVED.c.main_id).where(_MOVED.c.main_id.in_([r["id"] for r in rows]))))
            new = [r for r in rows if r["id"] not in taken]
            if new:
                conn.execute(insert(Press.__table__), [{k: v for k, v in r.items() if k != "id"} for r in new])
                conn.execute(insert(_MOVED), [{"main_id": r["id"]} for r in new])
        self._s.execute(delete(Press.__table__).where(Press.id.in_([r["id"] for r in rows])))
        self._s.commit()
        log.info("moved %d presses from the database's table to its journal", len(new))

    def drop_orphans(self, ids: Collection[int], requests: Collection[ReviewRequest]) -> bool:
        """In a journal, presses naming a request the database does not have (the journal
        outlived a restore of an older database) are logged and deleted, so they hold up no
        round; True if there were some. Only where a round is given every request it asks
        for, which SQLite always does (no replicas there)."""
        if self.journal is None:
            return False
        gone = set(ids) - {r.id for r in requests}
        if not gone:
            return False
        log.error("presses on reviews %s, which the database does not have, are dropped", sorted(gone))
        with self.journal.begin() as conn:
            conn.execute(delete(Press).where(Press.request_id.in_(sorted(gone))))
        return True

    def count(self) -> tuple[int, Any]:
        """How many presses wait (applied ones not deleted yet included), and when the oldest came."""
        if self.journal is None:
            return tuple(self._s.execute(_COUNT).one())  # type: ignore[return-value]
        with read_only_engine(self.journal).connect() as conn:
            return tuple(conn.execute(_COUNT).one())  # type: ignore[return-value]

    def fresh(self, requests: Collection[ReviewRequest], rows: Sequence[Press]) -> list[Press]:
        """The rows not applied yet (in a journal, those above their request's mark)."""
        if self.journal is None:
            return list(rows)
        marks = {r.id: r.applied_press_id for r in requests}
        return [row for row in rows if row.id > marks.get(row.request_id, 0)]

    def of_request(self, request: ReviewRequest, limit: int | None = None) -> list[Press]:
        """The request's presses not applied yet, oldest first."""
        stmt = _OF_REQUEST if limit is None else _FIRST_OF_REQUEST if limit == 1 else _OF_REQUEST.limit(limit)
        return self.read(stmt, {"id": request.id, "after": self._mark(request)})

    def done(self, requests: Collection[ReviewRequest], rows: Sequence[Press]) -> None:
        if not rows:
            return
        if self.journal is None:
            self._s.execute(delete(Press).where(one_of(self._s, Press.id, [r.id for r in rows]))
                            .execution_options(synchronize_session=False))
            return
        forget = self._s.info.setdefault(_FORGET_KEY, [])
        if not forget:
            event.listen(self._s, "after_commit", self._forget, once=True)
            event.listen(self._s, "after_rollback", self._drop, once=True)
        forget.extend(r.id for r in rows)
        last: dict[int, int] = {}
        for row in rows:
            last[row.request_id] = max(row.id, last.get(row.request_id, 0))
        for request in requests:
            if last.get(request.id, 0) > request.applied_press_id:
                request.applied_press_id = last[request.id]

    def _forget(self, s: Session) -> None:
        ids = s.info.pop(_FORGET_KEY, [])
        if ids and self.journal is not None:
            try:
                _autocommit(self.journal, _FORGET, (json.dumps(ids),))
            except Exception:  # applied and committed: the next round deletes them
                log.warning("applied presses stay in the journal until the next round", exc_info=True)

    def _drop(self, s: Session) -> None:
        s.info.pop(_FORGET_KEY, None)

    def count_attempt(self, row: Press) -> None:
        """A press failed to apply once more (counted at once, whatever becomes of the transaction)."""
        row.attempts += 1
        if self.journal is not None:
            with self.journal.begin() as conn:
                conn.execute(update(Press).where(Press.id == row.id).values(attempts=row.attempts))

    def _mark(self, request: ReviewRequest) -> int:
        return request.applied_press_id if self.journal is not None else 0


_MOVED = Table("moved", MetaData(), Column("main_id", Integer, primary_key=True))
_ANY_LEFT = select(Press.id).limit(1)
_OF_REQUEST = select(Press).where(Press.request_id == bindparam("id"), Press.id > bindparam("after")).order_by(Press.id)
_FIRST_OF_REQUEST = _OF_REQUEST.limit(1)
_COUNT = select(func.count(), func.min(Press.received_at))
_FORGET = "DELETE FROM presses WHERE id IN (SELECT value FROM json_each(?))"
PRESS_COLUMNS = ("request_id", "user_id", "kind", "channel", "thread_ts", "received_at", "attempts")
_APPEND = (f"INSERT INTO presses ({', '.join(PRESS_COLUMNS)}) SELECT "
           + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(PRESS_COLUMNS)))
           + " FROM json_each(?) ORDER BY key")
