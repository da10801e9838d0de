"""A request's record: everything that happened to it, in order, from the audit trail — filing,
routing and why, votes and their changes (and on whose behalf), objections and how they ended,
amendments with what changed, holds, escalations, the decision and its rationale, comments.

Read by the *View record* button; the same people may read it as may look a request up
(`requests.check_may_look`): its council's members and its filer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from cxbot.clock import Clock
from cxbot.services.readmodel import RequestView, request_view
from cxbot.services.requests import check_may_look
from cxbot.store.models import AuditEvent
from cxbot.store.uow import UnitOfWork

# A modal shows at most 100 blocks: a long record shows its first events and its latest.
SHOWN = 80
FIRST = 10


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Record:
    view: RequestView
    entries: tuple[Entry, ...]
    left_out: int = 0          # events between the first and the latest ones shown


def record(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> Record:
    with uow:
        s = uow.session
        check_may_look(s, actor, request_id)
        view = request_view(s, request_id, now=clock.now())
        total = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.request_id == request_id)) or 0
        of_request = select(AuditEvent).where(AuditEvent.request_id == request_id)
        if total <= SHOWN:
            events = list(s.scalars(of_request.order_by(AuditEvent.id)))
        else:
            first = list(s.scalars(of_request.order_by(AuditEvent.id).limit(FIRST)))
            latest = list(s.scalars(of_request.order_by(AuditEvent.id.desc()).limit(SHOWN - FIRST)))
            events = first + latest[::-1]
        entries = tuple(Entry(e.at, e.actor, e.kind, dict(e.data or {})) for e in events)
        return Record(view, entries, max(0, total - SHOWN))
