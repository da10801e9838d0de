"""Filing and withdrawing review requests."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cxbot.clock import Clock
from cxbot.domain.drafts import draft_errors
from cxbot.domain.errors import Closed, InvalidInput, NotAllowed
from cxbot.domain.model import Draft, Role, Status
from cxbot.domain.permissions import filing_refusal, withdraw_refusal
from cxbot.domain.routing import DepartmentInfo, route
from cxbot.services import audit, notices
from cxbot.services.council import get_council, membership
from cxbot.services.readmodel import load_request
from cxbot.store.models import Department, Membership, ReviewRequest, Routing
from cxbot.store.uow import UnitOfWork


@dataclass(frozen=True)
class FilingForm:
    """What the filing modal offers this person."""

    departments: list[tuple[str, str]]  # (key, name) they may file for
    stages: tuple[str, ...]
    timezone: str


def filing_form(uow: UnitOfWork, user: str) -> FilingForm:
    """Raises NotAllowed (with whom to ask) for people who are neither leads nor advocates."""
    with uow:
        s = uow.session
        council = get_council(s)
        who = membership(s, user)
        refusal = filing_refusal(who, council.chair)
        if refusal:
            raise NotAllowed(refusal)
        mine = who.departments(Role.LEAD, Role.ADVOCATE)
        rows = s.execute(select(Department.key, Department.name).where(Department.key.in_(mine))
                         .order_by(Department.position))
        return FilingForm([(key, name) for key, name in rows], tuple(council.stages), council.timezone)


def file_request(uow: UnitOfWork, *, actor: str, draft: Draft, clock: Clock, view_id: str | None = None) -> int:
    """Validate, store, route and queue the announcement of a new request; returns its id.

    A modal submitted twice (same Slack view) files one request: the second call returns
    the first one's id.
    """
    now = clock.now()
    with uow:
        s = uow.session
        if view_id is not None:
            existing = s.scalar(select(ReviewRequest.id).where(ReviewRequest.source_view_id == view_id))
            if existing is not None:
                return existing
        council = get_council(s)
        who = membership(s, actor)
        refusal = filing_refusal(who, council.chair)
        if refusal:
            raise NotAllowed(refusal)
        today = now.astimezone(ZoneInfo(council.timezone)).date()
        errors = draft_errors(draft, today=today, departments=who.departments(Role.LEAD, Role.ADVOCATE),
                              stages=council.stages)
        if errors:
            raise InvalidInput(errors)

        counts: dict[int, int] = {
            dept_id: n for dept_id, n in s.execute(
                select(Membership.department_id, func.count())
                .where(Membership.role == Role.ADVOCATE, Membership.active.is_(True))
                .group_by(Membership.department_id)
            )
        }
        depts = s.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.position)).all()
        by_key = {d.key: d for d in depts}
        routes = route(draft.department, [DepartmentInfo(d.key, d.name, counts.get(d.id, 0)) for d in depts])
        if not routes:
            raise InvalidInput({"department": "No other department has advocates to review this yet."})

        request = ReviewRequest(
            department_id=by_key[draft.department].id, filer=actor, title=draft.title.strip(),
            summary=draft.summary.strip(), stages=list(draft.stages), impact=draft.impact,
            impact_note=draft.impact_note.strip(), magnitude=draft.magnitude, decision_by=draft.decision_by,
            link=draft.link.strip(), status=Status.OPEN, created_at=now, updated_at=now, decided_at=None,
            source_view_id=view_id,
        )
        request.routings = [
            Routing(department_id=by_key[r.department].id, position=i, reason=r.reason) for i, r in enumerate(routes)
        ]
        s.add(request)
        try:
            s.flush()
        except IntegrityError:
            # The same modal, submitted twice at once: the other submission won.
            s.rollback()
            return s.scalar(select(ReviewRequest.id).where(ReviewRequest.source_view_id == view_id))  # type: ignore[return-value]
        filed = audit.record(s, kind="filed", actor=actor, at=now, request_id=request.id,
                             department=draft.department, title=request.title)
        audit.record(s, kind="routed", actor="cxbot", at=now, request_id=request.id,
                     departments=[{"department": r.department, "reason": r.reason} for r in routes])
        notices.request_filed(s, request.id, filed, actor, now)
        uow.commit()
        return request.id


def withdraw(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> None:
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        refusal = withdraw_refusal(membership(s, actor), filer=request.filer)
        if refusal:
            raise NotAllowed(refusal)
        if request.status.is_final:
            raise Closed(f"This request is already {request.status.label.lower()}.")
        previous = request.status
        request.status, request.updated_at, request.decided_at = Status.WITHDRAWN, now, now
        event = audit.record(s, kind="withdrawn", actor=actor, at=now, request_id=request_id,
                             previous=previous.value)
        notices.thread_note(s, request_id, event, now)
        notices.refresh(s, request_id, now)
        uow.commit()
