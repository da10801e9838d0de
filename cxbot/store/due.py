"""When the sweep next looks at a request (`review_requests.next_due_at`), kept by flush
listeners on every session: any change of a request, its votes or holds, or of the
councils' people and rules, makes the requests it can touch due at the next sweep.

Imported by cxbot.store.models, so the listeners are registered whenever the tables are."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from cxbot.store.models import Council, Department, Hold, Membership, Person, ReviewRequest, Routing, Substitute, Vote

# "Look at it at the next sweep": earlier than any real instant, so the sweep's range scan on
# `next_due_at` finds it first.
DUE_NOW = datetime(1970, 1, 1, tzinfo=UTC)


def schedule(request: ReviewRequest, at: datetime | None) -> None:
    """Set when the sweep next looks at `request` (what the sweep worked out), kept by the
    flush instead of the `DUE_NOW` that any other change of the request sets."""
    request.next_due_at = at
    request.__dict__["_scheduled"] = True


@event.listens_for(Session, "before_flush")
def _count_vote_changes(session: Session, _context: Any, _instances: Any) -> None:
    """A flush that adds, changes or deletes votes raises their requests' `votes_revision`.
    On every session, so no use case can change a vote without it; every use case that
    changes votes holds its request's lock, so two never raise it from the same value.

    Any change of a request, its votes or its holds also makes it due at the next sweep
    (`DUE_NOW`; None once decided), which works out when it is due after that: no use case
    has to know what the sweep does with it."""
    changed: set[int] = set()
    touched: set[int] = set()
    requests: list[ReviewRequest] = []
    for objs in (session.new, session.dirty, session.deleted):
        for obj in objs:
            if isinstance(obj, Vote):
                changed.add(obj.request_id)
            elif isinstance(obj, Hold):
                touched.add(obj.request_id)
            elif isinstance(obj, ReviewRequest) and obj not in session.deleted:
                requests.append(obj)
    with session.no_autoflush:
        for request_id in changed:
            request = session.get(ReviewRequest, request_id) if request_id is not None else None
            if request is not None and request not in session.deleted:
                request.votes_revision = (request.votes_revision or 0) + 1
        for request_id in changed | touched:
            request = session.get(ReviewRequest, request_id) if request_id is not None else None
            if request is not None and request not in session.deleted:
                requests.append(request)
        for request in {id(r): r for r in requests}.values():
            if request.__dict__.pop("_scheduled", False):
                continue
            if request in session.new or request.id in changed or request.id in touched \
                    or session.is_modified(request):
                due = None if request.status is not None and request.status.is_final else DUE_NOW
                if request.next_due_at != due:
                    request.next_due_at = due


@event.listens_for(Session, "after_flush")
def _wake_on_council_changes(session: Session, _context: Any) -> None:
    """Who is reminded when, and who is waited for, also hang on the council's people and
    rules: a change there makes the open requests it can touch due at the next sweep (a
    stand-in, those routed to its department; a person's time zone, those routed to the
    departments they advocate for or stand in for; a council's people, departments and rules,
    the open requests of that council, never another's). A person merely looked up (someone
    who typed a command, say) wakes nothing they cannot be asked about."""
    councils: set[int] = set()
    departments: set[int] = set()
    people: set[str] = set()
    changed_seats: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Substitute):
            departments.add(obj.department_id)
        elif isinstance(obj, Membership | Department):
            if obj in session.new or obj in session.deleted or session.is_modified(obj):
                if isinstance(obj, Department):
                    councils.add(obj.council_id)
                else:
                    changed_seats.add(obj.department_id)
        elif isinstance(obj, Council):
            state = inspect(obj)
            if any(state.attrs[key].history.has_changes() for key in ("policy", "working_time", "timezone", "chair")):
                councils.add(obj.id)
        elif isinstance(obj, Person):
            if obj in session.new or inspect(obj).attrs.timezone.history.has_changes():
                people.add(obj.user_id)
    if not (councils or departments or people or changed_seats):
        return
    table = ReviewRequest.__table__
    touched = None
    if people:
        departments_of = select(Membership.department_id).where(
            Membership.user_id.in_(people), Membership.active.is_(True))
        standing_in = select(Substitute.department_id).where(Substitute.substitute.in_(people),
                                                             Substitute.cancelled_at.is_(None))
        touched = table.c.id.in_(select(Routing.request_id).where(
            Routing.department_id.in_(departments_of.union(standing_in))))
    if departments:
        routed = table.c.id.in_(select(Routing.request_id).where(Routing.department_id.in_(departments)))
        touched = routed if touched is None else touched | routed
    if councils or changed_seats:
        council_of_seats = select(Department.council_id).where(Department.id.in_(changed_seats))
        in_council = table.c.department_id.in_(select(Department.id).where(
            Department.council_id.in_(council_of_seats) | Department.council_id.in_(councils)))
        touched = in_council if touched is None else touched | in_council
    assert touched is not None
    session.connection().execute(
        update(table).where(table.c.next_due_at.is_not(None), touched).values(next_due_at=DUE_NOW))
