"""The sweep: deadlines, escalation, holds that lapse, and reminders to those who owe an answer.

Its cost follows what is due, not how many requests are open: every open request carries
when it next needs attention (`review_requests.next_due_at`: the deadline, a hold's lapse,
the next escalation step, the next moment one of those who owe an answer can be reminded in
their own working hours). Any change of a request, its votes, holds or the council's people
makes it due at once (cxbot.store.due), and looking at it works out the next moment. A
sweep reads the due requests with one indexed query and touches only those; with nothing
due it runs a single query.

Every due request is looked at in the same pass, `BATCH` (500) to a transaction: the
morning's 10,000 are not spread over several sweeps. What looking at them reads is read for
the whole batch, and what the day's reminder DMs list for the whole sweep, in a handful of
set-based queries (cxbot.services.sweep_batch); the tallies and who is owed what are worked
out in Python, and the claims, the requests each DM lists and when each request is next due
are written in one statement each. A batch that fails is rolled back and its requests
looked at again one at a time, so one request's problem does not stop the others' reminders.

Safe with several replicas on one database: a batch's first statement locks its requests
with SKIP LOCKED (a request another sweep or use case holds is left to it and the next
sweep, and one another sweep has just finished is no longer due), and every person's
reminder DM of a day, closing-soon notice and escalation step is *claimed* by inserting a
row with a unique key, so two sweeps started together send each once. The claims are read
first and only the missing ones inserted, so the steady state never fails on the unique
key; should another replica claim one meanwhile, the batch's insert is retried a row at a
time under savepoints, so the loser drops that claim and keeps its other work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.calendar import WorkingTime
from cxbot.domain.model import Role, Status, Tally
from cxbot.domain.policy import CouncilPolicy
from cxbot.domain.reasons import keyed
from cxbot.services import audit, notices
from cxbot.services.council import council_of
from cxbot.services.lifecycle import (
    set_status,
    settle,
    settle_tally,
    status_by,
    substitutes_now,
)
from cxbot.services.reminders import Owed
from cxbot.services.sweep_batch import Batch, Snapshot, lock
from cxbot.store.db import update_rows
from cxbot.store.models import (
    Department,
    Escalation,
    Hold,
    Membership,
    Reminder,
    ReviewRequest,
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
# Due requests looked at in one transaction (cxbot.services.sweep_batch).
BATCH = 500


def sweep(new_uow: Callable[[], UnitOfWork], *, clock: Clock, timezones: TimeZones) -> SweepReport:
    """One pass over the requests due now. `timezones` maps people to their IANA zone
    (looked up before any transaction opens, so no Slack call runs inside one, and only when
    something is due).

    The due requests are looked at `BATCH` at a time, each batch in one transaction with
    what it reads read for the whole batch (cxbot.services.sweep_batch). A batch that fails
    is rolled back and its requests looked at again one at a time, each in its own
    transaction: one request's problem does not stop the others' reminders, and the next
    sweep retries it."""
    report = SweepReport()
    now = clock.now()
    with new_uow() as uow:
        ids = list(uow.session.scalars(_DUE, {"now": now}))
    if not ids:
        return report
    zones = timezones(people_to_remind(new_uow(), clock))
    snapshot: Snapshot | None = None
    clocks = Clocks(zones, now)
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        try:
            snapshot = _sweep_batch(new_uow, snapshot, batch, now, zones, clocks, report)
            continue
        except Exception:
            if len(batch) == 1:
                log.exception("sweeping request %s failed", batch[0])
                report.failed += 1
                snapshot = None
                continue
            log.warning("sweeping requests %s–%s together failed; one at a time", batch[0], batch[-1],
                        exc_info=True)
        snapshot = None   # it may hold what the rolled-back transaction claimed
        for request_id in batch:
            try:
                snapshot = _sweep_batch(new_uow, snapshot, [request_id], now, zones, clocks, report)
            except Exception:
                log.exception("sweeping request %s failed", request_id)
                report.failed += 1
                snapshot = None   # it may hold what the rolled-back transaction claimed
    return report


def _sweep_batch(new_uow: Callable[[], UnitOfWork], snapshot: Snapshot | None, ids: list[int], now: datetime,
                 zones: Mapping[str, str], clocks: Clocks, report: SweepReport) -> Snapshot:
    """Look at these due requests in one transaction; add what it did to `report` once committed."""
    done = SweepReport()
    with new_uow() as uow:
        s = uow.session
        requests = lock(s, ids, now)   # another sweep has those it leaves out, or has just looked at them
        if snapshot is None:
            snapshot = Snapshot(s, now)
            if len(ids) >= BATCH:
                snapshot.read_all()   # the morning: everyone's reminder lists most open requests
        batch = Batch(s, snapshot, requests)
        due: dict[int, datetime | None] = {}
        for request in batch.requests:
            if request.status.is_final:
                due[request.id] = None
            else:
                done.requests += 1
                due[request.id] = _sweep_request(s, batch, request, now, clocks, done)
        done.reminders -= batch.write()
        # When each is next due, set last: after the flush in which a change of the request
        # made it due at once (cxbot.store.models), in one statement for the batch.
        s.flush()
        update_rows(s, ReviewRequest.__table__, "next_due_at", due)
        uow.commit()
    for f in fields(SweepReport):
        setattr(report, f.name, getattr(report, f.name) + getattr(done, f.name))
    return snapshot


def _sweep_request(s: Session, batch: Batch, request: ReviewRequest, now: datetime, clocks: Clocks,
                   report: SweepReport) -> datetime | None:
    """Act on what is due; return when the request next needs looking at (None: only a change will).
    The policy and working time are those of the request's own council."""
    policy, working_time = batch.snapshot.rules_of(request.department_id)
    holds = []
    for hold in batch.holds(request.id):
        if hold.until <= now:
            hold.ended_at, hold.end_reason = now, "lapsed"
            department = s.get(Department, hold.department_id)
            event = audit.record(s, kind="hold_lapsed", actor="cxbot", at=now, request_id=request.id,
                                 hold_id=hold.id, department=department.key if department else "")
            notices.thread_note(s, request.id, event, now)
            report.holds_lapsed += 1
        else:
            holds.append(hold)
    entry = batch.entry(request)
    # What the votes say, counted without the full tally (`sweep_batch.count`): the tally
    # is built only for a request whose status changes or that escalates.
    outstanding, by_votes = batch.snapshot.count(entry)
    if status_by(request, by_votes, holds) is not request.status:
        settle_tally(s, request, now, holds, batch.snapshot.tally(entry))
    batch.looked_at(request, holds)
    if request.status.is_final:
        return None
    ladder = policy.escalation.ladder
    if now >= request.due_at and outstanding:
        if not ladder:
            set_status(s, request, Status.EXPIRED, now, outstanding=list(outstanding))
            report.expired += 1
            return None
        if request.escalation_step == 0:
            names = {r.department.key: r.department.name for r in request.routings}
            waiting = ", ".join(names[k] for k in outstanding)
            report.escalations += _escalate(s, request, 1, keyed("deadline_passed", waiting=waiting),
                                            policy, now, batch.snapshot.tally(entry))
    objection_since = (batch.snapshot.oldest_standing_objection(entry) if ladder and request.escalation_step == 0
                       else None)
    if (objection_since is not None
            and working_time.working_days_between(objection_since, now) >= policy.escalation.objection_days):
        report.escalations += _escalate(
            s, request, 1, keyed("objection_stood", n=policy.escalation.objection_days),
            policy, now, batch.snapshot.tally(entry))
    if (0 < request.escalation_step < len(ladder) and request.escalated_at is not None
            and working_time.working_days_between(request.escalated_at, now) >= policy.escalation.step_days):
        report.escalations += _escalate(
            s, request, request.escalation_step + 1,
            keyed("still_undecided", n=policy.escalation.step_days), policy, now, batch.snapshot.tally(entry))
    batch.looked_at(request, holds)
    sent, next_reminder = _remind(s, batch, request, outstanding, holds, policy, clocks, now)
    report.reminders += sent

    moments = [next_reminder, *(h.until for h in holds)]
    if outstanding and now < request.due_at:
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


def _claim(s: Session, row: Reminder | Escalation) -> bool:
    """Insert the claim row; False when another sweep already holds it."""
    try:
        with s.begin_nested():
            s.add(row)
        return True
    except IntegrityError:
        return False


def _escalate(s: Session, request: ReviewRequest, step: int, reason: dict[str, Any], policy: CouncilPolicy,
              now: datetime, result: Tally) -> int:
    """Take a step of the ladder, for `reason` (`cxbot.domain.reasons.keyed`). The "leads" step
    reaches the leads of the departments that still owe an answer (outstanding, or holding a
    blocking objection), and sends the filing department's leads a copy; the "chair" step
    reaches the chair. A step with nobody to reach (no such department has a lead) is passed
    over."""
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
                                reason=reason["reason"], at=now)):
        return 0
    request.escalation_step, request.escalated_at = step, now
    extra: dict[str, object] = {"departments": owing, "copies": copies} if target == "leads" else {}
    event = audit.record(s, kind="escalated", actor="cxbot", at=now, request_id=request.id, step=step,
                         target=target, recipients=recipients, **reason, **extra)
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


class Local:
    """A person's working time (the council's days and hours in their zone) at the sweep's `now`."""

    def __init__(self, time: WorkingTime, now: datetime) -> None:
        self.time = time
        self.working = time.is_working(now)
        self.today = time.local_date(now)
        self.tomorrow = _start_of(time, self.today + timedelta(days=1))
        # When a person who had today's DM gets the next one: their next working moment tomorrow or later.
        self.next_day_slot = time.next_working_moment(self.tomorrow)
        self._moments: dict[datetime, datetime] = {}

    def next_working_moment(self, at: datetime) -> datetime:
        moment = self._moments.get(at)
        if moment is None:
            moment = self._moments[at] = self.time.next_working_moment(at)
        return moment


class Clocks:
    """Each council's `Times` at a sweep's `now` (councils with the same working time share them)."""

    def __init__(self, zones: Mapping[str, str], now: datetime) -> None:
        self.zones, self.now = zones, now
        self._times: dict[WorkingTime, Times] = {}

    def __call__(self, working_time: WorkingTime) -> Times:
        times = self._times.get(working_time)
        if times is None:
            times = self._times[working_time] = Times(working_time, self.zones, self.now)
        return times


class Times:
    """What a sweep works out about a council's working time at its `now`, once for everyone
    in a zone and every request filed at the same instant (the morning's sweep asks the same
    questions about thousands of people and requests)."""

    def __init__(self, working_time: WorkingTime, zones: Mapping[str, str], now: datetime) -> None:
        self.working_time, self.zones, self.now = working_time, zones, now
        self.today = working_time.local_date(now)
        self._locals: dict[str | None, Local] = {}
        self._days_since: dict[datetime, int] = {}

    def of(self, person: str) -> Local:
        """`person`'s working time: the council's days and hours in their own zone (the
        council's when Slack gave none usable)."""
        timezone = self.zones.get(person)
        local = self._locals.get(timezone)
        if local is None:
            try:
                time = self.working_time.in_zone(timezone) if timezone else self.working_time
            except ValueError:
                time = self.working_time
            local = self._locals[timezone] = Local(time, self.now)
        return local

    def working_days_since(self, at: datetime) -> int:
        days = self._days_since.get(at)
        if days is None:
            days = self._days_since[at] = self.working_time.working_days_between(at, self.now)
        return days


def _remind(s: Session, batch: Batch, request: ReviewRequest, outstanding: Collection[str], holds: Iterable[Hold],
            policy: CouncilPolicy, clocks: Clocks, now: datetime) -> tuple[int, datetime | None]:
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
    snapshot = batch.snapshot
    council = snapshot.council_of(request.department_id)
    working_time = snapshot.rules[council][1]
    times = clocks(working_time)
    council_today = times.today
    held = {h.department_id for h in holds}
    keys = batch.snapshot.keys
    owing = [d for d in batch.entry(request).routings if keys[d] in outstanding and d not in held]
    if not owing:
        return 0, None
    reminders = policy.reminders
    closing_from = request.due_at - timedelta(hours=reminders.closing_soon_hours)
    daily_from = _working_days_reached(working_time, request.created_at, reminders.first_after_days)
    closing_window = closing_from <= now < request.due_at
    daily_due = times.working_days_since(request.created_at) >= reminders.first_after_days
    away = snapshot.away_in[council]
    voted = batch.entry(request).voted
    advocates = snapshot.advocates_of(owing)
    recused = snapshot.filing_side(request.department_id)
    owed: dict[str, str] = {}   # recipient → the advocate they answer as
    for advocate in advocates:
        if advocate in voted:
            continue
        recipient = away.get(advocate, advocate)
        if advocate in recused or recipient in recused:
            continue
        owed.setdefault(recipient, advocate)
    if not owed:
        return 0, _next_stand_in_change(snapshot, working_time, advocates, council_today)
    # The days claimed that can still matter (a recipient's date is at most a day off the
    # council's), and this request's closing-soon notices: read first, so only what is
    # missing is inserted and the steady state never fails on a unique key.
    days = snapshot.claims_of(s, owed, council_today - timedelta(days=1))
    closed = batch.closed(request.id, owed)
    sent = 0
    local_of: dict[str, Local] = {}
    for recipient, advocate in owed.items():
        local = local_of[recipient] = times.of(recipient)
        if not local.working:
            continue
        today = local.today
        claimed_at = days[recipient].get(today)
        if closing_window and recipient not in closed:
            joined = any(closing_from <= at < request.due_at for at in days[recipient].values())
            if claimed_at is None and not joined:
                if _claim_day(s, batch, recipient, today, now, clocks):
                    sent += 1
            elif not joined:
                if request.due_at > local.next_day_slot:
                    continue   # the next day's DM comes first, and carries it
                notices.reminder(s, request.id, recipient, "closing", advocate if recipient != advocate else None, now)
                sent += 1
            batch.claim_closing(request.id, recipient, today, now)
            closed.add(recipient)
        elif daily_due and claimed_at is None:
            if _claim_day(s, batch, recipient, today, now, clocks):
                sent += 1
    # Those in the same zone who had (or had not) today's DM and this notice are owed their
    # next reminder at the same moment: worked out once for each such group.
    groups: dict[tuple[Local, bool, tuple[tuple[date, datetime], ...]], Mapping[date, datetime]] = {}
    for recipient in owed:
        claims = days[recipient]
        groups.setdefault((local_of[recipient], recipient in closed, tuple(claims.items())), claims)
    moments: list[datetime | None] = [
        _next_reminder(local, claims, closed_, daily_from, closing_from, request.due_at, now)
        for (local, closed_, _), claims in groups.items()]
    moments.append(_next_stand_in_change(snapshot, working_time, advocates, council_today))
    return sent, min((m for m in moments if m is not None), default=None)


def _claim_day(s: Session, batch: Batch, user: str, day: date, now: datetime, clocks: Clocks) -> bool:
    """Claim `user`'s reminder DM of `day` and list in it everything they owe now that is due
    a reminder (from `first_after_days` working days after filing, or in its closing-soon
    hours, by the rules of each request's council: one DM across councils); False when
    claimed already. The batch writes the claim when it ends (should another sweep have
    claimed that day first, the claim is dropped and the rest kept)."""
    snapshot = batch.snapshot
    owed = snapshot.owed_by(s, user)
    due = snapshot.reminder_due
    for o in owed:
        if o.request_id not in due:
            _reminder_due(snapshot, clocks, o, now)
    return batch.claim_day(user, day, now, [o for o in owed if due[o.request_id]])


def _reminder_due(snapshot: Snapshot, clocks: Clocks, owed: Owed, now: datetime) -> None:
    """Work out whether the request `owed` names is due a reminder now, into `snapshot.reminder_due`."""
    policy, working_time = snapshot.rules[owed.council_id]
    reminders = policy.reminders
    snapshot.reminder_due[owed.request_id] = (
        clocks(working_time).working_days_since(owed.created_at) >= reminders.first_after_days
        or owed.due_at - timedelta(hours=reminders.closing_soon_hours) <= now < owed.due_at)


def _next_reminder(local: Local, claims: Mapping[date, datetime], closed: bool,
                   daily_from: datetime, closing_from: datetime, due_at: datetime, now: datetime) -> datetime:
    """The next moment a recipient (working `local`, their DMs claimed on `claims`) is owed
    a reminder: the first of their working moments from when daily reminders start
    (tomorrow's, if they had today's DM), or the first in the closing window before the
    deadline, if they have not had that notice and no DM of theirs will carry it (today's
    went out before the window opened and the deadline falls before their next one)."""
    claimed_today = claims.get(local.today)
    daily = max(now, daily_from)
    if claimed_today is not None:
        daily = max(daily, local.tomorrow)
    moment = local.next_working_moment(daily)
    if not closed and now < due_at:
        joined = any(closing_from <= at < due_at for at in claims.values())
        alone = claimed_today is not None and due_at <= local.next_day_slot
        if not joined and (claimed_today is None or alone):
            closing = local.next_working_moment(max(now, closing_from))
            if closing < due_at:
                moment = min(moment, closing)
    return moment


def _next_stand_in_change(snapshot: Snapshot, working_time: WorkingTime, advocates: Collection[str],
                          today: date) -> datetime | None:
    """The start of the next day after `today` on which a stand-in for one of `advocates`
    begins or ends (who is reminded changes then)."""
    day = snapshot.next_stand_in_change(advocates, today)
    return _start_of(working_time, day) if day is not None else None
