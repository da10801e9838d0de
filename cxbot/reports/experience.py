"""The digest's "Across the experience": what the week's decisions touched, stage by stage and
moment of truth by moment of truth, the customer time they add or save, how the follow-ups
came back, and each department's follow-ups and objections proved right.

Read by cxbot.reports.digest for one council (`mine`) and one week ([start, end)).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from cxbot.domain.cost import CustomerCost
from cxbot.domain.model import Status, VoteKind
from cxbot.domain.moments import Moment
from cxbot.reports.model import ExperienceRow, FollowUpStats
from cxbot.store.models import Department, FollowUp, ReviewRequest, Vote

FINAL = (Status.APPROVED, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED)


def _in(column, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    return and_(column >= start, column < end)


def experience(s: Session, start: datetime, end: datetime, names: dict[int, str], mine: ColumnElement[bool],
                stages: list[str], moments: Sequence[Moment]) -> tuple[ExperienceRow, ...]:
    """Across the experience: for each stage (the council's order), then each of its moments of
    truth, the changes decided this week that touch it, how many were approved, the customer
    hours a month the approved ones add or save (where their filers said), and which
    departments filed them. Only what this week's decisions touched is listed."""
    decided = s.execute(
        select(ReviewRequest.stages, ReviewRequest.moments, ReviewRequest.department_id, ReviewRequest.status,
               ReviewRequest.customer_minutes, ReviewRequest.customers_per_month)
        .where(_in(ReviewRequest.decided_at, start, end), ReviewRequest.status.in_(FINAL), mine)).all()
    # The filers' follow-ups answered this week, with what the change touched.
    answered = s.execute(
        select(ReviewRequest.stages, ReviewRequest.moments, FollowUp.answer)
        .join(FollowUp, FollowUp.request_id == ReviewRequest.id)
        .where(FollowUp.role == "filer", _in(FollowUp.answered_at, start, end), mine)).all()
    # …and those that came due (were asked) this week.
    due = s.execute(
        select(ReviewRequest.stages, ReviewRequest.moments)
        .join(FollowUp, FollowUp.request_id == ReviewRequest.id)
        .where(FollowUp.role == "filer", _in(FollowUp.sent_at, start, end), mine)).all()
    rows: list[ExperienceRow] = []

    def row(stage: str, moment: str, touching: list[Any], results: list[str], asked: int) -> None:
        if not touching and not results and not asked:
            return
        approved = [r for r in touching if r.status == Status.APPROVED]
        costed = [CustomerCost(r.customer_minutes, r.customers_per_month) for r in approved]
        hours = [c.hours_a_month for c in costed if c.hours_a_month is not None]
        rows.append(ExperienceRow(
            stage=stage, moment=moment, decided=len(touching), approved=len(approved),
            customer_hours=round(sum(hours), 1), costed=len(hours),
            departments=tuple(dict.fromkeys(names.get(r.department_id, "") for r in touching)),
            followed_up=len(results), held=sum(1 for a in results if a in ("as_predicted", "better")),
            worse=sum(1 for a in results if a == "worse"), follow_ups_due=asked))

    touched = {st for r in [*decided, *answered, *due] for st in r.stages or ()}
    for stage in list(stages) + sorted(touched - set(stages)):
        row(stage, "", [r for r in decided if stage in (r.stages or ())],
            [a.answer for a in answered if stage in (a.stages or ())],
            sum(1 for d in due if stage in (d.stages or ())))
        for m in moments:
            if m.stage == stage:
                row(stage, m.name, [r for r in decided if m.key in (r.moments or ())],
                    [a.answer for a in answered if m.key in (a.moments or ())],
                    sum(1 for d in due if m.key in (d.moments or ())))
    return tuple(rows)


def follow_ups(s: Session, start: datetime, end: datetime, departments: list[Department],
                mine: ColumnElement[bool]) -> tuple[FollowUpStats, ...]:
    """Each department's follow-ups of the week: a filer's belongs to the filing department, an
    objector's to the department they objected for."""
    objected_for = (select(Vote.department_id).where(Vote.request_id == FollowUp.request_id,
                                                     Vote.user_id == FollowUp.user_id, Vote.kind == VoteKind.OBJECT)
                    .order_by(Vote.id.desc()).limit(1).scalar_subquery())
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for role, department_id, objected, sent, answered, answer in s.execute(
            select(FollowUp.role, ReviewRequest.department_id, objected_for, FollowUp.sent_at, FollowUp.answered_at,
                   FollowUp.answer)
            .join(ReviewRequest, ReviewRequest.id == FollowUp.request_id)
            .where(or_(_in(FollowUp.sent_at, start, end), _in(FollowUp.answered_at, start, end)), mine)):
        c = counts[department_id if role == "filer" else objected]
        asked_now = sent is not None and start <= sent < end
        answered_now = answered is not None and start <= answered < end
        c[0] += asked_now
        c[1] += answered_now
        if role == "objector" and answered_now:
            c[2] += 1
            c[3] += answer == "came_true"
    return tuple(FollowUpStats(d.name, *counts[d.id]) for d in departments if d.id in counts)
