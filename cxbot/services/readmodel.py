"""What a request looks like to a reader: everything the Slack messages show, in one value.

Built with a fixed number of queries per request (no per-vote or per-department loops
against the database), and rendered by the pure Block Kit builders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from cxbot.domain.conditions import conditions_of
from cxbot.domain.cost import CustomerCost, major_by_cost
from cxbot.domain.decision import tally
from cxbot.domain.errors import no_request
from cxbot.domain.model import Impact, Magnitude, Resolution, Role, Status, Tally, VoteKind
from cxbot.domain.moments import moments_of
from cxbot.services.channel_locale import channel_locale_due, council_language
from cxbot.services.council import council_of, council_rules
from cxbot.services.lifecycle import active_holds, ballots_of, filing_side, substitutes_on
from cxbot.store.models import (
    AuditEvent,
    Department,
    Escalation,
    Membership,
    ReviewRequest,
    Routing,
    SlackMessage,
    Vote,
)


@dataclass(frozen=True)
class RoutedDepartment:
    key: str
    name: str
    reason: str
    advocates: tuple[str, ...]
    substitutes: tuple[tuple[str, str], ...] = ()  # (away advocate, substitute) today
    usergroup: str = ""   # the department's Slack user group: mentioned instead of its advocates


@dataclass(frozen=True)
class ObjectionView:
    vote_id: int
    user: str
    department: str
    reason: str
    blocking: bool
    mitigation: str
    resolution: Resolution | None
    resolved_by: str | None
    resolution_note: str
    on_behalf_of: str | None
    standing: bool  # still an objection (not retracted or changed into another vote)
    # Set aside by an amendment (cxbot.services.amend), not withdrawn by its author.
    set_aside: bool = False


@dataclass(frozen=True)
class ConditionView:
    """An approval's condition: an open item once the request is approved, until marked met."""

    vote_id: int
    user: str
    department: str
    text: str
    on_behalf_of: str | None
    met_at: datetime | None
    met_by: str | None


@dataclass(frozen=True)
class RelatedLink:
    """A request of another department found related to this one, as it stands now."""

    id: int
    title: str
    department: str
    status: Status
    permalink: str


@dataclass(frozen=True)
class RevisionLink:
    """Another request this one revises, or is revised by, and where its thread is."""

    id: int
    title: str
    permalink: str


@dataclass(frozen=True)
class HoldView:
    department: str
    user: str
    reason: str
    until: datetime


@dataclass(frozen=True)
class EscalationView:
    """The ladder's latest step: to whom ("leads" or "chair") and who was told."""

    target: str
    recipients: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class RequestView:
    id: int
    title: str
    summary: str
    department_key: str
    department_name: str
    filer: str
    stages: tuple[str, ...]
    impact: Impact
    impact_note: str
    magnitude: Magnitude
    decision_by: date
    link: str
    status: Status
    created_at: datetime
    decided_at: datetime | None
    due_at: datetime
    escalation_step: int
    version: int
    timezone: str
    channel: str
    routed: tuple[RoutedDepartment, ...]
    tally: Tally
    objections: tuple[ObjectionView, ...]
    holds: tuple[HoldView, ...]
    parent_ts: str | None
    permalink: str
    # People with a role in the filing department: they never answer for it, even as substitutes.
    recused: frozenset[str] = frozenset()
    as_of: datetime | None = None          # when the view was read: what "overdue" is measured against
    escalation: EscalationView | None = None
    conditions: tuple[ConditionView, ...] = ()
    revises: RevisionLink | None = None
    revised_by: RevisionLink | None = None
    moments: tuple[str, ...] = ()          # the names of the council's moments of truth it touches
    cost: CustomerCost = CustomerCost()    # the customer's cost, as far as the filer said
    major_by_cost: bool = False            # reviewed as major for the customer time it adds
    go_live: date | None = None
    follow_up_days: int = 30
    related: tuple[RelatedLink, ...] = ()  # requests of other departments found related at filing
    # The language of what the council channel shows (`cxbot.domain.languages.channel_language`),
    # and whether the channel's locale should be asked of Slack again first (`locale_due`).
    language: str = "en"
    locale_due: bool = False

    @property
    def overdue(self) -> bool:
        """Under review with its deadline passed (a final request is never overdue)."""
        return not self.status.is_final and self.as_of is not None and self.as_of >= self.due_at

    def department_name_of(self, key: str) -> str:
        return next((d.name for d in self.routed if d.key == key), key)

    def objection(self, vote_id: int) -> ObjectionView | None:
        return next((o for o in self.objections if o.vote_id == vote_id), None)

    def answering(self, department: str) -> tuple[str, ...]:
        """Who answers for a department today: its advocates, with substitutes for those away."""
        routed = next((d for d in self.routed if d.key == department), None)
        if routed is None:
            return ()
        away = dict(routed.substitutes)
        return tuple(dict.fromkeys(u for u in (away.get(a, a) for a in routed.advocates) if u not in self.recused))


def _requests(where: ColumnElement[bool], *, lock: bool, skip_locked: bool = False) -> Select[tuple[ReviewRequest]]:
    """Requests with their department and routed departments (every use case reads them);
    `lock`: FOR NO KEY UPDATE of the request rows on PostgreSQL, which rows that only
    reference the request (a press being stored, its foreign key checked) are not held up
    by. Departments come joined (one query fewer than loading them apart), and are not
    locked."""
    stmt = select(ReviewRequest).where(where).order_by(ReviewRequest.id).options(
        joinedload(ReviewRequest.department),
        selectinload(ReviewRequest.routings).joinedload(Routing.department),
    )
    return stmt.with_for_update(of=ReviewRequest, key_share=True, skip_locked=skip_locked) if lock else stmt


# Built once: a press round reads its requests many times a second, and building the
# statement cost about as much as running it.
_ONE = {lock: _requests(ReviewRequest.id == bindparam("id"), lock=lock) for lock in (False, True)}
_LOCK_FREE = _requests(ReviewRequest.id.in_(bindparam("ids", expanding=True)), lock=True, skip_locked=True)


def load_request(session: Session, request_id: int, *, lock: bool = False) -> ReviewRequest:
    """The request with its department and routed departments, locked for a change with `lock`."""
    request = session.scalars(_ONE[lock], {"id": request_id}).first()
    if request is None:
        raise no_request(request_id)
    return request


def lock_requests(session: Session, request_ids: Sequence[int]) -> list[ReviewRequest]:
    """Those of these requests nobody else holds, locked for a change (SKIP LOCKED on
    PostgreSQL: two replicas share out the requests instead of one waiting for the other)."""
    return list(session.scalars(_LOCK_FREE, {"ids": list(request_ids)}))


# Built once: every message update renders a request (building these cost a fifth of a delivery).
_VIEWED = select(ReviewRequest).where(ReviewRequest.id == bindparam("id")).options(
    selectinload(ReviewRequest.department),
    selectinload(ReviewRequest.routings).selectinload(Routing.department),
    selectinload(ReviewRequest.votes).selectinload(Vote.department),
)
_ADVOCATES_OF = (select(Membership.department_id, Membership.user_id)
                 .where(Membership.department_id.in_(bindparam("ids", expanding=True)),
                        Membership.role == Role.ADVOCATE, Membership.active.is_(True))
                 .order_by(Membership.id))
_LAST_ESCALATION = (select(Escalation).where(Escalation.request_id == bindparam("id"))
                    .order_by(Escalation.step.desc(), Escalation.id.desc()).limit(1))
_PARENT = select(SlackMessage).where(SlackMessage.request_id == bindparam("id"), SlackMessage.role == "parent")


# The amendments of a request that set answers aside or cleared them (cxbot.services.amend).
_AMENDMENTS_AT = select(AuditEvent.at, AuditEvent.data).where(
    AuditEvent.request_id == bindparam("id"), AuditEvent.at.in_(bindparam("at", expanding=True)),
    AuditEvent.kind.in_(("approvals_set_aside", "amended")))


def _set_aside(session: Session, request: ReviewRequest) -> set[int]:
    """The retracted objections of this request that an amendment set aside, rather than
    their authors withdrew: named by the amendment's audit event, and retracted at its
    moment (an objection set aside, raised again and then withdrawn was withdrawn). Read
    only when there is a retracted objection, so most views cost no query."""
    retracted = {v.id: v.updated_at for v in request.votes if v.kind is VoteKind.OBJECT and v.retracted}
    if not retracted:
        return set()
    aside: set[int] = set()
    for at, data in session.execute(_AMENDMENTS_AT, {"id": request.id, "at": sorted(set(retracted.values()))}):
        named = [v.get("vote_id") for v in data.get("votes", [])] + list(data.get("cleared", []))
        aside |= {vote_id for vote_id in named if retracted.get(vote_id) == at}
    return aside


def request_view(session: Session, request_id: int, *, now: datetime | None = None) -> RequestView:
    request = session.scalars(_VIEWED, {"id": request_id}).first()
    if request is None:
        raise no_request(request_id)
    council = council_of(session, request)
    policy, working_time = council_rules(council)
    dept_ids = [r.department_id for r in request.routings]
    # Nobody with a role in the filing department is asked, mentioned or counted as a seat
    # (cxbot.domain.permissions), and only substitutes whose stand-in holds answer.
    own = filing_side(session, request)
    advocates: dict[int, list[str]] = {d: [] for d in dept_ids}
    for department_id, user_id in session.execute(_ADVOCATES_OF, {"ids": dept_ids}):
        if user_id not in own:
            advocates[department_id].append(user_id)
    away = substitutes_on(session, working_time.local_date(now or request.updated_at), council.id)
    parent = session.scalars(_PARENT, {"id": request_id}).first()
    last = session.scalars(_LAST_ESCALATION, {"id": request_id}).first() if request.escalation_step else None
    routed = tuple(
        RoutedDepartment(r.department.key, r.department.name, r.reason, tuple(advocates[r.department_id]),
                         tuple((a, away[a]) for a in advocates[r.department_id] if a in away),
                         r.department.usergroup)
        for r in request.routings
    )
    names = {r.department_id: r.department.key for r in request.routings}
    holds = tuple(HoldView(names.get(h.department_id, ""), h.user_id, h.reason, h.until)
                  for h in active_holds(session, request_id))
    aside = _set_aside(session, request)
    objections = tuple(
        ObjectionView(v.id, v.user_id, v.department.key, v.note, v.blocking, v.mitigation, v.resolution,
                      v.resolved_by, v.resolution_note, v.on_behalf_of,
                      standing=v.kind is VoteKind.OBJECT and not v.retracted,
                      set_aside=v.id in aside)
        for v in sorted(request.votes, key=lambda v: (v.cast_at, v.id))
    )
    conditions = tuple(
        ConditionView(v.id, v.user_id, v.department.key, v.note.strip(), v.on_behalf_of, v.condition_met_at,
                      v.condition_met_by)
        for v in conditions_of(request.votes))
    revises, revised_by = _revision_links(session, request)
    cost = cost_of(request)
    return RequestView(
        id=request.id, title=request.title, summary=request.summary,
        department_key=request.department.key, department_name=request.department.name,
        filer=request.filer, stages=tuple(request.stages), impact=request.impact,
        impact_note=request.impact_note, magnitude=request.magnitude, decision_by=request.decision_by,
        link=request.link, status=request.status, created_at=request.created_at,
        decided_at=request.decided_at, due_at=request.due_at, escalation_step=request.escalation_step,
        version=request.version, timezone=council.timezone, channel=council.channel, routed=routed,
        tally=tally([d.key for d in routed], ballots_of(request.votes), policy.for_magnitude(request.magnitude),
                    {d.key: len(d.advocates) for d in routed}),
        objections=objections, holds=holds,
        parent_ts=parent.ts if parent else None, permalink=parent.permalink if parent else "", recused=frozenset(own),
        as_of=now or request.updated_at,
        escalation=EscalationView(last.target, tuple(last.recipients or ()), last.at) if last else None,
        conditions=conditions, revises=revises, revised_by=revised_by,
        moments=tuple(m.name for m in moments_of(council.moments) if m.key in (request.moments or ())),
        cost=cost, major_by_cost=major_by_cost(cost, policy.major_customer_hours), go_live=request.go_live,
        follow_up_days=policy.follow_up_days, related=_related(session, request),
        language=council_language(council), locale_due=channel_locale_due(council, now or request.updated_at),
    )


def cost_of(request: ReviewRequest) -> CustomerCost:
    """What the filer said the change costs the customer."""
    return CustomerCost(request.customer_minutes, request.customers_per_month, request.steps,
                        tuple(request.warning_signs or ()))


_REVISIONS = (select(ReviewRequest.id, ReviewRequest.title, ReviewRequest.revises_id, SlackMessage.permalink)
              .outerjoin(SlackMessage, (SlackMessage.request_id == ReviewRequest.id) & (SlackMessage.role == "parent"))
              .where((ReviewRequest.id == bindparam("revises")) | (ReviewRequest.revises_id == bindparam("id"))))


_RELATED = (select(ReviewRequest.id, ReviewRequest.title, Department.name, ReviewRequest.status,
                   SlackMessage.permalink)
            .join(Department, Department.id == ReviewRequest.department_id)
            .outerjoin(SlackMessage, (SlackMessage.request_id == ReviewRequest.id) & (SlackMessage.role == "parent"))
            .where(ReviewRequest.id.in_(bindparam("ids", expanding=True))))


def _related(session: Session, request: ReviewRequest) -> tuple[RelatedLink, ...]:
    if not request.related:
        return ()
    found = {row.id: RelatedLink(row.id, row.title, row.name, row.status, row.permalink or "")
             for row in session.execute(_RELATED, {"ids": list(request.related)})}
    return tuple(found[i] for i in request.related if i in found)


def _revision_links(session: Session, request: ReviewRequest) -> tuple[RevisionLink | None, RevisionLink | None]:
    """The request this one revises and the one that revises it, in one query."""
    revises = revised_by = None
    for row in session.execute(_REVISIONS, {"revises": request.revises_id or 0, "id": request.id}):
        link = RevisionLink(row.id, row.title, row.permalink or "")
        if row.id == request.revises_id:
            revises = link
        if row.revises_id == request.id:
            revised_by = link
    return revises, revised_by


# Slack's limits on a message (Block Kit reference): 50 blocks, 3,000 characters of section
# text. The vote prompt spends four blocks on its request, reasons, "asked by DM" note and
# buttons; the rest may carry mentions. A thread note that asks people (an amendment's, a
# reopening's) spends at most ten on what it says (the header, a diff of at most eight fields,
# the line before the mentions), and the rest on mentions.
SECTION_CHARS = 3000
MENTION_SECTIONS = 46
NOTE_SECTIONS = 40


@dataclass(frozen=True)
class MentionLine:
    """One department's mentions within one section of the prompt (or of a thread note)."""

    department: str   # its name, as the council file gives it; "" for people outside the routed departments
    mentions: tuple[str, ...]


@dataclass(frozen=True)
class Asking:
    """How everyone asked about a request hears of it: mentioned in the vote prompt (a section
    of lines each), through their department's user group, or, beyond what one message can
    carry, by a direct message each. One value decides both the prompt and the DMs, so nobody
    is mentioned and DMed, and nobody neither. The same for a thread note that asks people
    again (`asking(view, people)`)."""

    sections: tuple[tuple[MentionLine, ...], ...]
    by_dm: tuple[str, ...]


def _escaped_length(text: str) -> int:
    """The length of `text` once `&`, `<` and `>` are escaped for mrkdwn."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def asking(view: RequestView, people: Sequence[str] | None = None, *,
           sections: int = MENTION_SECTIONS) -> Asking:
    """Who a message mentions, section by section (a line `*Department*: <@U…> …` for each
    department, split where a section is full), in at most `sections` sections, and who is
    left for a DM: everyone asked about the request (the vote prompt), or `people` (a thread
    note asking them again; anyone among them outside the routed departments on a last line
    of their own).

    A department with a user group is mentioned as `<!subteam^S…>` when everyone who answers
    for it is asked, with whoever answers for it without being its advocate (a substitute),
    who is not in the group."""
    wanted_people = None if people is None else set(people)
    groups: list[tuple[str, list[tuple[str, list[str]]]]] = []
    placed: set[str] = set()
    for dept in view.routed:
        answering = view.answering(dept.key)
        asked = [u for u in answering if wanted_people is None or u in wanted_people]
        placed.update(asked)
        if dept.usergroup and asked and len(asked) == len(answering):
            substitutes = [u for u in asked if u not in dept.advocates]
            wanted = [(f"<!subteam^{dept.usergroup}>", [u for u in asked if u in dept.advocates])]
            wanted += [(f"<@{u}>", [u]) for u in substitutes]
        else:
            wanted = [(f"<@{u}>", [u]) for u in asked]
        groups.append((dept.name, wanted))
    others = [u for u in dict.fromkeys(people or ()) if u not in placed]
    if others:
        groups.append(("", [(f"<@{u}>", [u]) for u in others]))
    return _pack(groups, sections)


def _pack(groups: Sequence[tuple[str, Sequence[tuple[str, Sequence[str]]]]], most: int) -> Asking:
    """Pack each group's mentions, in order, on lines labelled with the group's name, into at
    most `most` sections of SECTION_CHARS characters; the people of mentions that do not fit
    are left for a DM (unless another mention reached them)."""
    sections: list[tuple[MentionLine, ...]] = []
    lines: list[MentionLine] = []
    used = 0
    by_dm: list[str] = []
    mentioned: set[str] = set()
    for name, wanted in groups:
        label = _escaped_length(name) + 4 if name else 0          # "*Name*: "
        line: list[str] = []
        for mention, reached in wanted:
            if len(sections) >= most:
                by_dm += reached
                continue
            cost = 1 + len(mention) if line else (1 if lines else 0) + label + len(mention)
            if used + cost > SECTION_CHARS:
                if line:
                    lines.append(MentionLine(name, tuple(line)))
                    line = []
                sections.append(tuple(lines))
                lines, used = [], 0
                if len(sections) >= most:
                    by_dm += reached
                    continue
                cost = label + len(mention)
            line.append(mention)
            mentioned.update(reached)
            used += cost
        if line:
            lines.append(MentionLine(name, tuple(line)))
    if lines and len(sections) < most:
        sections.append(tuple(lines))
    return Asking(tuple(sections), tuple(u for u in dict.fromkeys(by_dm) if u not in mentioned))
