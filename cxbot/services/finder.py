"""Finding requests: the open requests of one's councils, what one owes and filed, and search.

A request is shown only to the people of its council (its departments' leads and advocates,
who include anyone standing in for an away advocate, its chair and admins), and to its filer.
Each answer is a list of `RequestLine`s read in a fixed number of queries, which the Block Kit
builders (cxbot.slack.blocks.lists) and App Home render.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.errors import NotAllowed
from cxbot.domain.model import Status
from cxbot.i18n import N_
from cxbot.services.reminders import owed_by
from cxbot.store import search as index
from cxbot.store.models import Council, Department, Membership, ReviewRequest, SlackMessage
from cxbot.store.uow import UnitOfWork

OPEN = [s for s in Status if not s.is_final]
PAGE = 10          # requests a page of `list`
MAX_PAGE = 1000    # beyond it, a page is empty whatever the council holds
SHOWN = 20         # requests `mine` shows of each kind, and `search` at most
OUTSIDER = N_("Only council members can look up requests.")


@dataclass(frozen=True)
class RequestLine:
    """A request as a list shows it: enough to recognise it and open its thread."""

    id: int
    title: str
    department: str              # the filing department's name
    status: Status
    due_at: datetime
    decided_at: datetime | None
    timezone: str                # its council's, for clients that cannot show a date in the reader's
    permalink: str               # its parent message in the council channel ("" before it is posted)
    on_behalf_of: str | None = None  # in `mine`: the away advocate the reader answers for


@dataclass(frozen=True)
class Page:
    lines: tuple[RequestLine, ...]
    number: int
    more: bool                   # another page follows


@dataclass(frozen=True)
class Mine:
    owed: tuple[RequestLine, ...]
    owed_total: int
    filed: tuple[RequestLine, ...]
    filed_total: int


def member_councils(s: Session, user: str) -> set[int]:
    """The councils `user` is one of the people of: an active role in one of its active
    departments, or its chair or an admin. Two queries, however many councils."""
    councils = set(s.scalars(select(Department.council_id).join(Membership, Membership.department_id == Department.id)
                             .where(Membership.user_id == user, Membership.active.is_(True),
                                    Department.active.is_(True))))
    for council_id, chair, admins in s.execute(select(Council.id, Council.chair, Council.admins)):
        if chair == user or user in (admins or ()):
            councils.add(council_id)
    return councils


def _lines() -> Select[tuple[int, str, str, Status, datetime, datetime | None, str, str | None]]:
    return (select(ReviewRequest.id, ReviewRequest.title, Department.name, ReviewRequest.status,
                   ReviewRequest.due_at, ReviewRequest.decided_at, Council.timezone, SlackMessage.permalink)
            .join(Department, Department.id == ReviewRequest.department_id)
            .join(Council, Council.id == Department.council_id)
            .outerjoin(SlackMessage, (SlackMessage.request_id == ReviewRequest.id) & (SlackMessage.role == "parent")))


def _line(row: Sequence[object], on_behalf_of: str | None = None) -> RequestLine:
    rid, title, department, status, due_at, decided_at, timezone, permalink = row
    return RequestLine(rid, title, department, status, due_at, decided_at, timezone,  # type: ignore[arg-type]
                       permalink or "", on_behalf_of)  # type: ignore[arg-type]


def lines_of(s: Session, request_ids: Sequence[int], on_behalf_of: dict[int, str | None] | None = None
             ) -> tuple[RequestLine, ...]:
    """The lines of these requests, in the order given."""
    if not request_ids:
        return ()
    found = {row[0]: row for row in s.execute(_lines().where(ReviewRequest.id.in_(list(request_ids))))}
    return tuple(_line(found[i], (on_behalf_of or {}).get(i)) for i in request_ids if i in found)


def _councils(s: Session, actor: str) -> set[int]:
    councils = member_councils(s, actor)
    if not councils:
        raise NotAllowed(OUTSIDER)
    return councils


def open_requests(uow: UnitOfWork, *, actor: str, page: int = 1, size: int = PAGE) -> Page:
    """Page `page` (from 1) of the open requests of the actor's councils, newest first."""
    with uow:
        s = uow.session
        councils = _councils(s, actor)
        if page > MAX_PAGE:
            return Page((), page, False)
        rows = s.execute(_lines().where(Department.council_id.in_(councils), ReviewRequest.status.in_(OPEN))
                         .order_by(ReviewRequest.created_at.desc(), ReviewRequest.id.desc())
                         .offset((page - 1) * size).limit(size + 1)).all()
        return Page(tuple(_line(r) for r in rows[:size]), page, len(rows) > size)


def mine(uow: UnitOfWork, *, actor: str, clock: Clock, shown: int = SHOWN) -> Mine:
    """What the actor owes an answer on now, soonest deadline first (as the daily reminder
    reckons it), and the requests they filed, newest first."""
    with uow:
        s = uow.session
        owed = owed_by(s, actor, clock.now())
        owed_lines = lines_of(s, [o.request_id for o in owed[:shown]],
                              {o.request_id: o.on_behalf_of for o in owed})
        filed = _lines().where(ReviewRequest.filer == actor)
        rows = s.execute(filed.order_by(ReviewRequest.created_at.desc(), ReviewRequest.id.desc()).limit(shown)).all()
        total = s.scalar(select(func.count()).select_from(ReviewRequest).where(ReviewRequest.filer == actor)) or 0
        return Mine(owed_lines, len(owed), tuple(_line(r) for r in rows), total)


def search(uow: UnitOfWork, *, actor: str, words: Collection[str], limit: int = SHOWN) -> tuple[RequestLine, ...]:
    """The requests of the actor's councils whose title, description, objections or comments
    hold every word (`search_words`), best match first."""
    with uow:
        s = uow.session
        councils = _councils(s, actor)
        return lines_of(s, index.ranked(s.connection(), list(words), councils, limit))
