"""Advocates away: a substitute from the same department answers for them for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from cxbot.clock import Clock
from cxbot.domain.errors import InvalidInput, NotAllowed
from cxbot.domain.permissions import substitute_department
from cxbot.services import audit
from cxbot.services.council import membership
from cxbot.services.lifecycle import rules
from cxbot.store.models import Department, Substitute
from cxbot.store.uow import UnitOfWork

LONGEST = timedelta(days=366)
NOT_AN_ADVOCATE = "Only council advocates name a substitute."


@dataclass(frozen=True)
class AwayForm:
    """What the away form needs: the advocate's department and today in the council's zone."""

    department: str
    today: date


def away_form(uow: UnitOfWork, *, actor: str, clock: Clock) -> AwayForm:
    """Raises NotAllowed for anyone who is not an advocate (nobody would stand in for them)."""
    with uow:
        s = uow.session
        dept = membership(s, actor).advocate_of
        if dept is None:
            raise NotAllowed(NOT_AN_ADVOCATE)
        _, working_time = rules(s)
        name = s.scalar(select(Department.name).where(Department.key == dept)) or dept
        return AwayForm(department=name, today=working_time.local_date(clock.now()))


def set_away(uow: UnitOfWork, *, actor: str, substitute: str, until: date, clock: Clock) -> Substitute:
    """From today (council time) to `until`, routing, reminders and the right to vote pass to `substitute`."""
    now = clock.now()
    with uow:
        s = uow.session
        _, working_time = rules(s)
        today = working_time.local_date(now)
        who = membership(s, actor)
        dept = who.advocate_of
        if dept is None:
            raise NotAllowed(NOT_AN_ADVOCATE)
        if substitute == actor:
            raise InvalidInput({"substitute": "Name someone else from your department."})
        if substitute_department(who, membership(s, substitute)) is None:
            # Said without a mention: a modal's field error is plain text.
            name = s.scalar(select(Department.name).where(Department.key == dept)) or dept
            raise InvalidInput({"substitute": f"Pick a lead or advocate of {name}: only they can answer for you."})
        if until < today:
            raise InvalidInput({"until": f"That date is in the past: today is {today:%a %d %b %Y} in the council's "
                                         "time zone."})
        if until - today > LONGEST:
            raise InvalidInput({"until": "A substitute can stand in for a year at most."})
        for row in s.scalars(select(Substitute).where(Substitute.advocate == actor, Substitute.cancelled_at.is_(None),
                                                      Substitute.until >= today)):
            row.cancelled_at = now
        department_id = s.scalar(select(Department.id).where(Department.key == dept))
        row = Substitute(department_id=department_id, advocate=actor, substitute=substitute, starts_on=today,
                         until=until, created_at=now, cancelled_at=None)
        s.add(row)
        audit.record(s, kind="substitute_named", actor=actor, at=now, substitute=substitute, department=dept,
                     starts_on=today.isoformat(), until=until.isoformat())
        uow.commit()
        return row


def set_back(uow: UnitOfWork, *, actor: str, clock: Clock) -> int:
    """End the actor's current substitution; returns how many were ended."""
    now = clock.now()
    with uow:
        s = uow.session
        _, working_time = rules(s)
        rows = s.scalars(select(Substitute).where(Substitute.advocate == actor, Substitute.cancelled_at.is_(None),
                                                  Substitute.until >= working_time.local_date(now))).all()
        for row in rows:
            row.cancelled_at = now
        if rows:
            audit.record(s, kind="substitute_ended", actor=actor, at=now, substitutes=[r.substitute for r in rows])
            uow.commit()
        return len(rows)
