"""One reminder a person a day: what a person owes, and the day's DM that lists it.

The sweep claims a person's day (`DailyReminder`, unique per person and their own date)
and lists in it (its `listed` ids, and a `DailyListing` row per request naming whose DMs
list it) every request they owe an answer on then. The DM is rendered from those at
delivery, soonest deadline first, and rendered again whenever one of its requests changes
(a vote from its buttons, a decision), so it is updated in place and an answered item
shows as answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxbot.domain.model import Role, Status
from cxbot.services.council import council_of
from cxbot.services.lifecycle import active_holds, current_tally, filing_side, rules, substitutes_now
from cxbot.services.readmodel import RequestView, request_view
from cxbot.store.models import (
    DailyReminder,
    Department,
    FollowUp,
    Membership,
    ReviewRequest,
    Routing,
    SlackMessage,
    Vote,
)

OPEN = [s for s in Status if not s.is_final]
# How many requests the DM shows with their buttons: two blocks each, with the heading and
# the "and N more" line well inside Block Kit's 50 blocks a message.
SHOWN = 20


@dataclass(frozen=True)
class Owed:
    request_id: int
    department_id: int
    on_behalf_of: str | None   # the away advocate the person answers for, if not themselves
    created_at: datetime
    due_at: datetime
    council_id: int            # the request's council, whose rules say when it is reminded of


def owed_by(s: Session, user: str, now: datetime) -> list[Owed]:
    """The open requests `user` owes an answer on now, soonest deadline first: a department
    they advocate for (or whose away advocate they stand in for today) is outstanding and not
    on hold, the one they answer as has not voted, and neither has a role in the filing
    department (the same as who the sweep reminds)."""
    away = substitutes_now(s, now)
    as_whom = [advocate for advocate, substitute in away.items() if substitute == user]
    if user not in away:
        as_whom.append(user)
    answering: dict[int, str] = {}
    for advocate, department_id in s.execute(select(Membership.user_id, Membership.department_id).where(
            Membership.user_id.in_(as_whom), Membership.role == Role.ADVOCATE, Membership.active.is_(True))
            .order_by(Membership.id)):
        answering.setdefault(department_id, advocate)
    if not answering:
        return []
    requests = s.scalars(select(ReviewRequest).where(ReviewRequest.status.in_(OPEN), ReviewRequest.id.in_(
        select(Routing.request_id).where(Routing.department_id.in_(list(answering)))))
        .order_by(ReviewRequest.due_at, ReviewRequest.id)).all()
    owed: list[Owed] = []
    for request in requests:
        voted = {on_behalf_of or voter for voter, on_behalf_of in s.execute(
            select(Vote.user_id, Vote.on_behalf_of).where(Vote.request_id == request.id, Vote.retracted.is_(False)))}
        recused = filing_side(s, request)
        if user in recused:
            continue
        candidates = [r for r in request.routings if r.department_id in answering
                      and answering[r.department_id] not in voted and answering[r.department_id] not in recused]
        if not candidates:
            continue
        held = {h.department_id for h in active_holds(s, request.id)}
        outstanding = current_tally(s, request).outstanding
        routing = next((r for r in candidates if r.department.key in outstanding and r.department_id not in held),
                       None)
        if routing is not None:
            advocate = answering[routing.department_id]
            owed.append(Owed(request.id, routing.department_id, advocate if advocate != user else None,
                             request.created_at, request.due_at, council_of(s, request).id))
    return owed


def claimed(s: Session, users: list[str], since: date) -> dict[tuple[str, date], datetime]:
    """(person, day) → when their day's DM was claimed, for days from `since`."""
    if not users:
        return {}
    return {(user, day): at for user, day, at in s.execute(select(
        DailyReminder.user_id, DailyReminder.day, DailyReminder.at).where(
        DailyReminder.user_id.in_(users), DailyReminder.day >= since))}


@dataclass(frozen=True)
class DailyItem:
    view: RequestView
    department: str           # the department's name ("" once nothing is owed on it)
    on_behalf_of: str | None
    answered: bool            # listed, but nothing is owed on it any more (answered, decided)
    closing: bool             # its closing-soon window had opened when the DM was claimed


@dataclass(frozen=True)
class DailyReminderView:
    user: str
    day: date
    items: tuple[DailyItem, ...]
    more: int                 # listed but not shown (Block Kit's limits)
    owing: int                # how many of the listed requests are still owed
    council_channel: str
    channel: str              # where the DM is, once posted
    ts: str
    content_hash: str
    # Follow-up questions asked of the person and not answered yet, chased here like votes:
    # (follow-up id, role, request id, title, permalink), oldest first.
    follow_ups: tuple[tuple[int, str, int, str, str], ...] = ()


def daily_view(s: Session, user: str, day: date, now: datetime) -> DailyReminderView | None:
    claim = s.scalars(select(DailyReminder).where(DailyReminder.user_id == user, DailyReminder.day == day)).first()
    if claim is None:
        return None
    listed = soonest_first(s, listed_ids(claim.listed))
    owed = {o.request_id: o for o in owed_by(s, user, now)}
    items: list[DailyItem] = []
    for request_id in listed[:SHOWN]:
        view = request_view(s, request_id, now=now)
        o = owed.get(request_id)
        closing_hours = timedelta(hours=rules(s, view_request(s, request_id))[0].reminders.closing_soon_hours)
        key = _key(s, o.department_id) if o is not None else ""
        department = next((d.name for d in view.routed if key and d.key == key), "")
        items.append(DailyItem(view=view, department=department, on_behalf_of=o.on_behalf_of if o else None,
                               answered=o is None,
                               closing=view.due_at - closing_hours <= claim.at < view.due_at))
    return DailyReminderView(user=user, day=day, items=tuple(items), more=max(0, len(listed) - SHOWN),
                             owing=sum(1 for r in listed if r in owed), council_channel=_channel_of(s, listed[SHOWN:]),
                             channel=claim.channel, ts=claim.ts, content_hash=claim.content_hash,
                             follow_ups=_follow_ups_owed(s, user))


FOLLOW_UPS_SHOWN = 5


def _follow_ups_owed(s: Session, user: str) -> tuple[tuple[int, str, int, str, str], ...]:
    """The follow-up questions `user` was asked and has not answered, oldest first."""
    return tuple((row.id, row.role, row.request_id, row.title, row.permalink or "") for row in s.execute(
        select(FollowUp.id, FollowUp.role, FollowUp.request_id, ReviewRequest.title, SlackMessage.permalink)
        .join(ReviewRequest, ReviewRequest.id == FollowUp.request_id)
        .outerjoin(SlackMessage, (SlackMessage.request_id == ReviewRequest.id) & (SlackMessage.role == "parent"))
        .where(FollowUp.user_id == user, FollowUp.sent_at.is_not(None), FollowUp.answered_at.is_(None))
        .order_by(FollowUp.sent_at, FollowUp.id).limit(FOLLOW_UPS_SHOWN)))


def listed_ids(listed: str) -> list[int]:
    """The request ids a `DailyReminder.listed` holds, in its order."""
    return [int(r) for r in listed.split(",")] if listed else []


def listed_in(s: Session, user: str) -> list[int]:
    """The requests every daily DM of `user` listed, day by day (a request once a day listed)."""
    return [r for listed in s.scalars(select(DailyReminder.listed).where(DailyReminder.user_id == user)
                                      .order_by(DailyReminder.day)) for r in listed_ids(listed)]


def soonest_first(s: Session, request_ids: Sequence[int]) -> list[int]:
    """These requests (that exist), soonest deadline first, as the DM shows them."""
    if not request_ids:
        return []
    return list(s.scalars(select(ReviewRequest.id).where(ReviewRequest.id.in_(list(request_ids)))
                          .order_by(ReviewRequest.due_at, ReviewRequest.id)))


def view_request(s: Session, request_id: int) -> ReviewRequest:
    request = s.get(ReviewRequest, request_id)
    assert request is not None
    return request


def _channel_of(s: Session, request_ids: Sequence[int]) -> str:
    """The channel of the council of the first request not shown, where the rest are found."""
    return council_of(s, view_request(s, request_ids[0])).channel if request_ids else ""


def _key(s: Session, department_id: int) -> str:
    department = s.get(Department, department_id)
    return department.key if department is not None else ""


def posted(sessions: sessionmaker[Session], user: str, day: date, channel: str, ts: str, content_hash: str) -> None:
    """Remember where the day's DM is (and what it shows), so it is updated, not re-sent."""
    with sessions() as s:
        claim = s.scalars(select(DailyReminder).where(DailyReminder.user_id == user, DailyReminder.day == day)).first()
        if claim is not None:
            claim.channel, claim.ts, claim.content_hash = channel, ts, content_hash
            s.commit()
