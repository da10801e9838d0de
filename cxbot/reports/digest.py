"""Computing the weekly digest with a fixed number of SQL queries, whatever the week holds.

A week is an ISO week in the council's time zone. Past weeks are reconstructed from
timestamps (created, decided, first answered, due), so the digest of 2026-W48 reads the
same whenever it is computed; for the current week, "at the end of the week" means now.
A department is outstanding on a request until one of its advocates first approves or
objects (`routings.answered_at`).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, text, true, union_all
from sqlalchemy.orm import Session, aliased

from cxbot.domain.conditions import conditions_of
from cxbot.domain.cost import CustomerCost
from cxbot.domain.errors import InvalidInput
from cxbot.domain.model import UNDER_REVIEW, Role, Status, VoteKind
from cxbot.domain.moments import Moment
from cxbot.i18n import N_
from cxbot.reports.experience import experience, follow_ups
from cxbot.reports.model import (
    Condition,
    Decided,
    DepartmentStats,
    Digest,
    Headline,
    Objection,
    StageObjections,
    StageStats,
    UnmetConditions,
    Waiting,
    WeekDecisions,
)
from cxbot.store.models import (
    CONDITIONS,
    AuditEvent,
    DailyReminder,
    Department,
    Escalation,
    Membership,
    Reminder,
    ReviewRequest,
    Routing,
    Vote,
)

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
HISTORY_WEEKS = 12
FINAL = (Status.APPROVED, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED)


def parse_week(text: str) -> date:
    """The Monday of an ISO week written like 2026-W48."""
    match = WEEK.match(text)
    if not match:
        raise InvalidInput({"week": N_("{text} is not an ISO week like 2026-W48.", text=repr(text))})
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise InvalidInput({"week": N_("{year} has no week {week}.", year=match[1], week=int(match[2]))}) from None


def week_label(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(at: datetime, timezone: str) -> str:
    return week_label(at.astimezone(ZoneInfo(timezone)).date())


def previous_week(week: str) -> str:
    return week_label(parse_week(week) - timedelta(days=7))


def week_bounds(week: str, timezone: str) -> tuple[date, datetime, datetime]:
    """(Monday, start, end) of an ISO week; start and end are aware instants in the council's zone."""
    monday = parse_week(week)
    zone = ZoneInfo(timezone)
    return (monday, datetime.combine(monday, time(0), zone),
            datetime.combine(monday + timedelta(days=7), time(0), zone))


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _in(column, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    return and_(column >= start, column < end)


def _open_at(cut: datetime):  # type: ignore[no-untyped-def]
    """Filed before `cut` and not decided by then (a reopened request counts as open again)."""
    return and_(ReviewRequest.created_at < cut,
                or_(ReviewRequest.decided_at.is_(None), ReviewRequest.decided_at >= cut))


def of_council(council_id: int | None) -> ColumnElement[bool]:
    """The requests of one council (those filed by its departments); every request without one."""
    if council_id is None:
        return true()
    return ReviewRequest.department_id.in_(select(Department.id).where(Department.council_id == council_id))


def headline(s: Session, start: datetime, end: datetime, cut: datetime,
             mine: ColumnElement[bool] | None = None) -> Headline:
    """The week's numbers; open and overdue as at `cut` (the end of the week, or now); of the
    requests `mine` (`of_council`), every one without it."""
    mine = true() if mine is None else mine
    filed = s.scalar(select(func.count()).select_from(ReviewRequest).where(_in(ReviewRequest.created_at, start, end),
                                                                           mine))
    outcomes = {status: n for status, n in s.execute(
        select(ReviewRequest.status, func.count())
        .where(_in(ReviewRequest.decided_at, start, end), ReviewRequest.status.in_(FINAL), mine)
        .group_by(ReviewRequest.status))}
    open_, overdue = s.execute(select(
        func.count(), func.coalesce(func.sum(case((ReviewRequest.due_at < cut, 1), else_=0)), 0),
    ).select_from(ReviewRequest).where(_open_at(cut), mine)).one()
    escalated = s.scalar(select(func.count(func.distinct(Escalation.request_id)))
                         .join(ReviewRequest, ReviewRequest.id == Escalation.request_id)
                         .where(_in(Escalation.at, start, end), mine))
    durations = [_hours(c, d) for c, d in s.execute(
        select(ReviewRequest.created_at, ReviewRequest.decided_at)
        .where(_in(ReviewRequest.decided_at, start, end),
               ReviewRequest.status.in_((Status.APPROVED, Status.REJECTED)), mine))]
    return Headline(
        filed=filed or 0, approved=outcomes.get(Status.APPROVED, 0), rejected=outcomes.get(Status.REJECTED, 0),
        withdrawn=outcomes.get(Status.WITHDRAWN, 0), expired=outcomes.get(Status.EXPIRED, 0),
        open=int(open_), overdue=int(overdue), escalated=escalated or 0,
        median_hours_to_decision=_median(durations),
    )


def compute_digest(s: Session, week: str, *, now: datetime, timezone: str, stages: Sequence[str],
                   council_id: int | None = None, moments: Sequence[Moment] = ()) -> Digest:
    """The digest of `week` as at `now`, in the council's `timezone`, with its lifecycle `stages`
    in the council's order; the use case reads both from the council and hands them in, with
    the council's id: only its requests and departments are counted."""
    tz = timezone
    monday, start, end = week_bounds(week, tz)
    cut = min(end, now)
    _, prev_start, prev_end = week_bounds(previous_week(week), tz)
    mine = of_council(council_id)
    departments = list(s.scalars(select(Department).where(
        true() if council_id is None else Department.council_id == council_id)))
    names = {d.id: d.name for d in departments}
    keys = {d.id: d.key for d in departments}
    objections = _objections(s, start, end, names, mine)
    return Digest(
        week=week, starts=monday, ends=monday + timedelta(days=6), timezone=tz, generated_at=now,
        headline=headline(s, start, end, cut, mine),
        previous=headline(s, prev_start, prev_end, min(prev_end, now), mine),
        decided=_decided(s, start, end, names, mine),
        waiting=_waiting(s, cut, names, mine),
        objections_by_stage=_by_stage(objections, list(stages)),
        departments=_departments(s, start, end, names, keys, objections, departments, mine),
        stages=_stages(s, start, end, cut, list(stages), mine),
        history=_history(s, monday, tz, mine),
        unmet_conditions=_unmet_conditions(s, cut, names, mine),
        experience=experience(s, start, end, names, mine, list(stages), moments),
        previous_experience=tuple(r for r in experience(s, prev_start, prev_end, names, mine, list(stages), ())
                                  if not r.moment),
        follow_ups=follow_ups(s, start, end, departments, mine),
    )


def _decided(s: Session, start: datetime, end: datetime, names: dict[int, str],
             mine: ColumnElement[bool]) -> tuple[Decided, ...]:
    rows = s.execute(
        select(ReviewRequest.id, ReviewRequest.title, ReviewRequest.department_id, ReviewRequest.status,
               ReviewRequest.decided_at, ReviewRequest.customer_minutes, ReviewRequest.customers_per_month)
        .where(_in(ReviewRequest.decided_at, start, end), ReviewRequest.status.in_(FINAL), mine)
        .order_by(ReviewRequest.decided_at, ReviewRequest.id)).all()
    ids = [r.id for r in rows]
    reviewers: dict[int, list[str]] = defaultdict(list)
    for request_id, department_id in s.execute(
            select(Routing.request_id, Routing.department_id).where(Routing.request_id.in_(ids))
            .order_by(Routing.request_id, Routing.position)):
        reviewers[request_id].append(names[department_id])
    titles = {r.id: r.title for r in rows}
    statuses = {r.id: r.status for r in rows}
    objections: dict[int, list[Objection]] = defaultdict(list)
    for v in s.scalars(select(Vote).where(Vote.request_id.in_(ids), Vote.kind == VoteKind.OBJECT)
                       .order_by(Vote.cast_at, Vote.id)):
        objections[v.request_id].append(_objection(v, titles[v.request_id], names, statuses[v.request_id]))
    # A decision recorded with a person as its actor was the chair's; the policy's are cxbot's.
    chair_decided = set(s.scalars(select(AuditEvent.request_id).where(
        AuditEvent.request_id.in_(ids), AuditEvent.kind == "decided", AuditEvent.actor != "cxbot")))
    approved = [r.id for r in rows if r.status is Status.APPROVED]
    conditions = {request_id: tuple(Condition(v.user_id, names[v.department_id], v.note.strip(),
                                              v.condition_met_at is not None and v.condition_met_at < end)
                                    for v in votes)
                  for request_id, votes in _conditions(s, approved).items()}
    return tuple(
        Decided(r.id, r.title, names[r.department_id], r.status.value, r.decided_at, tuple(reviewers[r.id]),
                tuple(objections[r.id]), by_chair=r.id in chair_decided, conditions=conditions.get(r.id, ()),
                customer_hours=CustomerCost(r.customer_minutes, r.customers_per_month).hours_a_month)
        for r in rows)


def _conditions(s: Session, request_ids: list[int]) -> dict[int, list[Vote]]:
    """The approvals with a condition of these requests (`conditions_of`), in one query over
    the requests that have any approval with a note."""
    if not request_ids:
        return {}
    with_notes = select(Vote.request_id).where(text(CONDITIONS), Vote.request_id.in_(request_ids),
                                               Vote.retracted.is_(False))
    votes: dict[int, list[Vote]] = defaultdict(list)
    for v in s.scalars(select(Vote).where(Vote.request_id.in_(with_notes), Vote.retracted.is_(False))):
        votes[v.request_id].append(v)
    return {request_id: found for request_id, rows in votes.items() if (found := conditions_of(rows))}


def _unmet_conditions(s: Session, cut: datetime, names: dict[int, str],
                      mine: ColumnElement[bool]) -> tuple[UnmetConditions, ...]:
    """Requests approved by `cut` with a condition not marked met by then, oldest approval first."""
    # The condition's own predicate first: the partial index holds only approvals with a condition.
    candidates = select(Vote.request_id).where(text(CONDITIONS), Vote.retracted.is_(False),
                                               or_(Vote.condition_met_at.is_(None), Vote.condition_met_at > cut))
    rows = {r.id: r for r in s.execute(
        select(ReviewRequest.id, ReviewRequest.title, ReviewRequest.department_id, ReviewRequest.decided_at)
        .where(ReviewRequest.id.in_(candidates), ReviewRequest.status == Status.APPROVED,
               ReviewRequest.decided_at <= cut, mine))}
    items = []
    for request_id, votes in _conditions(s, list(rows)).items():
        unmet = tuple(Condition(v.user_id, names[v.department_id], v.note.strip(), False) for v in votes
                      if v.condition_met_at is None or v.condition_met_at > cut)
        if unmet:
            r = rows[request_id]
            items.append(UnmetConditions(r.id, r.title, names[r.department_id], r.decided_at,
                                         round(_hours(r.decided_at, cut), 1), unmet))
    return tuple(sorted(items, key=lambda u: (u.approved_at, u.request_id)))


def _objection(v: Vote, title: str, names: dict[int, str], status: Status) -> Objection:
    """An objection and where it stands; one its request's withdrawal left behind unresolved
    reads as withdrawn (it no longer stands against anything), not as standing."""
    resolution = v.resolution.value if v.resolution else None
    if v.retracted or (resolution is None and status is Status.WITHDRAWN):
        resolution = "withdrawn"
    return Objection(v.request_id, title, v.user_id, names[v.department_id], v.note, v.blocking, resolution)


def _waiting(s: Session, cut: datetime, names: dict[int, str], mine: ColumnElement[bool]) -> tuple[Waiting, ...]:
    """Every request under review at `cut`, overdue first, then by due time (ordered by the
    database: a company can have fifteen thousand)."""
    overdue = case((ReviewRequest.due_at < cut, 1), else_=0)
    rows = s.execute(
        select(ReviewRequest.id, ReviewRequest.title, ReviewRequest.department_id, ReviewRequest.status,
               ReviewRequest.due_at, overdue.label("overdue"))
        .where(_open_at(cut), mine).order_by(overdue.desc(), ReviewRequest.due_at, ReviewRequest.id)).all()
    outstanding: dict[int, list[str]] = defaultdict(list)
    for request_id, department_id in s.execute(
            select(Routing.request_id, Routing.department_id)
            .join(ReviewRequest, ReviewRequest.id == Routing.request_id)
            .where(_open_at(cut), or_(Routing.answered_at.is_(None), Routing.answered_at >= cut), mine)
            .order_by(Routing.request_id, Routing.position)):
        outstanding[request_id].append(names[department_id])
    shown = {status: status.value if status.value in UNDER_REVIEW else Status.OPEN.value for status in Status}
    return tuple(Waiting(r.id, r.title, names[r.department_id], shown[r.status], r.due_at, bool(r.overdue),
                         tuple(outstanding[r.id]))
                 for r in rows)


def _objections(s: Session, start: datetime, end: datetime, names: dict[int, str],
                mine: ColumnElement[bool]) -> list[tuple[Objection, list[str]]]:
    """This week's objections, each with the stages of its request."""
    return [
        (_objection(v, title, names, status), list(stages))
        for v, title, stages, status in s.execute(
            select(Vote, ReviewRequest.title, ReviewRequest.stages, ReviewRequest.status)
            .join(ReviewRequest, ReviewRequest.id == Vote.request_id)
            .where(Vote.kind == VoteKind.OBJECT, _in(Vote.cast_at, start, end), mine)
            .order_by(Vote.cast_at, Vote.id))
    ]


def _by_stage(objections: list[tuple[Objection, list[str]]], stages: list[str]) -> tuple[StageObjections, ...]:
    grouped: dict[str, list[Objection]] = defaultdict(list)
    for objection, touched in objections:
        for stage in touched:
            grouped[stage].append(objection)
    order = {stage: i for i, stage in enumerate(stages)}
    return tuple(StageObjections(stage, tuple(items))
                 for stage, items in sorted(grouped.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def _departments(s: Session, start: datetime, end: datetime, names: dict[int, str], keys: dict[int, str],
                 objections: list[tuple[Objection, list[str]]], departments: list[Department],
                 mine: ColumnElement[bool]) -> tuple[DepartmentStats, ...]:
    routed: dict[int, list[tuple[datetime, datetime, datetime | None]]] = defaultdict(list)
    for department_id, created, due, answered in s.execute(
            select(Routing.department_id, ReviewRequest.created_at, ReviewRequest.due_at, Routing.answered_at)
            .join(ReviewRequest, ReviewRequest.id == Routing.request_id)
            .where(_in(ReviewRequest.created_at, start, end), mine)):
        routed[department_id].append((created, due, answered))
    # Counted per person first: a company's morning lists 250,000 requests in its reminders,
    # and matching each one against the council's departments took SQLite over a second.
    advocate = aliased(Membership)
    # A daily DM counts each request it lists (`listed`: ids, comma-separated).
    listed = DailyReminder.listed
    sent = union_all(
        select(Reminder.user_id, literal(1).label("n")).where(_in(Reminder.at, start, end)),
        select(DailyReminder.user_id, (func.length(listed) - func.length(func.replace(listed, ",", "")) + 1)
               .label("n")).where(_in(DailyReminder.at, start, end), listed != "")).subquery()
    per_person = select(sent.c.user_id, func.sum(sent.c.n).label("n")).group_by(sent.c.user_id).subquery()
    reminders = {department_id: int(n) for department_id, n in s.execute(
        select(advocate.department_id, func.sum(per_person.c.n)).select_from(per_person)
        .join(advocate, and_(advocate.user_id == per_person.c.user_id, advocate.role == Role.ADVOCATE))
        .where(advocate.department_id.in_(list(names)))
        .group_by(advocate.department_id))}
    filing = {department_id: (filed, first_time, amended) for department_id, filed, first_time, amended in s.execute(
        select(ReviewRequest.department_id, func.count(),
               func.sum(case((and_(ReviewRequest.status == Status.APPROVED, ReviewRequest.version == 1), 1),
                             else_=0)),
               func.sum(case((ReviewRequest.version > 1, 1), else_=0)))
        .where(_in(ReviewRequest.created_at, start, end), mine)
        .group_by(ReviewRequest.department_id))}
    raised = Counter(o.department for o, _ in objections)
    active = {d.id for d in departments if d.active}
    order = {d.id: d.position for d in departments}
    ids = sorted(active | set(routed) | set(filing), key=lambda i: order.get(i, 0))
    stats = []
    for department_id in ids:
        rows = routed.get(department_id, [])
        answered = [(c, d, a) for c, d, a in rows if a is not None]
        filed, first_time, amended = filing.get(department_id, (0, 0, 0))
        stats.append(DepartmentStats(
            key=keys[department_id], name=names[department_id], routed=len(rows), answered=len(answered),
            answered_on_time=sum(1 for _, due, a in answered if a <= due),
            median_hours_to_answer=_median([_hours(c, a) for c, _, a in answered]),
            objections_raised=raised.get(names[department_id], 0), reminders=reminders.get(department_id, 0),
            filed=int(filed), approved_first_time=int(first_time or 0), amended=int(amended or 0),
        ))
    return tuple(stats)


def stage_counts(s: Session, where: Any) -> Counter[str]:
    """How many of the requests matching `where` touch each stage, counted by the database: a
    company has thousands of requests open, and decoding each one's stages in Python costs more
    than the rest of the digest's queries."""
    elements = "json_array_elements_text" if s.get_bind().dialect.name == "postgresql" else "json_each"
    stage = getattr(func, elements)(ReviewRequest.stages).table_valued("value").alias("stage")
    return Counter({name: int(n) for name, n in s.execute(
        select(stage.c.value, func.count()).select_from(ReviewRequest).join(stage, literal(True))
        .where(where).group_by(stage.c.value))})


def _stages(s: Session, start: datetime, end: datetime, cut: datetime, stages: list[str],
            mine: ColumnElement[bool]) -> tuple[StageStats, ...]:
    touched = stage_counts(s, and_(_in(ReviewRequest.created_at, start, end), mine))
    pending = stage_counts(s, and_(_open_at(cut), mine))
    known = list(stages) + sorted((set(touched) | set(pending)) - set(stages))
    return tuple(StageStats(stage, touched.get(stage, 0), pending.get(stage, 0)) for stage in known
                 if touched.get(stage) or pending.get(stage))


def _history(s: Session, monday: date, timezone: str, mine: ColumnElement[bool]) -> tuple[WeekDecisions, ...]:
    """Decisions per week over the last 12 weeks (this one included), oldest first."""
    first = monday - timedelta(weeks=HISTORY_WEEKS - 1)
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), zone)
    counts: dict[str, Counter[Status]] = {week_label(first + timedelta(weeks=i)): Counter()
                                          for i in range(HISTORY_WEEKS)}
    for decided_at, status in s.execute(
            select(ReviewRequest.decided_at, ReviewRequest.status)
            .where(_in(ReviewRequest.decided_at, start, end), ReviewRequest.status.in_(FINAL), mine)):
        counts[week_of(decided_at, timezone)][status] += 1
    return tuple(WeekDecisions(week, c[Status.APPROVED], c[Status.REJECTED], c[Status.WITHDRAWN], c[Status.EXPIRED])
                 for week, c in counts.items())


__all__ = ["compute_digest", "headline", "parse_week", "previous_week", "week_bounds", "week_of"]
