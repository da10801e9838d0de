"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production, replicas).

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
`BEGIN IMMEDIATE`: pysqlite's deferred transactions would otherwise fail with
"database is locked" when two writers upgrade their read locks at once, which a busy
timeout cannot resolve. Foreign keys are enforced on every SQLite connection.

Writers to one SQLite file queue on a lock before `BEGIN IMMEDIATE`, across threads and
across processes (`cxbot serve` acknowledges in its web workers and applies votes in its
jobs worker; a `cxbot council load` may run beside it): SQLite's own busy handler sleeps
and retries (1, 2, 5 … 100 ms), which serves waiting writers unfairly and leaves the
database idle between them, while a waiter on the lock file wakes the moment it is free.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

try:
    import fcntl
except ImportError:  # not on Windows: there, writers queue only within one process
    fcntl = None  # type: ignore[assignment]



def default_database_path(env: Mapping[str, str] | None = None) -> str:
    """Where the SQLite database lives when `CXBOT_DATABASE_URL` is not set: one fixed place per
    user, whatever directory a command runs from (the XDG base directory for data)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "cxbot", "cxbot.db")


def default_database_url(env: Mapping[str, str] | None = None, *, create: bool = True) -> str:
    """`sqlite:///` + `default_database_path()`, its directory made on first use."""
    path = default_database_path(env)
    if create:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    return f"sqlite:///{path}"


T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def make_quick_engine(engine: Engine) -> Engine | None:
    """PostgreSQL: a small pool in autocommit mode, without `pool_pre_ping`, for single
    statements on the way to an answer (storing vote presses before the acknowledgement,
    the `/cx-review` form's read before the modal opens): one round trip each, where the
    main pool's checkout ping, BEGIN and COMMIT cost three more, each waiting for a busy
    machine to schedule the server process.
    Whoever uses it runs its statement through `once_more_if_dropped`. SQLite: None."""
    if engine.dialect.name != "postgresql":
        return None
    return create_engine(engine.url, pool_size=4, max_overflow=4, isolation_level="AUTOCOMMIT")


def once_more_if_dropped(work: Callable[[], T]) -> T:
    """Run `work`; if it failed because its connection had been dropped by the server (a
    restart since the pool last used it; the pool then reconnects), run it once more."""
    try:
        return work()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return work()


READ_ONLY = "cxbot_read_only"


_background = threading.local()


def one_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, which on PostgreSQL is `column = ANY(:values)`: one array
    parameter, so the statement's text is the same whatever the number of values. An IN
    list is one parameter a value, and psycopg parses a statement of more than 50
    parameters anew on every execution (a round of presses spent a tenth of its time there)."""
    if _on_postgresql(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def pair_of(session: Session, columns: tuple[Any, Any], pairs: Collection[tuple[Any, Any]]) -> ColumnElement[bool]:
    """`(a, b) IN (pairs)`, which on PostgreSQL reads the pairs from two arrays (see `one_of`)."""
    a, b = columns
    if _on_postgresql(session):
        firsts, seconds = [p[0] for p in pairs], [p[1] for p in pairs]
        return tuple_(a, b).in_(select(func.unnest(bindparam(None, firsts, type_=ARRAY(a.type))),
                                       func.unnest(bindparam(None, seconds, type_=ARRAY(b.type)))))
    return tuple_(a, b).in_(list(pairs))


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows with the same keys in one statement, straight to the driver (no ORM
    objects): on PostgreSQL from one array a column (`INSERT … SELECT unnest(…), …`, see
    `one_of`: psycopg sends an executemany a row at a time), on SQLite as an executemany."""
    if not rows:
        return
    defaults = {c.name: c.default.arg for c in table.columns    # type: ignore[attr-defined]
                if c.name not in rows[0] and c.default is not None and c.default.is_scalar}
    if defaults:
        rows = [{**row, **defaults} for row in rows]
    if _on_postgresql(session):
        columns = list(rows[0])
        values = []
        for c in columns:
            column = [row[c] for row in rows]
            first = column[0]
            if all(v == first for v in column):   # the same in every row (a day, a kind): sent once
                values.append(bindparam(None, first, type_=table.c[c].type))
            else:
                values.append(func.unnest(bindparam(None, column, type_=ARRAY(table.c[c].type))))
        session.connection().execute(insert(table).from_select(columns, select(*values)))
    else:
        # As the driver takes them, each value through its column's bind processor (once for
        # a value every row shares): SQLAlchemy's executemany costs ~10 µs a row more.
        dialect = session.get_bind().dialect
        columns = list(rows[0])
        quoted = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
        values = []
        for c in columns:
            process = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)   # SQLite's own formats
            column = [row[c] for row in rows]
            first = column[0]
            if all(v == first for v in column):
                column = [process(first) if process else first] * len(column)
            elif process is not None:
                column = [process(v) for v in column]
            values.append(column)
        session.connection().exec_driver_sql(
            f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join('?' * len(columns))})",
            list(zip(*values, strict=True)))


def driver_rows(connection: Connection, statement: Executable) -> list[tuple[Any, ...]]:
    """The rows of a query as the driver gives them (tuples; on SQLite booleans as 0/1 and
    times as text), without SQLAlchemy's row objects and result processing: for the
    hundreds of thousands of rows a big council's morning sweep reads (about 1 µs a row)."""
    result = connection.execute(statement)
    try:
        return result.cursor.fetchall()  # type: ignore[no-any-return]
    finally:
        result.close()


def update_rows(session: Session, table: Table, column: str, values: Mapping[Any, Any]) -> None:
    """Set `column` of the rows whose `id` is each key of `values` to its value, in one
    statement (on PostgreSQL from two arrays, see `insert_rows`; on SQLite an executemany)."""
    if not values:
        return
    if _on_postgresql(session):
        ids = func.unnest(bindparam(None, list(values), type_=ARRAY(table.c.id.type))).label("id")
        news = func.unnest(bindparam(None, list(values.values()), type_=ARRAY(table.c[column].type))).label("new")
        given = select(ids, news).subquery()
        session.connection().execute(update(table).where(table.c.id == given.c.id).values({column: given.c.new}))
    else:   # as `insert_rows`: each value through the column's bind processor, once a distinct value
        dialect = session.get_bind().dialect
        process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        processed: dict[Any, Any] = {}
        for value in values.values():
            if value not in processed:
                processed[value] = process(value) if process is not None else value
        quote = dialect.identifier_preparer.quote
        session.connection().exec_driver_sql(
            f"UPDATE {quote(table.name)} SET {quote(column)} = ? WHERE id = ?",
            [(processed[value], key) for key, value in values.items()])


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def background_writes() -> None:
    """Mark this thread's writes as background work (the press, outbox and schedule workers):
    on SQLite they give way to writers an acknowledgement is waiting for."""
    _background.on = True


class WriterLock:
    """One writer at a time on a SQLite file: a lock among this process's threads, then an
    exclusive `flock` on `<database>-writer.lock` among processes (none for an in-memory
    database). The lock files are opened per process (a forked child must not share its
    parent's open files, whose `flock`s it would share too).

    Acknowledgements go first: a writer on the acknowledgement path holds a shared `flock`
    on `<database>-writer.lock.urgent` while it waits, and a background writer waits (up to
    `GIVE_WAY` seconds) until nobody does before it asks for the lock. So the next write
    after a round is a waiting group of presses, not the next round or outbox delivery.
    """

    GIVE_WAY = 0.05

    def __init__(self, database: str | None, *, give_way: float = GIVE_WAY) -> None:
        self._path = f"{database}-writer.lock" if database and database != ":memory:" else None
        self._give_way_for = give_way
        self._threads = threading.RLock()
        self._depth = 0
        self._fds: tuple[int, int] | None = None
        self._pid = 0

    def acquire(self) -> None:
        self._threads.acquire()
        if self._depth == 0 and self._path is not None and fcntl is not None:
            try:
                writer, urgent = self._files()
                if getattr(_background, "on", False):
                    self._give_way(urgent)
                    fcntl.flock(writer, fcntl.LOCK_EX)
                else:
                    fcntl.flock(urgent, fcntl.LOCK_SH)
                    try:
                        fcntl.flock(writer, fcntl.LOCK_EX)
                    finally:
                        fcntl.flock(urgent, fcntl.LOCK_UN)
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fds is not None and fcntl is not None:
            fcntl.flock(self._fds[0], fcntl.LOCK_UN)
        self._threads.release()

    def _give_way(self, urgent: int) -> None:
        deadline = time.monotonic() + self._give_way_for
        while True:
            try:
                fcntl.flock(urgent, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.001)
            else:
                fcntl.flock(urgent, fcntl.LOCK_UN)
                return

    def _files(self) -> tuple[int, int]:
        if self._fds is None or self._pid != os.getpid():
            assert self._path is not None
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            self._fds = (os.open(self._path, flags, 0o600), os.open(f"{self._path}.urgent", flags, 0o600))
            self._pid = os.getpid()
        return self._fds


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys; writers queue on the `WriterLock` before
    `BEGIN IMMEDIATE`; read-only units of work begin a plain deferred transaction and never
    wait for writers."""
    writers = WriterLock(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        writers.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.release()
            raise
        conn.info["cxbot_writer"] = True

    def _release(conn: Any) -> None:
        if conn.info.pop("cxbot_writer", False):
            writers.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def read_only_engine(engine: Engine) -> Engine:
    """The engine, for transactions that only read: on SQLite they never take the write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for use cases; `read_only` ones never take SQLite's write lock."""
    return sessionmaker(read_only_engine(engine) if read_only else engine, expire_on_commit=False)
