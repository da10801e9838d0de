"""Storing vote button presses before Slack is acknowledged, with group commit.

Each press must be committed before its acknowledgement goes out (a press Slack was told
about survives a crash), but a commit per press makes concurrent voters queue for the
database one by one (on SQLite, for its single write lock). So presses that arrive while
a commit is under way, or waits for the write lock, are written together: the first caller
to find no commit running begins a transaction, then takes everything waiting by then,
writes it in that transaction, and wakes the others once it is durable. Alone, a press
is written at once; under load, a commit carries many.

A batch that one press makes fail (on PostgreSQL, naming a request that does not exist
breaks a foreign key, and a value too long for its column is refused) is written again one
press at a time, so each caller gets its own answer.

On a SQLite file, presses are written to the journal beside the database
(`cxbot.store.journal`), whose write lock nothing else takes long; the journal has no
foreign key, so the request is looked up first (a read, which never waits on SQLite; a
request found once is remembered: requests are never deleted).

On PostgreSQL a batch is one INSERT (of one JSON array of rows, so the statement is the
same whatever the batch's size, and its one parameter costs little to encode) sent in
autocommit mode over a pool that does not ping before each checkout
(`cxbot.store.db.make_quick_engine`): one round trip and one WAL flush instead of four
round trips. A connection the server dropped (a restart) fails the first write on it, and
the batch is sent once more on a new one. If that failure hid a committed insert, the
press is stored twice, which is harmless: pressing the same button twice changes nothing
the second time (`cxbot.services.votes`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import DataError, IntegrityError

from cxbot.clock import Clock
from cxbot.domain.errors import InvalidInput, no_request
from cxbot.domain.model import VoteKind
from cxbot.i18n import N_
from cxbot.store.db import once_more_if_dropped, read_only_engine
from cxbot.store.journal import PRESS_COLUMNS, append, journal_of, journal_path
from cxbot.store.models import Press, ReviewRequest
from cxbot.store.uow import UnitOfWork

RETRACT = "retract"
PRESS_KINDS = (VoteKind.APPROVE.value, VoteKind.ABSTAIN.value, RETRACT)


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Waiting:
    row: dict[str, Any]
    done: bool = False
    error: BaseException | None = None
    # Released once, by a leader: when this press is written (`done`), or to make its
    # caller the next leader. One lock per caller, so each caller is woken once and alone:
    # with a shared condition every waiter woke at each commit and then queued for the
    # condition's lock, each handing it on only after getting Python's GIL back.
    wake: threading.Lock = field(default_factory=_held)


class PressIntake:
    """`receive()` returns once the press is committed; `on_stored` runs after each commit
    (it wakes the press worker). With `autocommit` (an engine in autocommit mode), batches
    are single statements on it instead of transactions of `uow`; where `database` (the
    engine of `uow`'s database) keeps a journal of presses, transactions on the journal."""

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock,
                 on_stored: Callable[[], None] | None = None, *, autocommit: Engine | None = None,
                 database: Engine | None = None) -> None:
        self._uow = uow
        self._autocommit = autocommit
        self._database = database if database is not None and journal_path(database) is not None else None
        self._requests = read_only_engine(database) if self._database is not None else None
        self._known: set[int] = set()
        self._clock = clock
        self._on_stored = on_stored
        self._mutex = threading.Lock()  # guards the queue and `_writing`; never held while waiting
        self._queue: list[_Waiting] = []
        self._writing = False

    def receive(self, *, actor: str, request_id: int, kind: str, channel: str, thread_ts: str | None) -> None:
        if kind not in PRESS_KINDS:
            raise InvalidInput({"action": N_("That button is not a vote.")})
        if self._requests is not None and request_id not in self._known:
            self._look_up(request_id)
        me = _Waiting({"request_id": request_id, "user_id": actor, "kind": kind, "channel": channel[:32],
                       "thread_ts": thread_ts, "received_at": self._clock.now(), "attempts": 0})
        with self._mutex:
            self._queue.append(me)
            lead = not self._writing  # nobody is writing: write everything waiting, this press included
            self._writing = True
        if not lead:
            me.wake.acquire()  # written by a leader, or handed the lead
            lead = not me.done
        if lead:
            self._lead()
        if me.error is not None:
            raise me.error

    def _lead(self) -> None:
        """Write what waits, hand the lead to the first caller that came meanwhile, then wake
        the callers whose presses were written."""
        batch: list[_Waiting] = []
        failure: BaseException = RuntimeError("the press was not stored")  # if the write is interrupted
        try:
            self._write(batch)
        except Exception as exc:
            failure = exc
        finally:
            if not batch:  # it failed before it took anything: fail what waits, leave nobody waiting
                batch.extend(self._take())
            with self._mutex:
                following = self._queue[0] if self._queue else None
                self._writing = following is not None
            if following is not None:
                following.wake.release()
            for w in batch:
                if not w.done:  # the batch failed as a whole
                    w.error, w.done = failure, True
                w.wake.release()
        if any(w.error is None for w in batch):  # after the waiters: waking the press worker is a system call
            self._stored()

    def _look_up(self, request_id: int) -> None:
        with self._requests.connect() as connection:  # type: ignore[union-attr]
            if connection.scalar(_EXISTS, {"id": request_id}) is None:
                raise no_request(request_id)
        self._known.add(request_id)

    def _take(self) -> list[_Waiting]:
        with self._mutex:
            batch, self._queue = self._queue, []
        return batch

    def _write(self, batch: list[_Waiting]) -> None:
        """Write what is waiting, into `batch`; if one press makes the batch fail, each on
        its own. Any other failure is raised, with what was taken in `batch`."""

        def take() -> list[_Waiting]:  # what was taken is known here even when the write fails
            batch.extend(self._take())
            return batch

        try:
            self._store(take)
        except (IntegrityError, DataError):  # one bad press must not fail the others
            for w in batch:
                try:
                    self._store(lambda w=w: [w])
                except IntegrityError:
                    w.error = no_request(w.row['request_id'])
                except Exception as exc:
                    w.error = exc
        for w in batch:
            w.done = True

    def _store(self, take: Callable[[], list[_Waiting]]) -> None:
        """Commit the presses `take()` returns. In a transaction they are taken once it has
        begun (on SQLite, once the write lock is held), so every press that arrived while it
        was awaited goes in; a journal takes them in one statement (`journal.append`)."""
        if self._autocommit is not None:
            batch = take()
            once_more_if_dropped(lambda: self._send([w.row for w in batch]))
        elif self._database is not None:
            journal = journal_of(self._database)
            assert journal is not None
            append(journal, [w.row for w in take()])
        else:
            with self._uow() as uow:
                connection = uow.session.connection()
                batch = take()
                connection.execute(insert(Press.__table__), [w.row for w in batch])
                uow.commit()

    def _send(self, rows: list[dict[str, Any]]) -> None:
        assert self._autocommit is not None
        payload = json.dumps([dict(row, received_at=row["received_at"].isoformat()) for row in rows])
        with self._autocommit.connect() as connection:
            connection.exec_driver_sql(PG_INSERT, {"rows": payload})

    def _stored(self) -> None:
        if self._on_stored is not None:
            self._on_stored()


_EXISTS = select(ReviewRequest.id).where(ReviewRequest.id == bindparam("id"))

# Text, not VARCHAR(n): storing into the table's VARCHAR(n) refuses an over-long value, where a
# cast to VARCHAR(n) would cut it. Sent as written (psycopg's own parameter style): nothing
# to compile, and the parameter is one string, which costs far less to send than arrays.
PRESS_TYPES = ("integer", "text", "text", "text", "text", "timestamptz", "integer")
PG_INSERT = (
    f"INSERT INTO {Press.__tablename__} ({', '.join(PRESS_COLUMNS)}) SELECT {', '.join(PRESS_COLUMNS)} "
    "FROM json_to_recordset(CAST(%(rows)s AS json)) AS pressed("
    + ", ".join(f"{column} {kind}" for column, kind in zip(PRESS_COLUMNS, PRESS_TYPES, strict=True)) + ")")
