"""The Home tab: what a person sees when they open cxbot's Home, in one value per person.

A section per council the person belongs to: what their department still owes (the same as
the daily reminder, `reminders.owed_by`), what they answered lately, the requests they filed
or lead, and for the chair and admins the council at a glance. People outside every council
are told who to ask. Lists are capped here (Block Kit holds 100 blocks in a Home view), with
the number left out, so the builder never has to count.

Home is published when opened (`cxbot.slack.listeners.home`) and again, through the outbox,
for the people a change affects who have opened it before (`republish`): one pending publish
a person, coalesced like a message update, rendered from the state at delivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from cxbot.clock import Clock
from cxbot.domain.errors import NotAllowed
from cxbot.domain.model import Role, Status, VoteKind
from cxbot.i18n import N_
from cxbot.reports.digest import week_of
from cxbot.services.council import council_rules, find_council
from cxbot.services.lifecycle import current_tally, substitutes_now
from cxbot.services.outbox import enqueue, enqueue_coalesced_many
from cxbot.services.readmodel import RequestView, request_view
from cxbot.services.reminders import OPEN, Owed
from cxbot.services.sweep_batch import Snapshot
from cxbot.store.models import (
    Council,
    Department,
    Escalation,
    HomeTab,
    Membership,
    ReviewRequest,
    Routing,
    SlackMessage,
    Vote,
)
from cxbot.store.uow import UnitOfWork

HOME = "publish_home"   # the outbox kind: publish a person's Home tab, rendered at delivery
# How much one council's section shows (a person in several councils gets less of each):
# a request waiting on them or filed by them costs two blocks (the text and its buttons).
OWED_SHOWN = 12
MINE_SHOWN = 10
ANSWERED_SHOWN = 5
ESCALATED_SHOWN = 5
RECENTLY_DECIDED = timedelta(days=30)   # a decided request stays in "Your requests" this long
OVERDUE_READ = 100   # overdue requests counted by department (the oldest first)


@dataclass(frozen=True)
class OwedItem:
    """A request waiting on the person: what its line shows, read for all of them at once."""

    id: int
    title: str
    filed_by: str              # the filing department's name
    due_at: datetime
    timezone: str
    permalink: str
    overdue: bool
    department: str            # the department's name the person answers for
    on_behalf_of: str | None   # the away advocate they stand in for


@dataclass(frozen=True)
class AnsweredItem:
    request_id: int
    title: str
    vote: VoteKind
    at: datetime
    permalink: str
    timezone: str


@dataclass(frozen=True)
class Glance:
    """The council at a glance, for its chair and admins."""

    by_status: tuple[tuple[Status, int], ...]        # open requests by review stage
    overdue: tuple[tuple[str, int], ...]             # department name → overdue requests it still owes
    escalated: tuple[RequestView, ...]               # escalated to the chair: waiting on their decision
    escalated_more: int
    filed: int                                       # this week (Monday, the council's time)
    approved: int
    rejected: int
    week_start: datetime


@dataclass(frozen=True)
class CouncilHome:
    key: str
    channel: str
    chair: str
    timezone: str
    position: int              # the council's place among those the person files in (the file button's id)
    advocate: bool             # answers for a department (or stands in for someone who does)
    files: bool                # may file (a lead or an advocate)
    owed: tuple[OwedItem, ...]
    owed_more: int
    answered: tuple[AnsweredItem, ...]
    mine: tuple[RequestView, ...]
    mine_more: int
    glance: Glance | None


@dataclass(frozen=True)
class HomeView:
    user: str
    councils: tuple[CouncilHome, ...]
    chairs: tuple[tuple[str, str], ...]   # (chair, channel) of every council: whom an outsider asks

    @property
    def outsider(self) -> bool:
        return not self.councils


def opened(uow: UnitOfWork, user: str, *, clock: Clock) -> None:
    """Remember that `user` has opened Home, so changes publish it again from now on."""
    with uow:
        s = uow.session
        if s.get(HomeTab, user) is not None:
            return   # a later visit writes nothing (Slack sends the event on every one)
        try:
            with s.begin_nested():
                s.add(HomeTab(user_id=user, opened_at=clock.now()))
        except IntegrityError:
            pass   # opened twice at once: the other one remembered it
        uow.commit()


def home_of(uow: UnitOfWork, user: str, *, clock: Clock) -> HomeView:
    with uow:
        return home_view(uow.session, user, clock.now())


def _roles(s: Session, user: str) -> dict[int, set[Role]]:
    roles: dict[int, set[Role]] = {}
    for council_id, role in s.execute(
            select(Department.council_id, Membership.role).join(Membership.department)
            .where(Membership.user_id == user, Membership.active.is_(True), Department.active.is_(True))):
        roles.setdefault(council_id, set()).add(role)
    return roles


def home_view(s: Session, user: str, now: datetime) -> HomeView:
    councils = list(s.scalars(select(Council).order_by(Council.id)))
    roles = _roles(s, user)
    # What the person owes, as the daily reminder lists it, counted the morning sweep's way: a
    # handful of set-based reads, however many requests they owe on.
    owed = Snapshot(s, now).owed_by(s, user)
    stand_in = {o.council_id for o in owed if o.on_behalf_of}
    mine = [c for c in councils if c.id in roles or c.id in stand_in or c.chair == user or user in c.admins]
    share = max(1, len(mine))
    filing = [c.id for c in councils if roles.get(c.id)]
    homes = tuple(_council_home(s, user, council, now, roles.get(council.id, set()),
                                [o for o in owed if o.council_id == council.id], share,
                                filing.index(council.id) if council.id in filing else 0)
                  for council in mine)
    return HomeView(user=user, councils=homes, chairs=tuple((c.chair, c.channel) for c in councils))


def _council_home(s: Session, user: str, council: Council, now: datetime, roles: set[Role], owed: Sequence[Owed],
                  share: int, position: int) -> CouncilHome:
    owed_shown = max(2, OWED_SHOWN // share)
    items = _owed(s, owed[:owed_shown], council, now)
    mine_ids, mine_total = _mine(s, user, council, now, roles, max(2, MINE_SHOWN // share))
    chairing = council.chair == user or user in council.admins
    return CouncilHome(
        key=council.key, channel=council.channel, chair=council.chair, timezone=council.timezone, position=position,
        advocate=Role.ADVOCATE in roles or bool(owed), files=bool(roles),
        owed=items, owed_more=max(0, len(owed) - owed_shown),
        answered=_answered(s, user, council, max(2, ANSWERED_SHOWN // share)) if Role.ADVOCATE in roles or owed else (),
        mine=tuple(request_view(s, r, now=now) for r in mine_ids), mine_more=max(0, mine_total - len(mine_ids)),
        glance=_glance(s, council, now, max(2, ESCALATED_SHOWN // share)) if chairing else None,
    )


_FILING = aliased(Department)


def _owed(s: Session, owed: Sequence[Owed], council: Council, now: datetime) -> tuple[OwedItem, ...]:
    """The lines of the requests waiting on the person, in one read (not a full view each)."""
    if not owed:
        return ()
    rows = {r.id: r for r in s.execute(
        select(ReviewRequest.id, ReviewRequest.title, ReviewRequest.due_at, _FILING.name.label("filed_by"),
               SlackMessage.permalink)
        .join(_FILING, _FILING.id == ReviewRequest.department_id)
        .outerjoin(SlackMessage, (SlackMessage.request_id == ReviewRequest.id) & (SlackMessage.role == "parent"))
        .where(ReviewRequest.id.in_([o.request_id for o in owed])))}
    names = dict(s.execute(select(Department.id, Department.name).where(
        Department.id.in_({o.department_id for o in owed}))).all())
    return tuple(OwedItem(o.request_id, r.title, r.filed_by, r.due_at, council.timezone, r.permalink or "",
                          now >= r.due_at, names.get(o.department_id, ""), o.on_behalf_of)
                 for o in owed if (r := rows.get(o.request_id)) is not None)


def _in_council(council: Council) -> ColumnElement[bool]:
    return ReviewRequest.department_id.in_(select(Department.id).where(Department.council_id == council.id))


def _answered(s: Session, user: str, council: Council, limit: int) -> tuple[AnsweredItem, ...]:
    """The person's latest answers in this council (retracted ones left out)."""
    rows = s.execute(
        select(ReviewRequest.id, ReviewRequest.title, Vote.kind, Vote.updated_at, SlackMessage.permalink)
        .join(Vote, Vote.request_id == ReviewRequest.id)
        .outerjoin(SlackMessage, (SlackMessage.request_id == ReviewRequest.id) & (SlackMessage.role == "parent"))
        .where(Vote.user_id == user, Vote.retracted.is_(False), _in_council(council))
        .order_by(Vote.updated_at.desc(), Vote.id.desc()).limit(limit))
    return tuple(AnsweredItem(r.id, r.title, r.kind, r.updated_at, r.permalink or "", council.timezone) for r in rows)


def _mine(s: Session, user: str, council: Council, now: datetime, roles: set[Role],
          limit: int) -> tuple[list[int], int]:
    """The requests the person filed, or their department filed when they lead it: those under
    review, then those decided lately; newest first. (Their ids, and how many there are.)"""
    led = select(Membership.department_id).where(Membership.user_id == user, Membership.role == Role.LEAD,
                                                  Membership.active.is_(True))
    whose = or_(ReviewRequest.filer == user, ReviewRequest.department_id.in_(led)) if Role.LEAD in roles \
        else ReviewRequest.filer == user
    where = (whose, _in_council(council),
             or_(ReviewRequest.status.in_(OPEN), ReviewRequest.decided_at >= now - RECENTLY_DECIDED))
    total = s.scalar(select(func.count()).select_from(ReviewRequest).where(*where)) or 0
    if not total:
        return [], 0
    ids = list(s.scalars(select(ReviewRequest.id).where(*where).order_by(
        ReviewRequest.status.in_(OPEN).desc(), ReviewRequest.created_at.desc(), ReviewRequest.id.desc()).limit(limit)))
    return ids, total


def _glance(s: Session, council: Council, now: datetime, escalated_shown: int) -> Glance:
    in_council = _in_council(council)
    counts = dict(s.execute(select(ReviewRequest.status, func.count()).where(
        in_council, ReviewRequest.status.in_(OPEN)).group_by(ReviewRequest.status)).all())
    overdue: dict[str, int] = {}
    late = s.scalars(select(ReviewRequest).where(in_council, ReviewRequest.status.in_(OPEN),
                                                 ReviewRequest.due_at <= now)
                     .order_by(ReviewRequest.due_at, ReviewRequest.id).limit(OVERDUE_READ)).all()
    names = {r.department.key: r.department.name for request in late for r in request.routings}
    for request in late:
        for key in current_tally(s, request).outstanding:
            overdue[names.get(key, key)] = overdue.get(names.get(key, key), 0) + 1
    # Escalated as far as the chair (an escalation to the leads waits on them first).
    escalated = list(s.scalars(select(ReviewRequest.id).where(
        in_council, ReviewRequest.status == Status.ESCALATED,
        ReviewRequest.id.in_(select(Escalation.request_id).where(Escalation.target == "chair")))
        .order_by(ReviewRequest.due_at, ReviewRequest.id)))
    working_time = council_rules(council)[1]
    today = working_time.local_date(now)
    start = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(),
                             tzinfo=ZoneInfo(working_time.timezone)).astimezone(UTC)
    filed = s.scalar(select(func.count()).select_from(ReviewRequest).where(
        in_council, ReviewRequest.created_at >= start)) or 0
    decided = dict(s.execute(select(ReviewRequest.status, func.count()).where(
        in_council, ReviewRequest.decided_at >= start,
        ReviewRequest.status.in_((Status.APPROVED, Status.REJECTED))).group_by(ReviewRequest.status)).all())
    return Glance(
        by_status=tuple((status, counts.get(status, 0)) for status in OPEN),
        overdue=tuple(sorted(overdue.items(), key=lambda kv: (-kv[1], kv[0]))),
        escalated=tuple(request_view(s, r, now=now) for r in escalated[:escalated_shown]),
        escalated_more=max(0, len(escalated) - escalated_shown),
        filed=filed, approved=decided.get(Status.APPROVED, 0), rejected=decided.get(Status.REJECTED, 0),
        week_start=start,
    )


# --- the chair's "Send me the digest now" -------------------------------------------------

DIGEST_NOW = "digest_now"   # the outbox kind: this week's digest so far, by DM to whoever asked


EXPORT_NOW = "export_now"   # the outbox kind: the council's record as a zip of CSV files, by DM


def export_now(uow: UnitOfWork, *, actor: str, council: str, clock: Clock) -> None:
    """Queue the council's record (`cxbot export`'s files, as CSV, in one zip) to its chair or
    an admin who asks for it from Home, by DM."""
    now = clock.now()
    with uow:
        s = uow.session
        found = find_council(s, council)
        if actor != found.chair and actor not in found.admins:
            raise NotAllowed(N_("Only the council chair and its admins can export the council's record."))
        enqueue(s, lane=f"person:{actor}", kind=EXPORT_NOW, payload={"user": actor, "council": found.key}, now=now)
        uow.commit()


def digest_now(uow: UnitOfWork, *, actor: str, council: str, clock: Clock) -> None:
    """Queue this week's digest so far (of the council keyed `council`) to the chair or an
    admin who asks for it, by DM. It claims no week: the weekly digest goes out as usual."""
    now = clock.now()
    with uow:
        s = uow.session
        found = find_council(s, council)
        if actor != found.chair and actor not in found.admins:
            raise NotAllowed(N_("Only the council chair and its admins can ask for the digest."))
        week = week_of(now, council_rules(found)[1].timezone)
        enqueue(s, lane=f"person:{actor}", kind=DIGEST_NOW, payload={"user": actor, "council": found.key,
                                                                   "week": week}, now=now)
        uow.commit()


# --- publishing again ----------------------------------------------------------------------


def home_key(user: str) -> str:
    return f"home:{user}"


def republish_homes(session: Session, users: Iterable[str], now: datetime) -> None:
    """Publish these people's Homes again (those who have opened it): one pending publish
    each, however often asked, rendered from the state when it is delivered."""
    wanted = list(dict.fromkeys(users))
    if not wanted:
        return
    opened_by = list(session.scalars(select(HomeTab.user_id).where(HomeTab.user_id.in_(wanted))))
    enqueue_coalesced_many(session, [(home_key(u), HOME, {"user": u}, home_key(u)) for u in sorted(opened_by)],
                           now=now)


def republish(session: Session, request_ids: Sequence[int], now: datetime) -> None:
    """The Homes these requests' changes touch: their filers, the leads and advocates of the
    filing and routed departments (and substitutes standing in for them), the councils'
    chairs and admins. Nothing is read beyond one statement while nobody has opened Home."""
    ids = list(request_ids)
    if not ids or session.scalar(select(HomeTab.user_id).limit(1)) is None:
        return
    users: set[str] = set()
    departments: set[int] = set()
    councils: set[int] = set()
    for filer, department_id, council_id in session.execute(
            select(ReviewRequest.filer, ReviewRequest.department_id, Department.council_id)
            .join(Department, Department.id == ReviewRequest.department_id).where(ReviewRequest.id.in_(ids))):
        users.add(filer)
        departments.add(department_id)
        councils.add(council_id)
    departments.update(session.scalars(select(Routing.department_id).where(Routing.request_id.in_(ids))))
    members = set(session.scalars(select(Membership.user_id).where(
        Membership.department_id.in_(list(departments)), Membership.active.is_(True))))
    users |= members
    users.update(substitute for advocate, substitute in substitutes_now(session, now).items() if advocate in members)
    for chair, admins in session.execute(select(Council.chair, Council.admins).where(Council.id.in_(list(councils)))):
        users.add(chair)
        users.update(admins or ())
    republish_homes(session, users, now)
