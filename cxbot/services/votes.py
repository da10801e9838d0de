"""Votes in a request's thread: approve, object, abstain, change, retract; resolving and
overruling objections.

The request row is locked for the whole use case (a row lock on PostgreSQL, the write
lock on SQLite), so concurrent voters are serialised and the outcome is computed from
every vote. Pressing the same button twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.errors import Closed, InvalidInput, NotAllowed, NotFound
from cxbot.domain.model import NOTE_MAX, Resolution, Status, VoteKind
from cxbot.domain.permissions import chair_refusal, resolve_refusal, vote_refusal, voting_department
from cxbot.services import audit, notices
from cxbot.services.council import membership
from cxbot.services.lifecycle import active_holds, rules, settle, substitutes_on
from cxbot.services.readmodel import load_request
from cxbot.store.models import Department, ReviewRequest, Vote
from cxbot.store.uow import UnitOfWork


@dataclass(frozen=True)
class VoteResult:
    recorded: bool
    status: Status


@dataclass(frozen=True)
class Voter:
    user: str
    department_id: int
    department: str
    on_behalf_of: str | None


def voter(s: Session, actor: str, request: ReviewRequest, now: datetime) -> Voter:
    """Who votes, for which department, on whose behalf; raises the refusal a person is shown."""
    if request.status.is_final:
        raise Closed(f"This request is {request.status.label.lower()}: it takes no more votes.")
    who = membership(s, actor)
    routed = {r.department.key: r.department_id for r in request.routings}
    _, working_time = rules(s)
    today = working_time.local_date(now)
    away = substitutes_on(s, today)
    if actor in away:
        raise NotAllowed(f"<@{away[actor]}> answers for you while you are away. "
                         "`/cx-review back` lets you vote yourself again.")
    covering = {}
    for advocate, substitute in away.items():
        if substitute == actor:
            dept = membership(s, advocate).advocate_of
            if dept is not None:
                covering[advocate] = dept
    refusal = vote_refusal(who, filing_department=request.department.key, filer=request.filer, routed=routed,
                           covering=covering)
    if refusal:
        raise NotAllowed(refusal)
    found = voting_department(who, routed=routed, covering=covering)
    assert found is not None
    dept, on_behalf_of = found
    return Voter(actor, routed[dept], dept, on_behalf_of)


def check_may_vote(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> str:
    """Raise the refusal before a vote modal opens, so nobody types a reason for nothing; returns the title."""
    with uow:
        request = load_request(uow.session, request_id)
        voter(uow.session, actor, request, clock.now())
        return request.title


def _clean(note: str, field: str = "note") -> str:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput({field: f"Keep it to {NOTE_MAX} characters."})
    return note


def cast_vote(uow: UnitOfWork, *, actor: str, request_id: int, kind: VoteKind, note: str = "",
              blocking: bool = True, mitigation: str = "", clock: Clock) -> VoteResult:
    note, mitigation = _clean(note), _clean(mitigation, "mitigation")
    if kind is VoteKind.OBJECT and not note:
        raise InvalidInput({"note": "Say why you object, so the filer can answer it."})
    if kind is not VoteKind.OBJECT:
        blocking, mitigation = True, ""
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        who = voter(s, actor, request, now)
        vote = s.scalars(select(Vote).where(Vote.request_id == request_id, Vote.user_id == actor)).first()
        if (vote is not None and not vote.retracted
                and (vote.kind, vote.note, vote.blocking, vote.mitigation) == (kind, note, blocking, mitigation)):
            # The same vote again (a double click, or re-sending an objection that was
            # resolved or overruled) changes nothing.
            return VoteResult(False, request.status)
        previous = None
        if vote is None:
            vote = Vote(request_id=request_id, user_id=actor, cast_at=now)
            s.add(vote)
            event_kind = "voted"
        else:
            event_kind = "voted" if vote.retracted else "vote_changed"
            previous = None if vote.retracted else {"kind": vote.kind.value, "note": vote.note}
        vote.kind, vote.note, vote.blocking, vote.mitigation = kind, note, blocking, mitigation
        vote.department_id, vote.on_behalf_of, vote.retracted, vote.updated_at = (
            who.department_id, who.on_behalf_of, False, now)
        vote.resolution, vote.resolved_by, vote.resolved_at, vote.resolution_note = None, None, None, ""
        s.flush()
        event = audit.record(s, kind=event_kind, actor=actor, at=now, request_id=request_id, vote_id=vote.id,
                             vote=kind.value,
                             note=note, blocking=blocking, mitigation=mitigation, department=who.department,
                             on_behalf_of=who.on_behalf_of, previous=previous)
        if kind is VoteKind.OBJECT:
            notices.thread_note(s, request_id, event, now)
        if kind in (VoteKind.APPROVE, VoteKind.OBJECT):
            _end_hold(s, request, who.department_id, now, actor)
            routing = next(r for r in request.routings if r.department_id == who.department_id)
            routing.answered_at = routing.answered_at or now
        status = settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return VoteResult(True, status)


def _end_hold(s: Session, request: ReviewRequest, department_id: int, now: datetime, actor: str) -> None:
    """A department that answers is no longer on hold."""
    for hold in active_holds(s, request.id):
        if hold.department_id == department_id:
            hold.ended_at, hold.end_reason = now, "answered"
            audit.record(s, kind="hold_ended", actor=actor, at=now, request_id=request.id, hold_id=hold.id,
                         reason="answered")


def retract_vote(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> VoteResult:
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        voter(s, actor, request, now)
        vote = s.scalars(select(Vote).where(Vote.request_id == request_id, Vote.user_id == actor)).first()
        if vote is None or vote.retracted:
            return VoteResult(False, request.status)
        vote.retracted, vote.updated_at = True, now
        event = audit.record(s, kind="vote_retracted", actor=actor, at=now, request_id=request_id,
                             previous={"kind": vote.kind.value, "note": vote.note})
        if vote.kind is VoteKind.OBJECT:
            notices.thread_note(s, request_id, event, now)
        status = settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return VoteResult(True, status)


def _objection(s: Session, request_id: int, vote_id: int) -> Vote:
    vote = s.get(Vote, vote_id)
    if vote is None or vote.request_id != request_id or vote.kind is not VoteKind.OBJECT or vote.retracted:
        raise NotFound("That objection no longer stands.")
    return vote


def resolve_objection(uow: UnitOfWork, *, actor: str, request_id: int, vote_id: int, note: str = "",
                      clock: Clock) -> Status:
    """The objector says their concern is met: the objection counts as their department's approval."""
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        if request.status.is_final:
            raise Closed(f"This request is already {request.status.label.lower()}.")
        vote = _objection(s, request_id, vote_id)
        refusal = resolve_refusal(membership(s, actor), objector=vote.user_id, seat=vote.on_behalf_of)
        if refusal:
            raise NotAllowed(refusal)
        # Resolving answers for the department, so only someone who may vote for it now may do it
        # (not a removed advocate, an away one, or a substitute whose stand-in has ended).
        voter(s, actor, request, now)
        if vote.resolution is not None:
            return request.status
        _end_objection(s, request, vote, Resolution.RESOLVED, actor, _clean(note), now)
        status = settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return status


def overrule_objection(uow: UnitOfWork, *, actor: str, request_id: int, vote_id: int, rationale: str,
                       clock: Clock) -> Status:
    """The chair sets a blocking objection aside, with a written rationale; the dissent stays on record."""
    rationale = _clean(rationale, "rationale")
    if not rationale:
        raise InvalidInput({"rationale": "Write why the objection is overruled: the council reads it."})
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        refusal = chair_refusal(membership(s, actor))
        if refusal:
            raise NotAllowed(refusal)
        if request.status.is_final:
            raise Closed(f"This request is already {request.status.label.lower()}.")
        vote = _objection(s, request_id, vote_id)
        if vote.resolution is not None:
            return request.status
        _end_objection(s, request, vote, Resolution.OVERRULED, actor, rationale, now)
        status = settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return status


def _end_objection(s: Session, request: ReviewRequest, vote: Vote, resolution: Resolution, actor: str,
                   note: str, now: datetime) -> None:
    vote.resolution, vote.resolved_by, vote.resolved_at, vote.resolution_note = resolution, actor, now, note
    vote.updated_at = now
    department = s.get(Department, vote.department_id)
    event = audit.record(s, kind=f"objection_{resolution.value}", actor=actor, at=now, request_id=request.id,
                         vote_id=vote.id, objector=vote.user_id, reason=vote.note, note=note,
                         department=department.key if department else "")
    notices.thread_note(s, request.id, event, now)
