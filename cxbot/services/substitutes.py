"""Advocates away: a substitute from the same department answers for them for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.errors import InvalidInput, NotAllowed
from cxbot.domain.permissions import Membership as MembershipView
from cxbot.domain.permissions import substitute_department
from cxbot.i18n import N_
from cxbot.services import audit
from cxbot.services.council import council_rules, get_council, membership
from cxbot.services.home import republish_homes
from cxbot.store.models import Council, Department, Substitute
from cxbot.store.uow import UnitOfWork

LONGEST = timedelta(days=366)
NOT_AN_ADVOCATE = N_("Only council advocates name a substitute.")


@dataclass(frozen=True)
class AwayForm:
    """What the away form needs: the advocate's department and today in the council's zone."""

    department: str
    today: date


def _advocacies(s: Session, actor: str) -> list[tuple[Council, Department, MembershipView]]:
    """Where `actor` is an advocate: (council, department, their roles there), one per council
    (one department per advocate in a council)."""
    found = []
    for council in s.scalars(select(Council).order_by(Council.id)):
        who = membership(s, actor, council.id)
        if who.advocate_of is not None:
            department = s.scalar(select(Department).where(Department.council_id == council.id,
                                                           Department.key == who.advocate_of))
            assert department is not None
            found.append((council, department, who))
    return found


def away_form(uow: UnitOfWork, *, actor: str, clock: Clock) -> AwayForm:
    """Raises NotAllowed for anyone who is not an advocate (nobody would stand in for them)."""
    with uow:
        s = uow.session
        mine = _advocacies(s, actor)
        if not mine:
            raise NotAllowed(NOT_AN_ADVOCATE)
        _, working_time = council_rules(mine[0][0])
        return AwayForm(department=" / ".join(d.name for _, d, _ in mine),
                        today=working_time.local_date(clock.now()))


def set_away(uow: UnitOfWork, *, actor: str, substitute: str, until: date, clock: Clock) -> Substitute:
    """From today (council time) to `until`, routing, reminders and the right to vote pass to
    `substitute`: in each council where the actor advocates and the substitute leads or
    advocates for the same department (an advocate of several councils is away in all of
    them, and answered for wherever their substitute may answer)."""
    now = clock.now()
    with uow:
        s = uow.session
        mine = _advocacies(s, actor)
        if not mine:
            raise NotAllowed(NOT_AN_ADVOCATE)
        if substitute == actor:
            raise InvalidInput({"substitute": N_("Name someone else from your department.")})
        covered = [(c, d, who) for c, d, who in mine
                   if substitute_department(who, membership(s, substitute, c.id)) is not None]
        if not covered:
            # Said without a mention: a modal's field error is plain text.
            raise InvalidInput({"substitute": N_("Pick a lead or advocate of {departments}: only they can answer "
                                                 "for you.", departments=[d.name for _, d, _ in mine])})
        rows = []
        relieved: list[str] = []   # substitutes this one replaces: they owe nothing for the actor any more
        for council, department, _ in covered:
            _, working_time = council_rules(council)
            today = working_time.local_date(now)
            if until < today:
                raise InvalidInput({"until": N_("That date is in the past: today is {today} in the council's "
                                                "time zone.", today=today)})
            if until - today > LONGEST:
                raise InvalidInput({"until": N_("A substitute can stand in for a year at most.")})
            for row in s.scalars(select(Substitute).where(
                    Substitute.advocate == actor, Substitute.cancelled_at.is_(None), Substitute.until >= today,
                    Substitute.department_id.in_(select(Department.id).where(Department.council_id == council.id)))):
                row.cancelled_at = now
                relieved.append(row.substitute)
            row = Substitute(department_id=department.id, advocate=actor, substitute=substitute, starts_on=today,
                             until=until, created_at=now, cancelled_at=None)
            s.add(row)
            rows.append(row)
            audit.record(s, kind="substitute_named", actor=actor, at=now, substitute=substitute,
                         department=department.key, starts_on=today.isoformat(), until=until.isoformat(),
                         **({"council": council.key} if len(mine) > 1 else {}))
        republish_homes(s, [actor, substitute, *relieved], now)   # who owes the actor's answers changed
        uow.commit()
        return rows[0]


def set_back(uow: UnitOfWork, *, actor: str, clock: Clock) -> int:
    """End the actor's current substitutions, in every council; returns how many were ended."""
    now = clock.now()
    with uow:
        s = uow.session
        # A day before the earliest zone's date: a substitution of any council still current.
        since = now.astimezone(UTC).date() - timedelta(days=1)
        rows = s.scalars(select(Substitute).where(Substitute.advocate == actor, Substitute.cancelled_at.is_(None),
                                                  Substitute.until >= since)).all()
        rows = [row for row in rows if row.until >= _council_today(s, row, now)]
        for row in rows:
            row.cancelled_at = now
        if rows:
            audit.record(s, kind="substitute_ended", actor=actor, at=now, substitutes=[r.substitute for r in rows])
            republish_homes(s, [actor, *(r.substitute for r in rows)], now)
            uow.commit()
        return len(rows)


def _council_today(s: Session, row: Substitute, now: datetime) -> date:
    department = s.get(Department, row.department_id)
    assert department is not None
    return council_rules(get_council(s, department.council_id))[1].local_date(now)
