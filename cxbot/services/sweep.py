"""The sweep: deadlines, escalation, holds that lapse, and reminders to those who owe an answer.

Safe with several replicas on one database: each request is handled in its own
transaction under a row lock taken with SKIP LOCKED (a request another sweep is working on
is left to it), and every reminder and escalation step is *claimed* by inserting a row
with a unique key, so two sweeps started together send each reminder once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.calendar import WorkingTime
from cxbot.domain.model import UNDER_REVIEW, Role, Status, Tally, VoteKind
from cxbot.domain.policy import CouncilPolicy
from cxbot.services import audit, notices
from cxbot.services.council import get_council
from cxbot.services.lifecycle import (
    active_holds,
    current_tally,
    filing_side,
    rules,
    set_status,
    settle,
    substitutes_on,
)
from cxbot.store.models import Department, Escalation, Membership, Reminder, ReviewRequest, Vote
from cxbot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

TimeZones = Callable[[Collection[str]], Mapping[str, str]]


@dataclass
class SweepReport:
    requests: int = 0
    reminders: int = 0
    escalations: int = 0
    expired: int = 0
    holds_lapsed: int = 0
    failed: int = 0


def people_to_remind(uow: UnitOfWork, clock: Clock) -> set[str]:
    """Everyone who might get a reminder today: active advocates and today's substitutes."""
    with uow:
        s = uow.session
        _, working_time = rules(s)
        advocates = set(s.scalars(select(Membership.user_id).where(
            Membership.role == Role.ADVOCATE, Membership.active.is_(True))))
        return advocates | set(substitutes_on(s, working_time.local_date(clock.now())).values())


def sweep(new_uow: Callable[[], UnitOfWork], *, clock: Clock, timezones: TimeZones) -> SweepReport:
    """One pass over every request under review. `timezones` maps people to their IANA zone
    (looked up before any transaction opens, so no Slack call runs inside one)."""
    report = SweepReport()
    zones = timezones(people_to_remind(new_uow(), clock))
    now = clock.now()
    with new_uow() as uow:
        ids = list(uow.session.scalars(select(ReviewRequest.id).where(ReviewRequest.status.in_(UNDER_REVIEW))
                                       .order_by(ReviewRequest.id)))
    for request_id in ids:
        try:
            with new_uow() as uow:
                s = uow.session
                request = s.scalars(select(ReviewRequest).where(ReviewRequest.id == request_id)
                                    .with_for_update(skip_locked=True, key_share=True)).first()
                if request is None or request.status.is_final:
                    continue
                report.requests += 1
                _sweep_request(s, request, now, zones, report)
                uow.commit()
        except Exception:
            # One request's problem must not stop the others' reminders; the next sweep retries it.
            log.exception("sweeping request %s failed", request_id)
            report.failed += 1
    return report


def _sweep_request(s: Session, request: ReviewRequest, now: datetime, zones: Mapping[str, str],
                   report: SweepReport) -> None:
    policy, working_time = rules(s)
    for hold in active_holds(s, request.id):
        if hold.until <= now:
            hold.ended_at, hold.end_reason = now, "lapsed"
            department = s.get(Department, hold.department_id)
            event = audit.record(s, kind="hold_lapsed", actor="cxbot", at=now, request_id=request.id,
                                 hold_id=hold.id, department=department.key if department else "")
            notices.thread_note(s, request.id, event, now)
            report.holds_lapsed += 1
    settle(s, request, now)
    if request.status.is_final:
        return
    result = current_tally(s, request)
    names = {r.department.key: r.department.name for r in request.routings}
    ladder = policy.escalation.ladder
    if now >= request.due_at and result.outstanding:
        if not ladder:
            set_status(s, request, Status.EXPIRED, now, outstanding=list(result.outstanding))
            report.expired += 1
            return
        if request.escalation_step == 0:
            waiting = ", ".join(names[k] for k in result.outstanding)
            report.escalations += _escalate(s, request, 1, f"the deadline passed with {waiting} still outstanding",
                                            policy, now)
    objection_since = _oldest_standing_objection(s, request)
    if (ladder and request.escalation_step == 0 and objection_since is not None
            and working_time.working_days_between(objection_since, now) >= policy.escalation.objection_days):
        report.escalations += _escalate(
            s, request, 1, f"a blocking objection has stood for {policy.escalation.objection_days} working days",
            policy, now)
    if (0 < request.escalation_step < len(ladder) and request.escalated_at is not None
            and working_time.working_days_between(request.escalated_at, now) >= policy.escalation.step_days):
        report.escalations += _escalate(
            s, request, request.escalation_step + 1,
            f"still undecided {policy.escalation.step_days} working days after the last escalation", policy, now)
    report.reminders += _remind(s, request, result, policy, working_time, zones, now)


def _oldest_standing_objection(s: Session, request: ReviewRequest) -> datetime | None:
    return s.scalar(select(func.min(Vote.updated_at)).where(
        Vote.request_id == request.id, Vote.kind == VoteKind.OBJECT, Vote.retracted.is_(False),
        Vote.blocking.is_(True), Vote.resolution.is_(None)))


def _claim(s: Session, row: Reminder | Escalation) -> bool:
    """Insert the claim row; False when another sweep already holds it."""
    try:
        with s.begin_nested():
            s.add(row)
        return True
    except IntegrityError:
        return False


def _escalate(s: Session, request: ReviewRequest, step: int, reason: str, policy: CouncilPolicy,
              now: datetime) -> int:
    """Take a step of the ladder. The "leads" step reaches the leads of the departments that
    still owe an answer (outstanding, or holding a blocking objection), and sends the filing
    department's leads a copy; the "chair" step reaches the chair. A step with nobody to
    reach (no such department has a lead) is passed over."""
    ladder = policy.escalation.ladder
    owing: list[str] = []
    copies: list[str] = []
    while step <= len(ladder):
        target = ladder[step - 1]
        if target == "chair":
            recipients = [get_council(s).chair]
        else:
            owing, recipients = _owing_leads(s, request)
            copies = [u for u in _leads(s, [request.department_id]) if u not in recipients]
        if recipients:
            break
        step += 1
    else:
        return 0
    if not _claim(s, Escalation(request_id=request.id, step=step, target=target, recipients=recipients,
                                reason=reason, at=now)):
        return 0
    request.escalation_step, request.escalated_at = step, now
    extra: dict[str, object] = {"departments": owing, "copies": copies} if target == "leads" else {}
    event = audit.record(s, kind="escalated", actor="cxbot", at=now, request_id=request.id, step=step,
                         target=target, recipients=recipients, reason=reason, **extra)
    notices.thread_note(s, request.id, event, now)
    for user in recipients + copies:
        notices.direct(s, request.id, event, user, now, chair=target == "chair")
    settle(s, request, now)
    notices.refresh(s, request.id, now)
    return 1


def _leads(s: Session, department_ids: Collection[int]) -> list[str]:
    """Active leads of these departments, in the order the council file lists them, each once."""
    return list(dict.fromkeys(s.scalars(select(Membership.user_id).where(
        Membership.department_id.in_(list(department_ids)), Membership.role == Role.LEAD,
        Membership.active.is_(True)).order_by(Membership.id))))


def _owing_leads(s: Session, request: ReviewRequest) -> tuple[list[str], list[str]]:
    """(keys of the departments that still owe an answer, those departments' leads): the
    departments outstanding, and those whose blocking objection stands (it is theirs to resolve)."""
    result = current_tally(s, request)
    blocking = {b.department for b in result.standing_objections}
    keys = [r.department.key for r in request.routings
            if r.department.key in result.outstanding or r.department.key in blocking]
    ids = [r.department_id for r in request.routings if r.department.key in keys]
    return keys, _leads(s, ids) if ids else []


def _their_working_time(working_time: WorkingTime, timezone: str | None) -> WorkingTime:
    """The council's days and hours in a person's own zone (the council's when Slack gave none usable)."""
    try:
        return working_time.in_zone(timezone) if timezone else working_time
    except ValueError:
        return working_time


def _remind(s: Session, request: ReviewRequest, result: Tally, policy: CouncilPolicy, working_time: WorkingTime,
            zones: Mapping[str, str], now: datetime) -> int:
    """DM everyone answering for an outstanding department who has not voted, in their own
    working hours, at most once a day per request; and once, in the hours before the
    deadline, a "closing soon" reminder (which replaces that day's daily one). Only those who
    may answer now are reminded (cxbot.domain.permissions): substitutes whose stand-in holds,
    and nobody with a role in the filing department."""
    held = {h.department_id for h in active_holds(s, request.id)}
    owing = [r.department_id for r in request.routings
             if r.department.key in result.outstanding and r.department_id not in held]
    if not owing:
        return 0
    reminders = policy.reminders
    closing_window = request.due_at - timedelta(hours=reminders.closing_soon_hours) <= now < request.due_at
    daily_due = working_time.working_days_between(request.created_at, now) >= reminders.first_after_days
    if not (closing_window or daily_due):
        return 0
    away = substitutes_on(s, working_time.local_date(now))
    voted = {on_behalf_of or user for user, on_behalf_of in s.execute(
        select(Vote.user_id, Vote.on_behalf_of).where(Vote.request_id == request.id, Vote.retracted.is_(False)))}
    earlier = {(user, kind, day) for user, kind, day in s.execute(
        select(Reminder.user_id, Reminder.kind, Reminder.day).where(Reminder.request_id == request.id))}
    sent = 0
    advocates = s.scalars(select(Membership.user_id).where(
        Membership.department_id.in_(owing), Membership.role == Role.ADVOCATE, Membership.active.is_(True))
        .order_by(Membership.id)).all()
    recused = filing_side(s, request)
    for advocate in advocates:
        if advocate in voted:
            continue
        recipient = away.get(advocate, advocate)
        if advocate in recused or recipient in recused:
            continue
        local = _their_working_time(working_time, zones.get(recipient))
        if not local.is_working(now):
            continue
        today = local.local_date(now)
        if closing_window and not any(u == recipient and k == "closing" for u, k, _ in earlier):
            kind = "closing"
        elif daily_due and (recipient, "closing", today) not in earlier:
            kind = "daily"
        else:
            continue
        if _claim(s, Reminder(request_id=request.id, user_id=recipient, kind=kind, day=today, at=now)):
            notices.reminder(s, request.id, recipient, kind, advocate if recipient != advocate else None, now)
            sent += 1
    return sent
