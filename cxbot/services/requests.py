"""Filing and withdrawing review requests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.cost import major_by_cost
from cxbot.domain.drafts import draft_errors
from cxbot.domain.errors import Closed, InvalidInput, NotAllowed, NotFound, already, no_request, too_long
from cxbot.domain.model import NOTE_MAX, STATUS_STATES, Draft, Magnitude, Role, Status
from cxbot.domain.moments import Moment, moments_of
from cxbot.domain.permissions import (
    chair_refusal,
    filing_refusal,
    reopen_refusal,
    withdraw_refusal,
)
from cxbot.domain.policy import CouncilPolicy
from cxbot.domain.routing import DepartmentInfo, Route, route
from cxbot.i18n import N_, nN_
from cxbot.services import audit, notices, related
from cxbot.services.council import council_of, council_rules, get_council, membership
from cxbot.services.filing import STALE_COUNCIL
from cxbot.services.finder import OUTSIDER, member_councils
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
from cxbot.services.readmodel import NOTE_SECTIONS, RequestView, cost_of, load_request, request_view
from cxbot.services.votes import Voter, lock_request, voter
from cxbot.store.models import Council, Department, Hold, ReviewRequest, Routing
from cxbot.store.uow import UnitOfWork


def _filing_council(s: Session, actor: str, key: str | None) -> Council:
    """The council a filing goes to: the one its form named; without one (a form opened
    before there were several councils), the only council, or the only one the person
    may file in."""
    if key is not None:
        council = s.scalar(select(Council).where(Council.key == key))
        if council is None:
            raise NotFound(STALE_COUNCIL)
        return council
    ids = list(s.scalars(select(Council.id).order_by(Council.id)))
    if len(ids) > 1:
        mine = [i for i in ids if membership(s, actor, i).departments(Role.LEAD, Role.ADVOCATE)]
        ids = mine or ids[:1]
        if len(mine) > 1:
            raise NotFound(STALE_COUNCIL)
    return get_council(s, ids[0] if ids else None)


def costed(draft: Draft, policy: CouncilPolicy) -> Draft:
    """The draft as the council reviews it: major when it adds more customer time a month than
    the council's threshold (cxbot.domain.cost), whatever magnitude the filer picked."""
    if draft.magnitude is Magnitude.MINOR and major_by_cost(draft.cost, policy.major_customer_hours):
        return replace(draft, magnitude=Magnitude.MAJOR)
    return draft


def routes_for(s: Session, draft: Draft, policy: CouncilPolicy,
               council_id: int) -> tuple[list[Route], dict[str, Department]]:
    """The departments of the council a draft is routed to (filing and amending), by
    department key. A department counts as able to answer only with advocates outside the
    filing department (cxbot.domain.permissions: nobody with a role in it reviews its change)."""
    depts = s.scalars(select(Department).where(Department.active.is_(True), Department.council_id == council_id)
                      .order_by(Department.position)).all()
    by_key = {d.key: d for d in depts}
    filing = by_key.get(draft.department)
    counts = seats(s, [d.id for d in depts], filing.id if filing is not None else None)
    infos = [DepartmentInfo(d.key, d.name, counts.get(d.id, 0), tuple(d.stages)) for d in depts]
    assert draft.magnitude is not None
    council = s.get(Council, council_id)
    routes = route(draft.department, infos, stages=draft.stages, magnitude=draft.magnitude, rules=policy.routing,
                   moments=draft.moments, council_moments=moments_of(council.moments if council else ()))
    return routes, {d.key: d for d in depts}


def file_request(uow: UnitOfWork, *, actor: str, draft: Draft, clock: Clock, view_id: str | None = None,
                 revises: int | None = None, council: str | None = None) -> int:
    """Validate, store, route and queue the announcement of a new request; returns its id.

    The request belongs to `council` (a key: the council its form was opened for; without
    one, the only council the person files in); a revision, to its withdrawn request's.

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
        where = council_of(s, revised) if revised is not None else _filing_council(s, actor, council)
        policy, working_time = council_rules(where)
        who = membership(s, actor, where.id)
        refusal = filing_refusal(who, where.chair)
        if refusal:
            raise NotAllowed(refusal)
        if view_id is not None:
            existing = s.scalar(select(ReviewRequest).where(ReviewRequest.source_view_id == view_id))
            if existing is not None:
                if existing.filer != actor:
                    raise NotAllowed(N_("This form was someone else's."))
                return existing.id
        if revised is not None:
            _check_revisable(s, actor, revised)
        errors = draft_errors(draft, today=working_time.local_date(now),
                              departments=who.departments(Role.LEAD, Role.ADVOCATE), stages=where.stages,
                              moments=moments_of(where.moments))
        if revised is not None and draft.department != revised.department.key and not errors:
            errors = {"department": N_("A revision is filed for {department}, as the request it revises.",
                                        department=revised.department.name)}
        if errors:
            raise InvalidInput(errors)
        draft = costed(draft, policy)
        routes, by_key = routes_for(s, draft, policy, where.id)
        if not routes:
            raise InvalidInput({"department": N_("No other department has advocates to review this yet.")})
        assert draft.magnitude is not None and draft.decision_by is not None
        request = ReviewRequest(
            department_id=by_key[draft.department].id, filer=actor, title=draft.title.strip(),
            summary=draft.summary.strip(), stages=list(draft.stages), moments=list(draft.moments), impact=draft.impact,
            customer_minutes=draft.cost.minutes, customers_per_month=draft.cost.customers, steps=draft.cost.steps,
            warning_signs=list(draft.cost.warning_signs),
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
        related.on_filed(s, request, now)
        if revised is not None:
            _link_revision(s, revised, request, actor, now)
        uow.commit()
        return request.id


def _check_revisable(s: Session, actor: str, request: ReviewRequest) -> None:
    """A withdrawn request is revised by its filer, once."""
    if actor != request.filer:
        raise NotAllowed(N_("Only the person who filed this request can file a revision of it."))
    if request.status is not Status.WITHDRAWN:
        raise Closed(N_("Only a withdrawn request can be revised; this one is {status}.",
                        status=STATUS_STATES[request.status]))
    later = s.scalar(select(ReviewRequest.id).where(ReviewRequest.revises_id == request.id))
    if later is not None:
        raise Closed(N_("This request was revised already: CX review #{id}.", id=later))


@dataclass(frozen=True)
class RevisionForm:
    """The filing form, pre-filled from a withdrawn request, to file its revision."""

    request_id: int
    draft: Draft
    department: tuple[str, str]   # (key, name): a revision is filed for the same department
    stages: tuple[str, ...]
    moments: tuple[Moment, ...] = ()


def revision_form(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> RevisionForm:
    """Refuses all but the filer of a withdrawn request not revised yet. A decision date
    already past is left for the filer to pick again."""
    with uow:
        s = uow.session
        request = load_request(s, request_id)
        _check_revisable(s, actor, request)
        council = council_of(s, request)
        _, working_time = council_rules(council)
        decision_by = request.decision_by if request.decision_by >= working_time.local_date(clock.now()) else None
        draft = Draft(title=request.title, summary=request.summary, department=request.department.key,
                      stages=tuple(request.stages), impact=request.impact, impact_note=request.impact_note,
                      magnitude=request.magnitude, decision_by=decision_by, link=request.link,
                      moments=tuple(request.moments or ()), cost=cost_of(request))
        return RevisionForm(request.id, draft, (request.department.key, request.department.name),
                            tuple(council.stages), moments_of(council.moments))


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
    """Where a request stands, for the people of its council and its filer (summaries can be
    confidential)."""
    with uow:
        s = uow.session
        check_may_look(s, actor, request_id)
        return request_view(s, request_id, now=clock.now())


def check_may_look(s: Session, actor: str, request_id: int) -> None:
    """Raise unless `actor` may read request `request_id`: one of the people of its council
    (cxbot.services.finder.member_councils), or its filer.

    Who may look is settled before the request is read, so nobody learns more than that they
    may not: an outsider hears the same whether the number names a request or not, and a
    member of another council that there is no such request, as for a number that names none
    (a request is its council's: another council's members are outsiders to it)."""
    found = s.execute(_FILER_AND_COUNCIL, {"id": request_id}).first()
    councils = member_councils(s, actor)
    if found is not None and (found.council_id in councils or found.filer == actor):
        return
    if councils:
        raise no_request(request_id)
    chairs = s.scalars(select(Council.chair).limit(2)).all()
    raise NotAllowed(N_("Only council members can look up requests. Ask the council chair <@{chair}> to "
                        "add you.", chair=chairs[0]) if len(chairs) == 1 else OUTSIDER)


_FILER_AND_COUNCIL = (select(ReviewRequest.filer, Department.council_id).join(ReviewRequest.department)
                      .where(ReviewRequest.id == bindparam("id")))


def _may_hold(s: Session, actor: str, request: ReviewRequest, now: datetime) -> Voter:
    """A department still owing its answer may pause its clock, once per request."""
    who = voter(s, actor, request, now)
    if who.department not in current_tally(s, request).outstanding:
        raise Closed(N_("Your department has already answered: there is nothing to hold."))
    if s.scalar(select(Hold.id).where(Hold.request_id == request.id, Hold.department_id == who.department_id)):
        raise Closed(N_("Your department has already had its hold on this request."))
    return who


def hold_form(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> tuple[str, int]:
    """Refuse before the form opens; returns the request's title and the longest hold allowed."""
    with uow:
        s = uow.session
        request = load_request(s, request_id)
        if request.status.is_final:
            raise already(request.status)
        _may_hold(s, actor, request, clock.now())
        return request.title, rules(s, request)[0].max_hold_days


def check_chair(uow: UnitOfWork, *, actor: str, request_id: int) -> str:
    """Refuse anyone but the chair before a chair's form opens; returns the request's title."""
    with uow:
        s = uow.session
        request = load_request(s, request_id)
        refusal = chair_refusal(membership(s, actor, council_of(s, request).id))
        if refusal:
            raise NotAllowed(refusal)
        if request.status.is_final:
            raise already(request.status)
        return request.title


def open_request(s: Session, request_id: int, now: datetime | None = None) -> ReviewRequest:
    """A request still under review: locked for a change (pending presses applied first) when
    `now` is given, else only read."""
    request = load_request(s, request_id) if now is None else lock_request(s, request_id, now)
    if request.status.is_final:
        raise already(request.status)
    return request


def withdraw(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> None:
    now = clock.now()
    with uow:
        s = uow.session
        request = lock_request(s, request_id, now)
        refusal = withdraw_refusal(membership(s, actor, council_of(s, request).id), filer=request.filer)
        if refusal:
            raise NotAllowed(refusal)
        if request.status.is_final:
            raise already(request.status)
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
        refusal = reopen_refusal(membership(s, actor, council_of(s, request).id), filer=request.filer,
                                 filing_department=request.department.key,
                                 department_gone=filing_department_gone(s, request) is not None)
        if refusal:
            raise NotAllowed(refusal)
        if request.status not in (Status.WITHDRAWN, Status.EXPIRED):
            raise Closed(N_("Only withdrawn or expired requests can be reopened; this one is {status}.",
                            status=STATUS_STATES[request.status]))
        later = s.scalar(select(ReviewRequest.id).where(ReviewRequest.revises_id == request_id))
        if later is not None:
            raise Closed(N_("This request was revised by CX review #{id}: that one is under review instead.",
                            id=later))
        restart_review(s, request, now)
        request.decided_at = None
        previous, request.status = request.status, Status.OPEN
        asked = asked_again(s, request, current_tally(s, request), rules(s, request)[1].local_date(now))
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
        raise InvalidInput({"rationale": N_("Write the rationale: the council and the filer read it.")})
    if len(rationale) > NOTE_MAX:
        raise InvalidInput({"rationale": too_long(NOTE_MAX)})
    now = clock.now()
    with uow:
        s = uow.session
        request = open_request(s, request_id, now)
        refusal = chair_refusal(membership(s, actor, council_of(s, request).id))
        if refusal:
            raise NotAllowed(refusal)
        if request.status is not Status.ESCALATED:
            raise Closed(N_("The chair decides escalated requests; this one is back under review."))
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
        raise InvalidInput({"reason": N_("Say what you need: more time, or which information.")})
    if len(reason) > NOTE_MAX:
        raise InvalidInput({"reason": too_long(NOTE_MAX)})
    now = clock.now()
    with uow:
        s = uow.session
        request = open_request(s, request_id, now)
        policy, working_time = rules(s, request)
        if not 1 <= days <= policy.max_hold_days:
            raise InvalidInput({"days": nN_("A hold lasts {n} working day.", "A hold lasts 1 to {n} working days.",
                                             policy.max_hold_days)})
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
