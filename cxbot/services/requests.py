"""Filing and withdrawing review requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.drafts import draft_errors
from cxbot.domain.errors import Closed, InvalidInput, NotAllowed, NotFound
from cxbot.domain.model import NOTE_MAX, Draft, Role, Status
from cxbot.domain.permissions import Membership as MembershipView
from cxbot.domain.permissions import (
    chair_refusal,
    filing_refusal,
    reopen_refusal,
    withdraw_refusal,
)
from cxbot.domain.policy import CouncilPolicy
from cxbot.domain.routing import DepartmentInfo, Route, route
from cxbot.services import audit, notices
from cxbot.services.council import COUNCIL_ID, NO_COUNCIL, council_rules, get_council, membership
from cxbot.services.lifecycle import (
    asked_again,
    current_tally,
    due_at,
    end_holds,
    filing_department_gone,
    restart_review,
    rules,
    seats,
    set_status,
    settle,
)
from cxbot.services.outbox import enqueue, request_lane
from cxbot.services.readmodel import NOTE_SECTIONS, RequestView, load_request, request_view
from cxbot.services.votes import Voter, lock_request, voter
from cxbot.store.db import once_more_if_dropped
from cxbot.store.models import Council, Department, Hold, Membership, ReviewRequest, Routing
from cxbot.store.uow import UnitOfWork


@dataclass(frozen=True)
class FilingForm:
    """What the filing modal offers this person."""

    departments: list[tuple[str, str]]  # (key, name) they may file for
    stages: tuple[str, ...]
    timezone: str


def filing_form(connect: Callable[[], Connection], user: str) -> FilingForm:
    """Raises NotAllowed (with whom to ask) for people who are neither leads nor advocates.

    One Core query on a connection from `connect` (a `Services.glance`): it runs on every
    `/cx-review`, between the acknowledgement and the modal, where the ORM would cost four
    times as much CPU."""

    def read() -> list[Any]:
        with connect() as connection:
            return list(connection.execute(_FORM, {"user": user}).all())

    rows = once_more_if_dropped(read)
    if not rows:
        raise NotFound(NO_COUNCIL)
    chair, admins, stages, timezone = rows[0][:4]
    who = MembershipView(user=user, roles=frozenset((r.key, r.role) for r in rows if r.key is not None),
                         is_chair=chair == user, is_admin=user in admins)
    refusal = filing_refusal(who, chair)
    if refusal:
        raise NotAllowed(refusal)
    mine = who.departments(Role.LEAD, Role.ADVOCATE)
    departments = list(dict.fromkeys((r.key, r.name) for r in rows if r.key in mine))
    return FilingForm(departments, tuple(stages), timezone)


_council, _membership, _department = Council.__table__, Membership.__table__, Department.__table__
# The council, with one person's active memberships in active departments joined on.
_FORM = (select(_council.c.chair, _council.c.admins, _council.c.stages, _council.c.timezone, _membership.c.role,
                _department.c.key, _department.c.name)
         .select_from(_council)
         .outerjoin(_membership, and_(_membership.c.user_id == bindparam("user"), _membership.c.active.is_(True)))
         .outerjoin(_department, and_(_department.c.id == _membership.c.department_id,
                                      _department.c.active.is_(True)))
         .where(_council.c.id == COUNCIL_ID)
         .order_by(_department.c.position))


def routes_for(s: Session, draft: Draft, policy: CouncilPolicy) -> tuple[list[Route], dict[str, Department]]:
    """The departments a draft is routed to (filing and amending), by department key. A
    department counts as able to answer only with advocates outside the filing department
    (cxbot.domain.permissions: nobody with a role in it reviews its change)."""
    depts = s.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.position)).all()
    by_key = {d.key: d for d in depts}
    filing = by_key.get(draft.department)
    counts = seats(s, [d.id for d in depts], filing.id if filing is not None else None)
    infos = [DepartmentInfo(d.key, d.name, counts.get(d.id, 0), tuple(d.stages)) for d in depts]
    assert draft.magnitude is not None
    routes = route(draft.department, infos, stages=draft.stages, magnitude=draft.magnitude, rules=policy.routing)
    return routes, {d.key: d for d in depts}


def file_request(uow: UnitOfWork, *, actor: str, draft: Draft, clock: Clock, view_id: str | None = None,
                 revises: int | None = None) -> int:
    """Validate, store, route and queue the announcement of a new request; returns its id.

    A modal submitted twice (same Slack view) files one request: the second call returns
    the first one's id. With `revises`, the new request is the revision of that withdrawn
    request, and each links to the other.
    """
    now = clock.now()
    with uow:
        s = uow.session
        revised = None
        if revises is not None:
            revised = load_request(s, revises, lock=True)
        council = get_council(s)
        policy, working_time = council_rules(council)
        who = membership(s, actor)
        refusal = filing_refusal(who, council.chair)
        if refusal:
            raise NotAllowed(refusal)
        if view_id is not None:
            existing = s.scalar(select(ReviewRequest).where(ReviewRequest.source_view_id == view_id))
            if existing is not None:
                if existing.filer != actor:
                    raise NotAllowed("This form was someone else's.")
                return existing.id
        if revised is not None:
            _check_revisable(s, actor, revised)
        errors = draft_errors(draft, today=working_time.local_date(now),
                              departments=who.departments(Role.LEAD, Role.ADVOCATE), stages=council.stages)
        if revised is not None and draft.department != revised.department.key and not errors:
            errors = {"department": f"A revision is filed for {revised.department.name}, as the request it revises."}
        if errors:
            raise InvalidInput(errors)
        routes, by_key = routes_for(s, draft, policy)
        if not routes:
            raise InvalidInput({"department": "No other department has advocates to review this yet."})
        assert draft.magnitude is not None and draft.decision_by is not None
        request = ReviewRequest(
            department_id=by_key[draft.department].id, filer=actor, title=draft.title.strip(),
            summary=draft.summary.strip(), stages=list(draft.stages), impact=draft.impact,
            impact_note=draft.impact_note.strip(), magnitude=draft.magnitude, decision_by=draft.decision_by,
            link=draft.link.strip(), status=Status.OPEN, created_at=now, updated_at=now, decided_at=None,
            due_at=due_at(filed=now, magnitude=draft.magnitude, decision_by=draft.decision_by, policy=policy,
                          working_time=working_time),
            escalation_step=0, version=1, source_view_id=view_id,
            revises_id=revised.id if revised is not None else None,
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
                             department=draft.department, title=request.title, due_at=request.due_at.isoformat(),
                             **({"revises": revised.id} if revised is not None else {}))
        audit.record(s, kind="routed", actor="cxbot", at=now, request_id=request.id,
                     departments=[{"department": r.department, "reason": r.reason} for r in routes])
        notices.request_filed(s, request.id, filed, actor, now)
        if revised is not None:
            _link_revision(s, revised, request, actor, now)
        uow.commit()
        return request.id


def _check_revisable(s: Session, actor: str, request: ReviewRequest) -> None:
    """A withdrawn request is revised by its filer, once."""
    if actor != request.filer:
        raise NotAllowed("Only the person who filed this request can file a revision of it.")
    if request.status is not Status.WITHDRAWN:
        raise Closed(f"Only a withdrawn request can be revised; this one is {request.status.label.lower()}.")
    later = s.scalar(select(ReviewRequest.id).where(ReviewRequest.revises_id == request.id))
    if later is not None:
        raise Closed(f"This request was revised already: CX review #{later}.")


@dataclass(frozen=True)
class RevisionForm:
    """The filing form, pre-filled from a withdrawn request, to file its revision."""

    request_id: int
    draft: Draft
    department: tuple[str, str]   # (key, name): a revision is filed for the same department
    stages: tuple[str, ...]


def revision_form(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> RevisionForm:
    """Refuses all but the filer of a withdrawn request not revised yet. A decision date
    already past is left for the filer to pick again."""
    with uow:
        s = uow.session
        request = load_request(s, request_id)
        _check_revisable(s, actor, request)
        council = get_council(s)
        _, working_time = council_rules(council)
        decision_by = request.decision_by if request.decision_by >= working_time.local_date(clock.now()) else None
        draft = Draft(title=request.title, summary=request.summary, department=request.department.key,
                      stages=tuple(request.stages), impact=request.impact, impact_note=request.impact_note,
                      magnitude=request.magnitude, decision_by=decision_by, link=request.link)
        return RevisionForm(request.id, draft, (request.department.key, request.department.name),
                            tuple(council.stages))


def _link_revision(s: Session, revised: ReviewRequest, request: ReviewRequest, actor: str, now: datetime) -> None:
    """The withdrawn request's thread and messages say which request revises it. Its messages
    are refreshed again once the revision's own are posted (in the revision's lane, after
    them), so the link to the revision's thread is there."""
    event = audit.record(s, kind="revised", actor=actor, at=now, request_id=revised.id, revised_by=request.id,
                         title=request.title)
    notices.thread_note(s, revised.id, event, now)
    notices.refresh(s, revised.id, now)
    enqueue(s, lane=request_lane(request.id), kind=notices.REFRESH, payload={"request_id": revised.id}, now=now)


def status(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> RequestView:
    """Where a request stands, for council members and its filer (summaries can be confidential)."""
    with uow:
        s = uow.session
        # Who may look is settled before the request is read, so an outsider learns the same
        # thing whether the number names a request or not.
        if not membership(s, actor).is_member and s.scalar(
                select(ReviewRequest.filer).where(ReviewRequest.id == request_id)) != actor:
            raise NotAllowed("Only council members can look up requests. Ask the council chair "
                             f"<@{get_council(s).chair}> to add you.")
        return request_view(s, request_id, now=clock.now())


def _may_hold(s: Session, actor: str, request: ReviewRequest, now: datetime) -> Voter:
    """A department still owing its answer may pause its clock, once per request."""
    who = voter(s, actor, request, now)
    if who.department not in current_tally(s, request).outstanding:
        raise Closed("Your department has already answered: there is nothing to hold.")
    if s.scalar(select(Hold.id).where(Hold.request_id == request.id, Hold.department_id == who.department_id)):
        raise Closed("Your department has already had its hold on this request.")
    return who


def hold_form(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> tuple[str, int]:
    """Refuse before the form opens; returns the request's title and the longest hold allowed."""
    with uow:
        s = uow.session
        request = load_request(s, request_id)
        if request.status.is_final:
            raise Closed(f"This request is already {request.status.label.lower()}.")
        _may_hold(s, actor, request, clock.now())
        return request.title, rules(s)[0].max_hold_days


def check_chair(uow: UnitOfWork, *, actor: str, request_id: int) -> str:
    """Refuse anyone but the chair before a chair's form opens; returns the request's title."""
    with uow:
        s = uow.session
        refusal = chair_refusal(membership(s, actor))
        if refusal:
            raise NotAllowed(refusal)
        request = load_request(s, request_id)
        if request.status.is_final:
            raise Closed(f"This request is already {request.status.label.lower()}.")
        return request.title


def open_request(s: Session, request_id: int, now: datetime | None = None) -> ReviewRequest:
    """A request still under review: locked for a change (pending presses applied first) when
    `now` is given, else only read."""
    request = load_request(s, request_id) if now is None else lock_request(s, request_id, now)
    if request.status.is_final:
        raise Closed(f"This request is already {request.status.label.lower()}.")
    return request


def withdraw(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> None:
    now = clock.now()
    with uow:
        s = uow.session
        request = lock_request(s, request_id, now)
        refusal = withdraw_refusal(membership(s, actor), filer=request.filer)
        if refusal:
            raise NotAllowed(refusal)
        if request.status.is_final:
            raise Closed(f"This request is already {request.status.label.lower()}.")
        previous = request.status
        request.status, request.updated_at, request.decided_at = Status.WITHDRAWN, now, now
        end_holds(s, request, now, "closed")
        event = audit.record(s, kind="withdrawn", actor=actor, at=now, request_id=request_id,
                             previous=previous.value)
        notices.thread_note(s, request_id, event, now)
        notices.refresh(s, request_id, now)
        uow.commit()


def reopen(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> Status:
    """Bring a withdrawn or expired request back under review, with a fresh review period."""
    now = clock.now()
    with uow:
        s = uow.session
        request = lock_request(s, request_id, now)
        refusal = reopen_refusal(membership(s, actor), filer=request.filer, filing_department=request.department.key,
                                 department_gone=filing_department_gone(s, request) is not None)
        if refusal:
            raise NotAllowed(refusal)
        if request.status not in (Status.WITHDRAWN, Status.EXPIRED):
            raise Closed(f"Only withdrawn or expired requests can be reopened; this one is "
                         f"{request.status.label.lower()}.")
        later = s.scalar(select(ReviewRequest.id).where(ReviewRequest.revises_id == request_id))
        if later is not None:
            raise Closed(f"This request was revised by CX review #{later}: that one is under review instead.")
        restart_review(s, request, now)
        request.decided_at = None
        previous, request.status = request.status, Status.OPEN
        asked = asked_again(s, request, current_tally(s, request), rules(s)[1].local_date(now))
        event = audit.record(s, kind="reopened", actor=actor, at=now, request_id=request_id,
                             previous=previous.value, due_at=request.due_at.isoformat(), asked_again=asked)
        notices.thread_note(s, request_id, event, now)
        status = settle(s, request, now)
        if not status.is_final:
            # The note mentions who is asked again; whoever it has no room for is asked by DM.
            notices.asked_by_dm(s, request_id, now, notices.Asks(NOTE_SECTIONS, people=asked))
        notices.refresh(s, request_id, now)
        uow.commit()
        return status


def chair_decide(uow: UnitOfWork, *, actor: str, request_id: int, approve: bool, rationale: str,
                 clock: Clock) -> Status:
    """The chair settles a request, approved or rejected, with a written rationale.

    The dissent (standing objections, departments that had not answered) is recorded with
    the decision and shown in the thread.
    """
    rationale = rationale.strip()
    if not rationale:
        raise InvalidInput({"rationale": "Write the rationale: the council and the filer read it."})
    if len(rationale) > NOTE_MAX:
        raise InvalidInput({"rationale": f"Keep it to {NOTE_MAX} characters."})
    now = clock.now()
    with uow:
        s = uow.session
        refusal = chair_refusal(membership(s, actor))
        if refusal:
            raise NotAllowed(refusal)
        request = open_request(s, request_id, now)
        if request.status is not Status.ESCALATED:
            raise Closed("The chair decides escalated requests; this one is back under review.")
        result = current_tally(s, request)
        dissent = [{"user": b.user, "department": b.department, "reason": b.note} for b in result.objections
                   if b.stands] if approve else [
            {"user": b.user, "department": b.department, "reason": b.note or "approved"}
            for d in result.departments for b in d.approvals]
        set_status(s, request, Status.APPROVED if approve else Status.REJECTED, now, actor=actor,
                   rationale=rationale, by_chair=True, dissent=dissent, outstanding=list(result.outstanding))
        uow.commit()
        return request.status


def place_hold(uow: UnitOfWork, *, actor: str, request_id: int, reason: str, days: int, clock: Clock) -> datetime:
    """A routed department asks for more time or information: its clock pauses for at most
    the council's `max_hold_days` working days, then the hold lapses. The request's due time
    moves by the length of the hold. Returns when the hold lapses."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": "Say what you need: more time, or which information."})
    if len(reason) > NOTE_MAX:
        raise InvalidInput({"reason": f"Keep it to {NOTE_MAX} characters."})
    now = clock.now()
    with uow:
        s = uow.session
        policy, working_time = rules(s)
        if not 1 <= days <= policy.max_hold_days:
            raise InvalidInput({"days": f"A hold lasts 1 to {policy.max_hold_days} working days."})
        request = open_request(s, request_id, now)
        who = _may_hold(s, actor, request, now)
        until = working_time.add_working_days(now, days)
        s.add(Hold(request_id=request_id, department_id=who.department_id, user_id=actor, reason=reason,
                   placed_at=now, until=until, ended_at=None, end_reason=""))
        # The clock pauses: the deadline moves by the hold's working days, and keeps them if the
        # department answers early.
        request.due_at = working_time.add_working_days(request.due_at, days)
        event = audit.record(s, kind="hold_placed", actor=actor, at=now, request_id=request_id,
                             department=who.department, reason=reason, until=until.isoformat(),
                             due_at=request.due_at.isoformat())
        notices.thread_note(s, request_id, event, now)
        settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return until
