"""The sweep: deadlines, escalation, holds that lapse, and reminders to those who owe an answer.

Its cost follows what is due, not how many requests are open: every open request carries
when it next needs attention (`review_requests.next_due_at`: the deadline, a hold's lapse,
the next escalation step, the next moment one of those who owe an answer can be reminded in
their own working hours). Any change of a request, its votes, holds or the council's people
makes it due at once (cxbot.store.models), and looking at it works out the next moment. A
sweep reads the due requests with one indexed query and touches only those; with nothing
due it runs a single query.

Safe with several replicas on one database: each request is handled in its own
transaction under a row lock taken with SKIP LOCKED (a request another sweep is working on
is left to it, and one it has just finished is no longer due), and every person's reminder
DM of a day, closing-soon notice and escalation step is *claimed* by inserting a row with a
unique key, so two sweeps started together send each once. The claims are read first and
only the missing ones inserted, so the steady state never fails on the unique key; a claim
two replicas race for is inserted under a savepoint, so the loser keeps its other work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.calendar import WorkingTime
from cxbot.domain.model import Role, Status, Tally, VoteKind
from cxbot.domain.policy import CouncilPolicy
from cxbot.services import audit, notices
from cxbot.services import reminders as reminders_service
from cxbot.services.council import council_of, council_rules, get_council
from cxbot.services.lifecycle import (
    active_holds,
    filing_side,
    rules,
    set_status,
    settle,
    settle_tally,
    substitutes_now,
    substitutes_on,
)
from cxbot.store.models import (
    DailyReminder,
    Department,
    Escalation,
    Hold,
    Membership,
    Reminder,
    ReviewRequest,
    Substitute,
    Vote,
    schedule,
)
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
        advocates = set(s.scalars(select(Membership.user_id).where(
            Membership.role == Role.ADVOCATE, Membership.active.is_(True))))
        return advocates | set(substitutes_now(s, clock.now()).values())


# Built once: run every sweep. The index on next_due_at makes it a range scan of what is due.
_DUE = (select(ReviewRequest.id).where(ReviewRequest.next_due_at <= bindparam("now"))
        .order_by(ReviewRequest.next_due_at, ReviewRequest.id))
_LOCK_DUE = (select(ReviewRequest).where(ReviewRequest.id == bindparam("id"),
                                         ReviewRequest.next_due_at <= bindparam("now"))
             .with_for_update(skip_locked=True, key_share=True))


def sweep(new_uow: Callable[[], UnitOfWork], *, clock: Clock, timezones: TimeZones) -> SweepReport:
    """One pass over the requests due now. `timezones` maps people to their IANA zone
    (looked up before any transaction opens, so no Slack call runs inside one, and only when
    something is due)."""
    report = SweepReport()
    now = clock.now()
    with new_uow() as uow:
        ids = list(uow.session.scalars(_DUE, {"now": now}))
    if not ids:
        return report
    zones = timezones(people_to_remind(new_uow(), clock))
    for request_id in ids:
        try:
            with new_uow() as uow:
                s = uow.session
                request = s.scalars(_LOCK_DUE, {"id": request_id, "now": now}).first()
                if request is None:
                    continue  # another sweep has it, or has just looked at it
                if request.status.is_final:
                    schedule(request, None)
                else:
                    report.requests += 1
                    schedule(request, _sweep_request(s, request, now, zones, report))
                uow.commit()
        except Exception:
            # One request's problem must not stop the others' reminders; the next sweep retries it.
            log.exception("sweeping request %s failed", request_id)
            report.failed += 1
    return report


def _sweep_request(s: Session, request: ReviewRequest, now: datetime, zones: Mapping[str, str],
                   report: SweepReport) -> datetime | None:
    """Act on what is due; return when the request next needs looking at (None: only a change will).
    The policy and working time are those of the request's own council."""
    policy, working_time = rules(s, request)
    holds = []
    for hold in active_holds(s, request.id):
        if hold.until <= now:
            hold.ended_at, hold.end_reason = now, "lapsed"
            department = s.get(Department, hold.department_id)
            event = audit.record(s, kind="hold_lapsed", actor="cxbot", at=now, request_id=request.id,
                                 hold_id=hold.id, department=department.key if department else "")
            notices.thread_note(s, request.id, event, now)
            report.holds_lapsed += 1
        else:
            holds.append(hold)
    result = settle_tally(s, request, now, holds)
    if request.status.is_final:
        return None
    names = {r.department.key: r.department.name for r in request.routings}
    ladder = policy.escalation.ladder
    if now >= request.due_at and result.outstanding:
        if not ladder:
            set_status(s, request, Status.EXPIRED, now, outstanding=list(result.outstanding))
            report.expired += 1
            return None
        if request.escalation_step == 0:
            waiting = ", ".join(names[k] for k in result.outstanding)
            report.escalations += _escalate(s, request, 1, f"the deadline passed with {waiting} still outstanding",
                                            policy, now, result)
    objection_since = _oldest_standing_objection(s, request) if ladder and request.escalation_step == 0 else None
    if (objection_since is not None
            and working_time.working_days_between(objection_since, now) >= policy.escalation.objection_days):
        report.escalations += _escalate(
            s, request, 1, f"a blocking objection has stood for {policy.escalation.objection_days} working days",
            policy, now, result)
    if (0 < request.escalation_step < len(ladder) and request.escalated_at is not None
            and working_time.working_days_between(request.escalated_at, now) >= policy.escalation.step_days):
        report.escalations += _escalate(
            s, request, request.escalation_step + 1,
            f"still undecided {policy.escalation.step_days} working days after the last escalation", policy, now,
            result)
    sent, next_reminder = _remind(s, request, result, holds, policy, working_time, zones, now)
    report.reminders += sent

    moments = [next_reminder, *(h.until for h in holds)]
    if result.outstanding and now < request.due_at:
        moments.append(request.due_at)
    if ladder and request.escalation_step == 0 and objection_since is not None:
        moments.append(_working_days_reached(working_time, objection_since, policy.escalation.objection_days))
    if 0 < request.escalation_step < len(ladder) and request.escalated_at is not None:
        moments.append(_working_days_reached(working_time, request.escalated_at, policy.escalation.step_days))
    return min((m for m in moments if m is not None), default=None)


def _working_days_reached(working_time: WorkingTime, since: datetime, days: int) -> datetime:
    """The first instant at which `working_time.working_days_between(since, instant) >= days`:
    the start of the `days`-th working date after `since`'s, in the council's zone."""
    if days <= 0:
        return since
    d = working_time.local_date(since)
    for _ in range(days):
        d += timedelta(days=1)
        while d.weekday() not in working_time.days:
            d += timedelta(days=1)
    return _start_of(working_time, d)


def _start_of(working_time: WorkingTime, d: date) -> datetime:
    """Midnight starting local date `d` in `working_time`'s zone, as aware UTC (an hour later
    should a daylight-saving jump skip midnight, so the instant always falls on `d`)."""
    at = datetime.combine(d, time.min, tzinfo=ZoneInfo(working_time.timezone)).astimezone(UTC)
    return at if working_time.local_date(at) >= d else at + timedelta(hours=1)


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
              now: datetime, result: Tally) -> int:
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
            recipients = [council_of(s, request).chair]
        else:
            owing, recipients = _owing_leads(s, request, result)
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


def _owing_leads(s: Session, request: ReviewRequest, result: Tally) -> tuple[list[str], list[str]]:
    """(keys of the departments that still owe an answer, those departments' leads): by the
    request's tally, the departments outstanding, and those whose blocking objection stands
    (it is theirs to resolve)."""
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


def _remind(s: Session, request: ReviewRequest, result: Tally, holds: Iterable[Hold], policy: CouncilPolicy,
            working_time: WorkingTime, zones: Mapping[str, str], now: datetime) -> tuple[int, datetime | None]:
    """Remind everyone answering for an outstanding department who has not voted, in their
    own working hours, with one DM a person a working day that lists everything they owe
    (cxbot.services.reminders): the first request due for a person that day claims their day
    and lists all they owe then; the others find the day claimed. In the hours before the
    deadline, a "closing soon" notice joins that DM (it is marked in it), unless the day's DM
    went out before those hours and the deadline falls before the next one: then it is sent
    on its own, once. Only those who may answer now are reminded
    (cxbot.domain.permissions): substitutes whose stand-in holds, and nobody with a role in
    the filing department.

    Returns how many DMs this request caused, and the next moment one of its people is owed one."""
    held = {h.department_id for h in holds}
    owing = [r.department_id for r in request.routings
             if r.department.key in result.outstanding and r.department_id not in held]
    if not owing:
        return 0, None
    reminders = policy.reminders
    closing_from = request.due_at - timedelta(hours=reminders.closing_soon_hours)
    daily_from = _working_days_reached(working_time, request.created_at, reminders.first_after_days)
    closing_window = closing_from <= now < request.due_at
    daily_due = working_time.working_days_between(request.created_at, now) >= reminders.first_after_days
    council_today = working_time.local_date(now)
    away = substitutes_on(s, council_today, council_of(s, request).id)
    voted = {on_behalf_of or user for user, on_behalf_of in s.execute(
        select(Vote.user_id, Vote.on_behalf_of).where(Vote.request_id == request.id, Vote.retracted.is_(False)))}
    advocates = s.scalars(select(Membership.user_id).where(
        Membership.department_id.in_(owing), Membership.role == Role.ADVOCATE, Membership.active.is_(True))
        .order_by(Membership.id)).all()
    recused = filing_side(s, request)
    owed: dict[str, str] = {}   # recipient → the advocate they answer as
    for advocate in advocates:
        if advocate in voted:
            continue
        recipient = away.get(advocate, advocate)
        if advocate in recused or recipient in recused:
            continue
        owed.setdefault(recipient, advocate)
    if not owed:
        return 0, _next_stand_in_change(s, working_time, advocates, council_today)
    # The days claimed that can still matter (a recipient's date is at most a day off the
    # council's), and this request's closing-soon notices: read first, so only what is
    # missing is inserted and the steady state never fails on a unique key.
    days = reminders_service.claimed(s, list(owed), council_today - timedelta(days=1))
    closed = set(s.scalars(select(Reminder.user_id).where(
        Reminder.request_id == request.id, Reminder.kind == "closing", Reminder.user_id.in_(list(owed)))))
    sent = 0
    for recipient, advocate in owed.items():
        local = _their_working_time(working_time, zones.get(recipient))
        if not local.is_working(now):
            continue
        today = local.local_date(now)
        claimed_at = days.get((recipient, today))
        if closing_window and recipient not in closed:
            joined = any(closing_from <= at < request.due_at for (user, _), at in days.items() if user == recipient)
            if claimed_at is None and not joined:
                if _claim_day(s, recipient, today, now):
                    days[(recipient, today)] = now
                    sent += 1
            elif not joined:
                if request.due_at > _next_day_slot(local, now):
                    continue   # the next day's DM comes first, and carries it
                notices.reminder(s, request.id, recipient, "closing", advocate if recipient != advocate else None, now)
                sent += 1
            _claim(s, Reminder(request_id=request.id, user_id=recipient, kind="closing", day=today, at=now))
            closed.add(recipient)
        elif daily_due and claimed_at is None:
            if _claim_day(s, recipient, today, now):
                days[(recipient, today)] = now
                sent += 1
    moments = [_next_reminder(_their_working_time(working_time, zones.get(recipient)), recipient, days,
                              recipient in closed, daily_from, closing_from, request.due_at, now)
               for recipient in owed]
    moments.append(_next_stand_in_change(s, working_time, advocates, council_today))
    return sent, min((m for m in moments if m is not None), default=None)


def _claim_day(s: Session, user: str, day: date, now: datetime) -> bool:
    """Claim `user`'s reminder DM of `day` and list in it everything they owe now that is due
    a reminder (from `first_after_days` working days after filing, or in its closing-soon
    hours, by the rules of each request's council: one DM across councils); False when
    another sweep claimed it first (a race between replicas: the savepoint keeps this
    request's other work)."""
    if not _claim(s, DailyReminder(user_id=user, day=day, at=now)):
        return False
    owed = [o for o in reminders_service.owed_by(s, user, now) if _reminder_due(s, o, now)]
    if owed:
        s.execute(insert(Reminder), [{"request_id": o.request_id, "user_id": user, "kind": "daily", "day": day,
                                      "at": now} for o in owed])
    notices.daily_reminder(s, user, day, now)
    return True


def _reminder_due(s: Session, owed: reminders_service.Owed, now: datetime) -> bool:
    policy, working_time = council_rules(get_council(s, owed.council_id))
    reminders = policy.reminders
    return (working_time.working_days_between(owed.created_at, now) >= reminders.first_after_days
            or owed.due_at - timedelta(hours=reminders.closing_soon_hours) <= now < owed.due_at)


def _next_day_slot(local: WorkingTime, now: datetime) -> datetime:
    """When a person who had today's DM gets the next one: their next working moment tomorrow or later."""
    return local.next_working_moment(_start_of(local, local.local_date(now) + timedelta(days=1)))


def _next_reminder(local: WorkingTime, recipient: str, days: Mapping[tuple[str, date], datetime], closed: bool,
                   daily_from: datetime, closing_from: datetime, due_at: datetime, now: datetime) -> datetime:
    """The next moment `recipient` (working `local`) is owed a reminder: the first of their
    working moments from when daily reminders start (tomorrow's, if they had today's DM),
    or the first in the closing window before the deadline, if they have not had that
    notice and no DM of theirs will carry it (today's went out before the window opened and
    the deadline falls before their next one)."""
    today = local.local_date(now)
    claimed_today = days.get((recipient, today))
    daily = max(now, daily_from)
    if claimed_today is not None:
        daily = max(daily, _start_of(local, today + timedelta(days=1)))
    moment = local.next_working_moment(daily)
    if not closed and now < due_at:
        joined = any(closing_from <= at < due_at for (user, _), at in days.items() if user == recipient)
        alone = claimed_today is not None and due_at <= _next_day_slot(local, now)
        if not joined and (claimed_today is None or alone):
            closing = local.next_working_moment(max(now, closing_from))
            if closing < due_at:
                moment = min(moment, closing)
    return moment


def _next_stand_in_change(s: Session, working_time: WorkingTime, advocates: Collection[str],
                          today: date) -> datetime | None:
    """The start of the next day on which a stand-in for one of `advocates` begins or ends
    (who is reminded changes then)."""
    if not advocates:
        return None
    days = [day for starts_on, until in s.execute(select(Substitute.starts_on, Substitute.until).where(
        Substitute.advocate.in_(list(advocates)), Substitute.cancelled_at.is_(None), Substitute.until >= today))
        for day in (starts_on, until + timedelta(days=1)) if day > today]
    return _start_of(working_time, min(days)) if days else None
