"""The council's record as files: requests, routings, votes, objections, comments, decisions
and the audit trail, one file each, as CSV or JSON Lines (`cxbot export`).

Each file's columns are fixed (`TABLES`; the README has the table): what is added later goes
at the end, so scripts reading a column by position keep working. Rows are read through a
streaming cursor (`yield_per`: a server-side cursor on PostgreSQL, SQLite's own stepping)
and written one at a time, so millions of votes export in bounded memory. Every file is read
in one transaction (REPEATABLE READ on PostgreSQL, a read transaction on SQLite): the files
agree with each other even while the council votes.

Values: times in UTC ISO 8601 (`2026-11-23T09:00:00Z`), dates ISO (`2026-12-03`), people
as Slack user ids with the name cxbot last read from Slack beside the main ones. In CSV, a
list of words is joined by `; `, a structure (a comment's files, a decision's dissent, an
audit event's data) is JSON text, true/false are `true`/`false`, nothing is an empty cell;
and a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, which a
spreadsheet would run as a formula, gets a leading `'` (`csv_cell`). JSON Lines carries
the same keys with JSON's own values (arrays, objects, true/false, null), untouched.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import IO, Any

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import Session, aliased

from cxbot.domain.model import VoteKind
from cxbot.store.models import AuditEvent, Comment, Council, Department, Person, ReviewRequest, Routing, Vote

FORMATS = ("csv", "jsonl")
BATCH = 1000
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
# The audit events that close a request: a decision (approved, rejected, expired) or a withdrawal.
CLOSING = ("decided", "withdrawn")


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: text starting like a formula gets a leading `'`."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


@dataclass(frozen=True)
class Scope:
    """What to export: requests filed on or after `since` (midnight UTC) and their rows, audit
    events at or after it; only the council `council_id` (key `council`) when given."""

    since: datetime | None = None
    council_id: int | None = None
    council: str | None = None


def since_date(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Table:
    """One file: its columns, the query that reads them in order, and `shape`, which turns a
    row read into the row written (or None to leave it out) where SQL alone cannot."""

    name: str
    columns: tuple[str, ...]
    query: Callable[[Scope], Select[Any]]
    shape: Callable[[Scope, Any], Sequence[Any] | None] | None = None


def _name() -> tuple[Any, Any]:
    """`Person` aliased for one user column: (the join target, its name column)."""
    person = aliased(Person)
    return person, person.name


def _of_requests(stmt: Select[Any], scope: Scope, request_id: Any) -> Select[Any]:
    """Rows of the requests in scope: `request_id` is the row's request column."""
    if scope.since is None and scope.council_id is None:
        return stmt
    filed = aliased(ReviewRequest)
    stmt = stmt.join(filed, filed.id == request_id)
    if scope.since is not None:
        stmt = stmt.where(filed.created_at >= scope.since)
    if scope.council_id is not None:
        filing = aliased(Department)
        stmt = stmt.join(filing, filing.id == filed.department_id).where(filing.council_id == scope.council_id)
    return stmt


def _requests(scope: Scope) -> Select[Any]:
    filer, filer_name = _name()
    stmt = (select(ReviewRequest.id, Council.key, Department.key, ReviewRequest.filer, filer_name,
                   ReviewRequest.title, ReviewRequest.summary, ReviewRequest.stages, ReviewRequest.impact,
                   ReviewRequest.impact_note, ReviewRequest.magnitude, ReviewRequest.decision_by, ReviewRequest.link,
                   ReviewRequest.status, ReviewRequest.created_at, ReviewRequest.updated_at,
                   ReviewRequest.decided_at, ReviewRequest.due_at, ReviewRequest.escalation_step,
                   ReviewRequest.version, ReviewRequest.revises_id, ReviewRequest.moments,
                   ReviewRequest.customer_minutes, ReviewRequest.customers_per_month, ReviewRequest.steps,
                   ReviewRequest.warning_signs, ReviewRequest.go_live, ReviewRequest.related)
            .join(Department, Department.id == ReviewRequest.department_id)
            .join(Council, Council.id == Department.council_id)
            .outerjoin(filer, filer.user_id == ReviewRequest.filer)
            .order_by(ReviewRequest.id))
    if scope.since is not None:
        stmt = stmt.where(ReviewRequest.created_at >= scope.since)
    if scope.council_id is not None:
        stmt = stmt.where(Department.council_id == scope.council_id)
    return stmt


def _routings(scope: Scope) -> Select[Any]:
    stmt = (select(Routing.request_id, Department.key, Routing.position, Routing.reason, Routing.answered_at)
            .join(Department, Department.id == Routing.department_id)
            .order_by(Routing.request_id, Routing.position))
    return _of_requests(stmt, scope, Routing.request_id)


def _votes(scope: Scope) -> Select[Any]:
    person, name = _name()
    approve = Vote.kind == VoteKind.APPROVE
    stmt = (select(Vote.id, Vote.request_id, Department.key, Vote.user_id, name, Vote.on_behalf_of, Vote.kind,
                   case((approve, ""), else_=Vote.note), case((approve, Vote.note), else_=""), Vote.retracted,
                   Vote.cast_at, Vote.updated_at, Vote.condition_met_at, Vote.condition_met_by)
            .join(Department, Department.id == Vote.department_id)
            .outerjoin(person, person.user_id == Vote.user_id)
            .order_by(Vote.id))
    return _of_requests(stmt, scope, Vote.request_id)


def _objections(scope: Scope) -> Select[Any]:
    person, name = _name()
    stmt = (select(Vote.id, Vote.request_id, Department.key, Vote.user_id, name, Vote.on_behalf_of, Vote.blocking,
                   Vote.note, Vote.mitigation, Vote.retracted, Vote.cast_at, Vote.updated_at, Vote.resolution,
                   Vote.resolved_by, Vote.resolved_at, Vote.resolution_note)
            .join(Department, Department.id == Vote.department_id)
            .outerjoin(person, person.user_id == Vote.user_id)
            .where(Vote.kind == VoteKind.OBJECT)
            .order_by(Vote.id))
    return _of_requests(stmt, scope, Vote.request_id)


def _comments(scope: Scope) -> Select[Any]:
    person, name = _name()
    stmt = (select(Comment.id, Comment.request_id, Comment.user_id, name, Comment.text, Comment.files,
                   Comment.created_at, Comment.edited_at)
            .outerjoin(person, person.user_id == Comment.user_id)
            .where(Comment.deleted_at.is_(None))   # deleted in Slack: only the audit trail keeps it
            .order_by(Comment.id))
    return _of_requests(stmt, scope, Comment.request_id)


def _events(scope: Scope, *, closing: bool) -> Select[Any]:
    person, name = _name()
    stmt = (select(AuditEvent.id, AuditEvent.request_id, AuditEvent.at, AuditEvent.actor, name, AuditEvent.kind,
                    AuditEvent.data)
            .outerjoin(person, person.user_id == AuditEvent.actor)
            .order_by(AuditEvent.id))
    if closing:   # a decision belongs to its request: filed since, of the council
        return _of_requests(stmt.where(AuditEvent.kind.in_(CLOSING)), scope, AuditEvent.request_id)
    if scope.since is not None:
        stmt = stmt.where(AuditEvent.at >= scope.since)
    if scope.council_id is not None:
        filed, filing = aliased(ReviewRequest), aliased(Department)
        stmt = (stmt.outerjoin(filed, filed.id == AuditEvent.request_id)
                .outerjoin(filing, filing.id == filed.department_id)
                .where(or_(filing.council_id == scope.council_id, AuditEvent.request_id.is_(None))))
    return stmt


def _decision(_scope: Scope, row: Any) -> Sequence[Any]:
    event_id, request_id, at, actor, name, kind, data = row
    return (event_id, request_id, at, data.get("status", "withdrawn" if kind == "withdrawn" else ""),
            data.get("previous", ""), actor, name, bool(data.get("by_chair", False)), data.get("rationale", ""),
            data.get("dissent", []), data.get("outstanding", []))


def _event(scope: Scope, row: Any) -> Sequence[Any] | None:
    # With --council, an event of no request (a council loaded, a digest sent) is the
    # council's when its data names it.
    if scope.council is not None and row[1] is None and row[6].get("council") != scope.council:
        return None
    return row


TABLES: tuple[Table, ...] = (
    Table("requests", ("request_id", "council", "department", "filer", "filer_name", "title", "summary", "stages",
                       "impact", "impact_note", "magnitude", "decision_by", "link", "status", "created_at",
                       "updated_at", "decided_at", "due_at", "escalation_step", "version", "revises", "moments",
                       "customer_minutes", "customers_per_month", "steps", "warning_signs", "go_live", "related"),
          _requests),
    Table("routings", ("request_id", "department", "position", "reason", "answered_at"), _routings),
    Table("votes", ("vote_id", "request_id", "department", "user", "user_name", "on_behalf_of", "kind", "reason",
                    "condition", "retracted", "cast_at", "updated_at", "condition_met_at", "condition_met_by"),
          _votes),
    Table("objections", ("vote_id", "request_id", "department", "user", "user_name", "on_behalf_of", "blocking",
                         "reason", "mitigation", "retracted", "raised_at", "updated_at", "resolution", "resolved_by",
                         "resolved_at", "resolution_note"), _objections),
    Table("comments", ("comment_id", "request_id", "user", "user_name", "text", "files", "created_at",
                       "edited_at"), _comments),
    Table("decisions", ("event_id", "request_id", "decided_at", "outcome", "previous_status", "decided_by",
                        "decided_by_name", "by_chair", "rationale", "dissent", "outstanding"),
          lambda scope: _events(scope, closing=True), _decision),
    Table("audit", ("event_id", "request_id", "at", "actor", "actor_name", "kind", "data"),
          lambda scope: _events(scope, closing=False), _event),
)


def rows(session: Session, table: Table, scope: Scope, batch: int = BATCH) -> Iterator[Sequence[Any]]:
    """The table's rows in order, `batch` at a time from a streaming cursor."""
    result = session.execute(table.query(scope).execution_options(yield_per=batch))
    for row in result:
        shaped = table.shape(scope, row) if table.shape is not None else row
        if shaped is not None:
            yield shaped


# --- values ---------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A time, date or enum as JSON has it (the JSON encoder calls this for what it cannot write)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not exported")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return csv_cell(value)
    if isinstance(value, int | float):
        return str(value)          # a number, never a formula: no guard ("-3.5" stays a number)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return csv_cell("; ".join(value))
    if isinstance(value, list | dict):
        return csv_cell(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if isinstance(value, Enum):
        return csv_cell(value.value)
    return csv_cell(_json_value(value))


class _CsvFile:
    """RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, a quote
    or a line break; UTF-8 with a byte-order mark, so spreadsheets read the accents right."""

    def __init__(self, f: IO[str], columns: Sequence[str]) -> None:
        f.write("\ufeff")
        self._writer = csv.writer(f, lineterminator="\r\n")
        self._writer.writerow(columns)

    def write(self, row: Sequence[Any]) -> None:
        self._writer.writerow([_csv_value(v) for v in row])


class _JsonLinesFile:
    def __init__(self, f: IO[str], columns: Sequence[str]) -> None:
        self._f, self._columns = f, columns

    def write(self, row: Sequence[Any]) -> None:
        # Text and enums of text go as they are; times, dates and other enums through `_json_value`.
        self._f.write(json.dumps(dict(zip(self._columns, row, strict=True)), ensure_ascii=False,
                                 default=_json_value))
        self._f.write("\n")


@dataclass(frozen=True)
class Written:
    path: str
    rows: int


class OutError(Exception):
    """The directory cannot take the files (not a directory, not writable)."""


def writable_directory(out: str) -> None:
    """Make `out` if missing and check a file can be made in it, before anything is read."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutError(f"{out}: not a directory")
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise OutError(f"{out}: cannot write there ({exc.strerror})") from None


def export(session: Session, scope: Scope, out: str, fmt: str, *, batch: int = BATCH) -> list[Written]:
    """Write every table into `out` as `<name>.csv` or `<name>.jsonl`. Each file is written
    under a temporary name and all are renamed at the end: a failure leaves none behind."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    kind = _CsvFile if fmt == "csv" else _JsonLinesFile
    done: list[tuple[str, str, int]] = []
    try:
        for table in TABLES:
            path = os.path.join(out, f"{table.name}.{fmt}")
            partial = os.path.join(out, f".{table.name}.{fmt}.partial")
            done.append((partial, path, 0))
            count = 0
            # newline="": the csv module writes its own CRLF; JSON Lines writes "\n" itself.
            with open(partial, "w", encoding="utf-8", newline="") as f:
                writer = kind(f, table.columns)
                for row in rows(session, table, scope, batch):
                    writer.write(row)
                    count += 1
            done[-1] = (partial, path, count)
        for partial, path, _ in done:
            os.replace(partial, path)
    except BaseException:
        for partial, _, _ in done:
            if os.path.exists(partial):
                os.remove(partial)
        raise
    return [Written(path, count) for _, path, count in done]
