"""What `/cx-review` offers a person: the filing form of their council, or, when they file
in several councils, the question which one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from cxbot.council_file import DEFAULT_COUNCIL
from cxbot.domain.errors import NotAllowed, NotFound
from cxbot.domain.model import Role
from cxbot.domain.moments import Moment, moments_of
from cxbot.domain.permissions import Membership as MembershipView
from cxbot.domain.permissions import filing_refusal
from cxbot.i18n import N_
from cxbot.services.council import NO_COUNCIL
from cxbot.store.db import once_more_if_dropped
from cxbot.store.models import Council, Department, Membership, ReviewRequest


@dataclass(frozen=True)
class FilingForm:
    """What the filing modal offers this person, in one council."""

    departments: list[tuple[str, str]]  # (key, name) they may file for
    stages: tuple[str, ...]
    timezone: str
    council: str = DEFAULT_COUNCIL      # the council's key: the modal carries it to the submission
    moments: tuple[Moment, ...] = ()    # the council's moments of truth, offered by stage


@dataclass(frozen=True)
class CouncilChoice:
    """A person who may file in several councils is asked which first."""

    councils: tuple[tuple[str, str], ...]   # (key, channel) of each council they may file in


STALE_COUNCIL = N_("That council is no longer set up here: run `/cx-review` again.")


def filing_form(connect: Callable[[], Connection], user: str, council: str | None = None) -> FilingForm | CouncilChoice:
    """The form of `council` (by key), or, without one, of the only council the person may
    file in, or the choice of councils when they may file in several. Raises NotAllowed
    (with whom to ask) for people who are neither leads nor advocates.

    One Core query on a connection from `connect` (a `Services.glance`): it runs on every
    `/cx-review`, between the acknowledgement and the modal, where the ORM would cost four
    times as much CPU."""

    def read() -> list[Any]:
        with connect() as connection:
            return list(connection.execute(_FORM, {"user": user}).all())

    rows = once_more_if_dropped(read)
    if not rows:
        raise NotFound(NO_COUNCIL)
    by_council: dict[str, list[Any]] = {}
    for row in rows:
        by_council.setdefault(row.council, []).append(row)
    forms: dict[str, FilingForm] = {}
    refusals: dict[str, str] = {}
    for key, mine in by_council.items():
        chair, admins, stages, timezone, moments = mine[0][2:7]
        who = MembershipView(user=user, roles=frozenset((r.key, r.role) for r in mine if r.key is not None),
                             is_chair=chair == user, is_admin=user in admins)
        refusal = filing_refusal(who, chair)
        if refusal:
            refusals[key] = refusal
            continue
        wanted = who.departments(Role.LEAD, Role.ADVOCATE)
        departments = list(dict.fromkeys((r.key, r.name) for r in mine if r.key in wanted))
        forms[key] = FilingForm(departments, tuple(stages), timezone, key, moments_of(moments))
    if council is not None:
        if council not in by_council:
            raise NotFound(STALE_COUNCIL)
        if council in refusals:
            raise NotAllowed(refusals[council])
        return forms[council]
    if not forms:
        raise NotAllowed(next(iter(refusals.values())))
    if len(forms) == 1:
        return next(iter(forms.values()))
    channels = {key: mine[0].channel for key, mine in by_council.items()}
    return CouncilChoice(tuple((key, channels[key]) for key in forms))


_council, _membership, _department = Council.__table__, Membership.__table__, Department.__table__
# One person's active memberships in active departments, of any council.
_MINE = (select(_membership.c.role, _department.c.key, _department.c.name, _department.c.council_id,
                _department.c.position)
         .join(_department, and_(_department.c.id == _membership.c.department_id, _department.c.active.is_(True)))
         .where(_membership.c.user_id == bindparam("user"), _membership.c.active.is_(True))
         .subquery())
# Every council, with those memberships joined on.
_FORM = (select(_council.c.key.label("council"), _council.c.channel, _council.c.chair, _council.c.admins,
                _council.c.stages, _council.c.timezone, _council.c.moments, _MINE.c.role, _MINE.c.key,
                _MINE.c.name)
         .select_from(_council)
         .outerjoin(_MINE, _MINE.c.council_id == _council.c.id)
         .order_by(_council.c.id, _MINE.c.position))


_COUNCIL_MOMENTS = select(_council.c.moments).where(_council.c.key == bindparam("key"))
_REQUEST_MOMENTS = (select(_council.c.moments)
                    .join(_department, _department.c.council_id == _council.c.id)
                    .join(ReviewRequest.__table__, ReviewRequest.__table__.c.department_id == _department.c.id)
                    .where(ReviewRequest.__table__.c.id == bindparam("request")))


def form_moments(connect: Callable[[], Connection], *, council: str | None = None,
                 request_id: int | None = None) -> tuple[Moment, ...]:
    """The moments of truth a filing form offers: those of `council` (a new request's form) or
    of the council of request `request_id` (an amendment's, a revision's). Read while a person
    changes the stages picked, to offer only the moments of those stages: one Core query."""
    statement, params = ((_REQUEST_MOMENTS, {"request": request_id}) if request_id is not None
                         else (_COUNCIL_MOMENTS, {"key": council or DEFAULT_COUNCIL}))
    with connect() as connection:
        return moments_of(connection.execute(statement, params).scalar())
