"""A request's state under the council's policy: tally, status, due time, holds, substitutes.

Shared by the use cases that change a request (votes, holds, escalation, chair decisions)
so each one settles the status the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from cxbot.domain.calendar import WorkingTime
from cxbot.domain.decision import outcome, tally
from cxbot.domain.model import Ballot, Magnitude, Role, Status, Tally
from cxbot.domain.permissions import substitute_department
from cxbot.domain.policy import CouncilPolicy
from cxbot.services import audit, notices
from cxbot.services.council import council_of, council_rules, get_council, memberships
from cxbot.store.models import Council, Department, Escalation, Hold, Membership, ReviewRequest, Substitute, Vote


def ballots_of(votes: Sequence[Vote | Counted], keys: Mapping[int, str] | None = None) -> list[Ballot]:
    """Standing (not retracted) votes (objects, or rows with the same attributes) as
    ballots, oldest first (`keys`: department id → key, when the votes' departments are not
    loaded).

    A seat is an advocate's: a substitute's vote fills the seat of the advocate it was cast
    for, so an advocate and their substitute never count twice; the latest vote holds it.
    """
    seats: dict[str, Any] = {}
    for v in sorted(votes, key=_LATEST):
        if not v.retracted:
            seats[v.on_behalf_of or v.user_id] = v
    ballots = []
    for v in sorted(seats.values(), key=_CAST):
        department = keys[v.department_id] if keys is not None else v.department.key
        ballots.append(v.ballot(department) if type(v) is Counted else _ballot(v, department))
    return ballots


def _ballot(v: Any, department: str) -> Ballot:
    return Ballot(v.user_id, department, v.kind, v.note, v.blocking, v.mitigation, v.resolution, v.on_behalf_of)


_LATEST = attrgetter("updated_at", "id")
_CAST = attrgetter("cast_at", "id")

# What counting a vote reads of it.
COUNTED = (Vote.id, Vote.request_id, Vote.user_id, Vote.department_id, Vote.kind, Vote.note, Vote.blocking,
           Vote.mitigation, Vote.resolution, Vote.on_behalf_of, Vote.retracted, Vote.cast_at, Vote.updated_at)


class Counted:
    """A vote as counting reads it (`COUNTED`), kept from one round of presses to the next
    (cxbot.services.votebook), with its ballot built once."""

    __slots__ = (*(column.key for column in COUNTED), "_ballot")

    def __init__(self, vote: Any) -> None:
        """From a `Vote` or a row of `COUNTED`."""
        for name in self.__slots__[:-1]:
            setattr(self, name, getattr(vote, name))
        self._ballot: Ballot | None = None

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> Counted:
        """From a row of `COUNTED`, by position (the sweep reads hundreds of thousands)."""
        counted = cls.__new__(cls)
        (counted.id, counted.request_id, counted.user_id, counted.department_id, counted.kind, counted.note,
         counted.blocking, counted.mitigation, counted.resolution, counted.on_behalf_of, counted.retracted,
         counted.cast_at, counted.updated_at) = row
        counted._ballot = None
        return counted

    def ballot(self, department: str) -> Ballot:
        if self._ballot is None or self._ballot.department != department:
            self._ballot = _ballot(self, department)
        return self._ballot


def seats(session: Session, department_ids: Sequence[int], filing_department_id: int | None = None) -> dict[int, int]:
    """Active advocates per department who may answer: a policy never asks more approvals
    than there are advocates. With `filing_department_id`, advocates who also hold a role in
    the filing department are not counted: they never review its change."""
    counted = {department_id: n for department_id, n in session.execute(_SEATS, {"ids": list(department_ids)})}
    if filing_department_id is not None and counted:
        for department_id, n in session.execute(_FILING_SIDE, {"ids": list(counted),
                                                               "filing": filing_department_id}):
            counted[department_id] -= n
    return counted


_SEATS = (select(Membership.department_id, func.count())
          .where(Membership.department_id.in_(bindparam("ids", expanding=True)), Membership.role == Role.ADVOCATE,
                 Membership.active.is_(True))
          .group_by(Membership.department_id))
_filing = Membership.__table__.alias("filing_side")
_FILING_SIDE = (select(Membership.department_id, func.count(func.distinct(Membership.user_id)))
                .join(_filing, (_filing.c.user_id == Membership.user_id)
                      & (_filing.c.department_id == bindparam("filing")) & _filing.c.active.is_(True))
                .where(Membership.department_id.in_(bindparam("ids", expanding=True)),
                       Membership.role == Role.ADVOCATE, Membership.active.is_(True))
                .group_by(Membership.department_id))


def filing_side(session: Session, request: ReviewRequest) -> set[str]:
    """Everyone with an active role in the request's filing department: never asked to review it."""
    return set(session.scalars(select(Membership.user_id).where(
        Membership.department_id == request.department_id, Membership.active.is_(True))))


def asked_again(session: Session, request: ReviewRequest, result: Tally, today: date) -> list[str]:
    """Who a request asks again (an amendment, a reopening): the objectors whose blocking
    objections stand, and whoever answers for an outstanding department."""
    asked = [b.user for b in result.standing_objections]
    outstanding = [r.department_id for r in request.routings if r.department.key in result.outstanding]
    away = substitutes_on(session, today, council_of(session, request).id)
    recused = filing_side(session, request)
    for user in session.scalars(select(Membership.user_id).where(
            Membership.department_id.in_(outstanding), Membership.role == Role.ADVOCATE,
            Membership.active.is_(True)).order_by(Membership.id)):
        asked.append(away.get(user, user))
    return [u for u in dict.fromkeys(asked) if u not in recused]


def filing_department_gone(session: Session, request: ReviewRequest) -> str | None:
    """Why the request's filing department no longer speaks for it, or None: dropped from the
    council, or left with no lead. Its filer then keeps the filer's actions (amend, reopen)
    whatever their own roles, since nobody else could take them."""
    if not request.department.active:
        return "dropped from the council"
    lead = session.scalar(select(Membership.id).where(
        Membership.department_id == request.department_id, Membership.role == Role.LEAD,
        Membership.active.is_(True)).limit(1))
    return None if lead is not None else "no lead left"


def rules(session: Session, request: ReviewRequest | None = None) -> tuple[CouncilPolicy, WorkingTime]:
    """The policy and working time of `request`'s council (of the only council, without one)."""
    return council_rules(council_of(session, request) if request is not None else get_council(session))


def due_at(*, filed: datetime, magnitude: Magnitude, decision_by: date, policy: CouncilPolicy,
           working_time: WorkingTime) -> datetime:
    """The policy's review period in working days, or the end of the decision date if sooner."""
    by_policy = working_time.add_working_days(filed, policy.for_magnitude(magnitude).review_days)
    return min(by_policy, working_time.end_of_working_day(decision_by))


def current_tally(session: Session, request: ReviewRequest) -> Tally:
    policy, _ = rules(session, request)
    votes = session.scalars(select(Vote).where(Vote.request_id == request.id)).all()
    routed = [r.department.key for r in request.routings]
    advocates = seats(session, [r.department_id for r in request.routings], request.department_id)
    return tally(routed, ballots_of(votes), policy.for_magnitude(request.magnitude),
                 {r.department.key: advocates.get(r.department_id, 0) for r in request.routings})


def active_holds(session: Session, request_id: int) -> list[Hold]:
    return list(session.scalars(select(Hold).where(Hold.request_id == request_id, Hold.ended_at.is_(None))
                                .order_by(Hold.id)))


def status_for(request: ReviewRequest, result: Tally, holds: Sequence[Hold]) -> Status:
    """The status the votes, the escalation ladder and the holds give together.

    Approval by the votes always wins; an escalated request stays escalated until it is
    approved or the chair decides; a standing objection requests changes; a department's
    hold puts an otherwise open request on hold.
    """
    return status_by(request, outcome(result), holds)


def status_by(request: ReviewRequest, by_votes: Status, holds: Sequence[Hold]) -> Status:
    """`status_for`, with what the votes alone say (`decision.outcome`) worked out already."""
    if by_votes is Status.APPROVED:
        return Status.APPROVED
    if request.escalation_step > 0:
        return Status.ESCALATED
    if by_votes is Status.CHANGES_REQUESTED:
        return Status.CHANGES_REQUESTED
    if holds:
        return Status.ON_HOLD
    return Status.OPEN


def settle(session: Session, request: ReviewRequest, now: datetime) -> Status:
    """Apply the policy; record, announce and DM the filer about a change of status."""
    settle_tally(session, request, now)
    return request.status


def settle_tally(session: Session, request: ReviewRequest, now: datetime,
                 holds: Sequence[Hold] | None = None, counted: Tally | None = None) -> Tally:
    """`settle`, handing back the tally it counted (the sweep needs it next, and counting
    twice is most of what looking at a request costs). `holds`: its active holds, and
    `counted`: its current tally, when the caller has them."""
    if counted is None:
        session.flush()
    result = current_tally(session, request) if counted is None else counted
    new = status_for(request, result, active_holds(session, request.id) if holds is None else holds)
    if new is not request.status:
        set_status(session, request, new, now, outstanding=list(result.outstanding))
    return result


def end_holds(session: Session, request: ReviewRequest, now: datetime, reason: str) -> None:
    for hold in active_holds(session, request.id):
        hold.ended_at, hold.end_reason = now, reason


def set_status(session: Session, request: ReviewRequest, new: Status, now: datetime, *, actor: str = "cxbot",
               **data: object) -> None:
    previous, request.status, request.updated_at = request.status, new, now
    if new.is_final:
        request.decided_at = now
        end_holds(session, request, now, "closed")
    event = audit.record(session, kind="decided" if new.is_final else "status_changed", actor=actor, at=now,
                         request_id=request.id, status=new.value, previous=previous.value, **data)
    notices.thread_note(session, request.id, event, now)
    if new in (Status.APPROVED, Status.REJECTED, Status.CHANGES_REQUESTED, Status.EXPIRED):
        notices.direct(session, request.id, event, request.filer, now)
    notices.refresh(session, request.id, now)


def restart_review(session: Session, request: ReviewRequest, now: datetime) -> None:
    """A fresh review period from now (reopen, full re-review): the deadline, and the
    escalation ladder from its first step again."""
    policy, working_time = rules(session, request)
    request.due_at = working_time.add_working_days(now, policy.for_magnitude(request.magnitude).review_days)
    request.escalation_step, request.escalated_at = 0, None
    session.execute(delete(Escalation).where(Escalation.request_id == request.id))


def substitutes_on(session: Session, day: date, council_id: int | None = None) -> dict[str, str]:
    """advocate → the substitute answering for them on `day`, for the stand-ins that still
    hold (`cxbot.domain.permissions.substitute_department`): a council load ends those that
    no longer do, and until it has, they are not counted here either. Stand-ins are per
    council (a substitute answers in the council of the away advocate's department): those
    of `council_id`, or of every council without it."""
    named: dict[int, list[tuple[str, str]]] = {}
    for advocate, substitute, council in session.execute(_STANDING_IN, {"day": day}):
        if council_id is None or council == council_id:
            named.setdefault(council, []).append((advocate, substitute))
    away: dict[str, str] = {}
    for council, pairs in named.items():
        members = memberships(session, {user for pair in pairs for user in pair}, council)
        away.update((advocate, substitute) for advocate, substitute in pairs
                    if substitute_department(members[advocate], members[substitute]) is not None)
    return away


def substitutes_now(session: Session, now: datetime) -> dict[str, str]:
    """`substitutes_on` every council's own today: for what concerns a person across councils
    (their daily reminder, who might be reminded)."""
    away: dict[str, str] = {}
    for council in session.scalars(select(Council).order_by(Council.id)):
        away.update(substitutes_on(session, council_rules(council)[1].local_date(now), council.id))
    return away


# Read by every round of presses: built once (building a statement costs more than running it).
_STANDING_IN = select(Substitute.advocate, Substitute.substitute, Department.council_id).join(
    Department, Department.id == Substitute.department_id).where(
    Substitute.cancelled_at.is_(None), Substitute.starts_on <= bindparam("day"), Substitute.until >= bindparam("day"),
).order_by(Substitute.id)
