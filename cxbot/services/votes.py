"""Votes in a request's thread: approve, object (with a reason), abstain, change, retract.

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
from cxbot.domain.decision import outcome, tally
from cxbot.domain.errors import Closed, InvalidInput, NotAllowed
from cxbot.domain.model import NOTE_MAX, Ballot, Status, VoteKind
from cxbot.domain.permissions import Membership as MembershipView
from cxbot.domain.permissions import vote_refusal
from cxbot.services import audit, notices
from cxbot.services.council import membership
from cxbot.services.readmodel import load_request
from cxbot.store.models import Department, ReviewRequest, Vote
from cxbot.store.uow import UnitOfWork


@dataclass(frozen=True)
class VoteResult:
    recorded: bool
    status: Status


def _check_voter(s: Session, actor: str, request: ReviewRequest) -> tuple[MembershipView, int]:
    if request.status.is_final:
        raise Closed(f"This request is {request.status.label.lower()}: it takes no more votes.")
    who = membership(s, actor)
    routed = {r.department.key: r.department_id for r in request.routings}
    refusal = vote_refusal(who, filing_department=request.department.key, filer=request.filer, routed=routed)
    if refusal:
        raise NotAllowed(refusal)
    assert who.advocate_of is not None
    return who, routed[who.advocate_of]


def check_may_vote(uow: UnitOfWork, *, actor: str, request_id: int) -> None:
    """Raise the refusal before a vote modal is opened, so nobody types a reason for nothing."""
    with uow:
        _check_voter(uow.session, actor, load_request(uow.session, request_id))


def cast_vote(uow: UnitOfWork, *, actor: str, request_id: int, kind: VoteKind, note: str = "",
              clock: Clock) -> VoteResult:
    note = note.strip()
    if kind is VoteKind.OBJECT and not note:
        raise InvalidInput({"note": "Say why you object, so the filer can answer it."})
    if len(note) > NOTE_MAX:
        raise InvalidInput({"note": f"Keep it to {NOTE_MAX} characters."})
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        _, department_id = _check_voter(s, actor, request)
        vote = s.scalars(select(Vote).where(Vote.request_id == request_id, Vote.user_id == actor)).first()
        if vote is not None and not vote.retracted and vote.kind is kind and vote.note == note:
            return VoteResult(False, request.status)
        if vote is None:
            vote = Vote(request_id=request_id, user_id=actor, department_id=department_id, kind=kind, note=note,
                        retracted=False, cast_at=now, updated_at=now)
            s.add(vote)
            event_kind, previous = "voted", None
        else:
            previous = None if vote.retracted else {"kind": vote.kind.value, "note": vote.note}
            event_kind = "voted" if vote.retracted else "vote_changed"
            vote.kind, vote.note, vote.retracted, vote.department_id = kind, note, False, department_id
            vote.updated_at = now
        department = s.get(Department, department_id)
        event = audit.record(s, kind=event_kind, actor=actor, at=now, request_id=request_id,
                             vote=kind.value, note=note, department=department.key if department else "",
                             previous=previous)
        if kind is VoteKind.OBJECT:
            notices.thread_note(s, request_id, event, now)
        status = _settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return VoteResult(True, status)


def retract_vote(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> VoteResult:
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        _check_voter(s, actor, request)
        vote = s.scalars(select(Vote).where(Vote.request_id == request_id, Vote.user_id == actor)).first()
        if vote is None or vote.retracted:
            return VoteResult(False, request.status)
        vote.retracted, vote.updated_at = True, now
        event = audit.record(s, kind="vote_retracted", actor=actor, at=now, request_id=request_id,
                             previous={"kind": vote.kind.value, "note": vote.note})
        if vote.kind is VoteKind.OBJECT:
            notices.thread_note(s, request_id, event, now)
        status = _settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return VoteResult(True, status)


def _settle(s: Session, request: ReviewRequest, now: datetime) -> Status:
    """Apply the council's policy to the standing votes; record and announce a change of status."""
    s.flush()
    routed = [r.department.key for r in request.routings]
    votes = s.scalars(select(Vote).where(Vote.request_id == request.id, Vote.retracted.is_(False))).all()
    result = tally(routed, [Ballot(v.user_id, v.department.key, v.kind, v.note) for v in votes])
    new = outcome(result)
    if new is request.status:
        return new
    previous, request.status, request.updated_at = request.status, new, now
    if new.is_final:
        request.decided_at = now
    event = audit.record(s, kind="decided" if new.is_final else "status_changed", actor="cxbot", at=now,
                         request_id=request.id, status=new.value, previous=previous.value,
                         outstanding=list(result.outstanding))
    notices.thread_note(s, request.id, event, now)
    if new in (Status.APPROVED, Status.CHANGES_REQUESTED):
        notices.direct(s, request.id, event, request.filer, now)
    return new
