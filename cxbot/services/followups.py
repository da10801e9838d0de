"""Follow-up: did it happen? A decision is only as good as what came after it.

Once an approved change's filing side says when it went live (`set_go_live`), the council's
`follow_up_days` later — at the first working moment of that day in the council's zone —
the filer is asked by DM whether the impact on customers came as predicted (as predicted,
better, worse), and everyone who objected whether their concern came true. A question not
answered within `CHASE_DAYS` working days is asked once more; the chair's digest counts what
stays unanswered. Answering again replaces the earlier answer (both stay in the audit trail);
a "worse" (or a concern that came true) reopens the conversation in the request's thread.

The follow-up job (`send_due`) reads only the follow-ups whose `next_at` has come.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.errors import Closed, InvalidInput, NotAllowed, NotFound
from cxbot.domain.model import Role, Status, VoteKind
from cxbot.domain.moments import moments_of, owners
from cxbot.domain.permissions import follow_up_refusal, go_live_refusal
from cxbot.i18n import N_
from cxbot.services import audit, notices
from cxbot.services.council import council_of, council_rules, membership
from cxbot.services.readmodel import load_request
from cxbot.store.models import DailyReminder, Department, FollowUp, Membership, ReviewRequest, Vote
from cxbot.store.uow import UnitOfWork

FILER, OBJECTOR = "filer", "objector"
ANSWERS = {FILER: ("as_predicted", "better", "worse"), OBJECTOR: ("came_true", "did_not")}
BAD_NEWS = {"worse", "came_true"}       # reopens the conversation in the thread
CHASE_DAYS = 5
BATCH = 200
NOTE_MAX = 1000
MEASURED_MAX = 100
YEARS_AHEAD = 2


def set_go_live(uow: UnitOfWork, *, actor: str, request_id: int, go_live: date, clock: Clock) -> datetime:
    """Record when an approved change went (or goes) live, and when its follow-ups are asked;
    returns that moment. Saying it again moves the questions not asked yet."""
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        council = council_of(s, request)
        refusal = go_live_refusal(membership(s, actor, council.id), filer=request.filer,
                                  filing_department=request.department.key)
        if refusal:
            raise NotAllowed(refusal)
        if request.status is not Status.APPROVED:
            raise Closed(N_("Only an approved change has a go-live date."))
        policy, working_time = council_rules(council)
        today = working_time.local_date(now)
        if go_live.year > today.year + YEARS_AHEAD:
            raise InvalidInput({"go_live": N_("Pick a go-live date within the next two years.")})
        request.go_live = go_live
        asked_on = go_live.toordinal() + policy.follow_up_days
        day_start = datetime.combine(date.fromordinal(asked_on), time(0), ZoneInfo(working_time.timezone))
        due = working_time.next_working_moment(day_start)
        existing = {(f.user_id, f.role): f
                    for f in s.scalars(select(FollowUp).where(FollowUp.request_id == request_id))}
        for user, role in _asked(s, request):
            follow_up = existing.get((user, role))
            if follow_up is None:
                s.add(FollowUp(request_id=request_id, user_id=user, role=role, due_at=due, next_at=due, note="",
                               measured=""))
            elif follow_up.sent_at is None:
                follow_up.due_at = follow_up.next_at = due
        audit.record(s, kind="go_live_set", actor=actor, at=now, request_id=request_id, go_live=go_live.isoformat(),
                     follow_up_at=due.isoformat())
        notices.refresh(s, request_id, now)
        uow.commit()
        return due


def _asked(s: Session, request: ReviewRequest) -> list[tuple[str, str]]:
    """The filer, then everyone who objected (on their own behalf or for an advocate), once each."""
    objectors = s.scalars(select(Vote.user_id).where(Vote.request_id == request.id, Vote.kind == VoteKind.OBJECT)
                          .order_by(Vote.id))
    return [(request.filer, FILER)] + [(u, OBJECTOR) for u in dict.fromkeys(objectors) if u != request.filer]


def send_due(uow: UnitOfWork, *, clock: Clock) -> int:
    """Ask the follow-up questions whose time has come, and ask once more those unanswered for
    CHASE_DAYS working days; returns how many DMs were queued."""
    now = clock.now()
    with uow:
        s = uow.session
        due = list(s.scalars(select(FollowUp).where(FollowUp.next_at <= now).order_by(FollowUp.next_at)
                             .limit(BATCH).with_for_update(skip_locked=True)))
        for follow_up in due:
            request = s.get(ReviewRequest, follow_up.request_id)
            assert request is not None
            _, working_time = council_rules(council_of(s, request))
            chase = follow_up.sent_at is not None
            event = audit.record(s, kind="follow_up", actor="cxbot", at=now, request_id=request.id,
                                 follow_up_id=follow_up.id, role=follow_up.role, again=chase,
                                 go_live=request.go_live.isoformat() if request.go_live else None)
            notices.direct(s, request.id, event, follow_up.user_id, now)
            if chase:
                follow_up.chased_at, follow_up.next_at = now, None
            else:
                follow_up.sent_at = now
                # The morning after the fifth working day: asked again at the start of a day.
                follow_up.next_at = working_time.next_working_moment(working_time.add_working_days(now, CHASE_DAYS))
        uow.commit()
        return len(due)


def _moment_owners(s: Session, request_id: int) -> dict[str, Any]:
    """Who is told in the thread when a change turned out worse: the departments owning the
    moments of truth it touched, by their user group, else by their leads."""
    request = s.get(ReviewRequest, request_id)
    assert request is not None
    council = council_of(s, request)
    keys = list(owners(request.moments or (), moments_of(council.moments)))
    departments = list(s.scalars(select(Department).where(Department.council_id == council.id,
                                                          Department.key.in_(keys), Department.active.is_(True))))
    groups = [d.usergroup for d in departments if d.usergroup]
    leads = list(s.scalars(select(Membership.user_id).where(
        Membership.department_id.in_([d.id for d in departments if not d.usergroup]),
        Membership.role == Role.LEAD, Membership.active.is_(True)).order_by(Membership.id)))
    return {"departments": [d.key for d in departments], "usergroups": groups, "users": list(dict.fromkeys(leads))}


def check_may_answer(uow: UnitOfWork, *, actor: str, follow_up_id: int, answer: str) -> int:
    """Raise unless `actor` may give `answer` to the follow-up (before its form opens); returns
    the request's id."""
    with uow:
        return _answerable(uow.session, actor, follow_up_id, answer, lock=False).request_id


def _answerable(s: Session, actor: str, follow_up_id: int, answer: str, *, lock: bool) -> FollowUp:
    """The follow-up `actor` may give `answer` to, or the refusal."""
    follow_up = s.get(FollowUp, follow_up_id, with_for_update=lock)
    if follow_up is None:
        raise NotFound(N_("That follow-up no longer exists."))
    refusal = follow_up_refusal(actor, asked=follow_up.user_id)
    if refusal:
        raise NotAllowed(refusal)
    if answer not in ANSWERS[follow_up.role]:
        raise InvalidInput({"note": N_("That is not an answer to this question.")})
    return follow_up


def answer(uow: UnitOfWork, *, actor: str, follow_up_id: int, answer: str, note: str, measured: str,
           clock: Clock) -> bool:
    """Record `actor`'s answer to their follow-up, replacing an earlier one; returns whether the
    answer is bad news (then the thread hears of it)."""
    now = clock.now()
    note, measured = note.strip(), measured.strip()
    if len(note) > NOTE_MAX or len(measured) > MEASURED_MAX:
        raise InvalidInput({"note" if len(note) > NOTE_MAX else "measured":
                            N_("Keep it to {limit} characters.", limit=NOTE_MAX if len(note) > NOTE_MAX
                               else MEASURED_MAX)})
    with uow:
        s = uow.session
        follow_up = _answerable(s, actor, follow_up_id, answer, lock=True)
        previous = follow_up.answer
        follow_up.answer, follow_up.note, follow_up.measured = answer, note, measured
        follow_up.answered_at, follow_up.next_at = now, None
        bad = answer in BAD_NEWS and previous not in BAD_NEWS
        # The daily reminder lists the follow-ups still owed: the latest one says it is answered.
        latest = s.scalar(select(DailyReminder.day).where(DailyReminder.user_id == actor, DailyReminder.ts != "")
                          .order_by(DailyReminder.day.desc()).limit(1))
        if latest is not None:
            notices.daily_reminder(s, actor, latest, now)
        owners = _moment_owners(s, follow_up.request_id) if bad else {}
        event = audit.record(s, kind="follow_up_answered", actor=actor, at=now, request_id=follow_up.request_id,
                             follow_up_id=follow_up.id, role=follow_up.role, answer=answer, note=note,
                             measured=measured, previous=previous, owners=owners)
        if bad:
            notices.thread_note(s, follow_up.request_id, event, now)
        uow.commit()
        return bad
