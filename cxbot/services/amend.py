"""Amending a request: a pre-filled form, a field-by-field diff, and asking again only
those who still owe an answer.

An amendment of the text (title, summary, impact, link, decision date) keeps the answers
given. An amendment of the terms — what the routing rules or the policy read: the lifecycle
stages and the magnitude — changes what the council is asked, so:
- routing is worked out again: departments newly routed are asked, those no longer routed
  are released (their holds end), and the thread says both;
- the answers given under the old terms (every vote except a blocking objection that still
  stands) are set aside: they count again only once their authors confirm them (a "Still
  approve" button in a DM) or vote again, or the chair decides. So an amendment never
  settles a request by itself (a filer lowering the magnitude after one approval each, for
  one), and every step is in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.cost import CustomerCost, in_words
from cxbot.domain.drafts import draft_errors
from cxbot.domain.errors import InvalidInput, NotAllowed
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.domain.moments import Moment, moments_of
from cxbot.domain.permissions import amend_refusal
from cxbot.domain.routing import Route
from cxbot.i18n import N_
from cxbot.services import audit, notices
from cxbot.services.council import council_of, council_rules, membership
from cxbot.services.lifecycle import asked_again, current_tally, filing_department_gone, restart_review, settle
from cxbot.services.readmodel import NOTE_SECTIONS, cost_of
from cxbot.services.requests import costed, open_request, routes_for
from cxbot.store.models import Department, Hold, ReviewRequest, Routing, Vote
from cxbot.store.uow import UnitOfWork

FIELD_LABELS = {
    "title": "Title", "summary": "What changes", "stages": "Lifecycle stages", "impact": "Expected impact",
    "impact_note": "Impact note", "magnitude": "Magnitude", "decision_by": "Decision needed by", "link": "Link",
    "moments": "Moments of truth", "cost": "Cost to customers",
}
# The fields routing rules and the decision policy read: changing one changes what is reviewed.
TERMS = ("stages", "moments", "magnitude")


def draft_of(request: ReviewRequest) -> Draft:
    return Draft(title=request.title, summary=request.summary, department=request.department.key,
                 stages=tuple(request.stages), impact=request.impact, impact_note=request.impact_note,
                 magnitude=request.magnitude, decision_by=request.decision_by, link=request.link,
                 moments=tuple(request.moments or ()), cost=cost_of(request))


@dataclass(frozen=True)
class AmendForm:
    request_id: int
    draft: Draft
    stages: tuple[str, ...]
    moments: tuple[Moment, ...] = ()


def amend_form(uow: UnitOfWork, *, actor: str, request_id: int) -> AmendForm:
    """The request as it stands, for the pre-filled form; refuses all but those who may amend it."""
    with uow:
        s = uow.session
        request = open_request(s, request_id)  # read only: no lock, no presses applied
        council = council_of(s, request)
        refusal = amend_refusal(membership(s, actor, council.id), filer=request.filer,
                                filing_department=request.department.key,
                                department_gone=filing_department_gone(s, request) is not None)
        if refusal:
            raise NotAllowed(refusal)
        return AmendForm(request_id, draft_of(request), tuple(council.stages), moments_of(council.moments))


def _shown(value: object) -> str:
    if isinstance(value, CustomerCost):
        return in_words(value) or "—"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, Impact | Magnitude):
        return value.label
    return str(value) if value not in (None, "") else "—"


def amend(uow: UnitOfWork, *, actor: str, request_id: int, draft: Draft, full_review: bool, clock: Clock) -> None:
    """The filing side changes the request: the thread gets a field-by-field diff, and only the
    departments whose objections stand or whose answer is outstanding are asked again.
    Answers already given stand for a change of text; a change of the terms reroutes the
    request and sets them aside until confirmed (see the module); a full re-review clears them."""
    now = clock.now()
    with uow:
        s = uow.session
        request = open_request(s, request_id, now)
        council = council_of(s, request)
        refusal = amend_refusal(membership(s, actor, council.id), filer=request.filer,
                                filing_department=request.department.key,
                                department_gone=filing_department_gone(s, request) is not None)
        if refusal:
            raise NotAllowed(refusal)
        policy, working_time = council_rules(council)
        draft = costed(replace(draft, department=request.department.key), policy)
        errors = draft_errors(draft, today=working_time.local_date(now), departments={draft.department},
                              stages=council.stages, moments=moments_of(council.moments))
        if errors:
            raise InvalidInput(errors)
        before = draft_of(request)
        after = replace(draft, title=draft.title.strip(), summary=draft.summary.strip(),
                        impact_note=draft.impact_note.strip(), link=draft.link.strip())
        names = {m.key: m.name for m in moments_of(council.moments)}

        def shown(d: Draft, f: str) -> str:
            value = getattr(d, f)
            return _shown(tuple(names.get(k, k) for k in value) if f == "moments" else value)
        changes = [{"field": f, "label": label, "before": shown(before, f), "after": shown(after, f)}
                   for f, label in FIELD_LABELS.items() if getattr(before, f) != getattr(after, f)]
        if not changes and not full_review:
            raise InvalidInput({"title": N_("Nothing changed: edit a field, or tick the full re-review.")})
        terms = [c for c in changes if c["field"] in TERMS]
        routes: list[Route] = []
        by_key: dict[str, Department] = {}
        if terms:
            routes, by_key = routes_for(s, after, policy, council.id)
            if not routes:
                raise InvalidInput({"stages": N_("With these terms no other department would review the change.")})
        request.title, request.summary, request.stages = after.title, after.summary, list(after.stages)
        request.moments = list(after.moments)
        request.customer_minutes, request.customers_per_month = after.cost.minutes, after.cost.customers
        request.steps, request.warning_signs = after.cost.steps, list(after.cost.warning_signs)
        request.impact, request.impact_note, request.link = after.impact, after.impact_note, after.link  # type: ignore[assignment]
        request.magnitude, request.decision_by = after.magnitude, after.decision_by  # type: ignore[assignment]
        request.version += 1
        request.updated_at = now
        if full_review:
            # Everyone is asked again: a fresh review period, and votes and routing answers cleared.
            cleared = []
            for vote in s.scalars(select(Vote).where(Vote.request_id == request_id, Vote.retracted.is_(False))):
                vote.retracted, vote.updated_at = True, now
                cleared.append(vote.id)
            for routing in request.routings:
                routing.answered_at = None
            restart_review(s, request, now)
        rerouted = _reroute(s, request, routes, by_key, now) if terms else None
        # An earlier decision date brings the deadline forward; nothing else moves it, so a
        # reopened request or a hold keeps the time it was given.
        request.due_at = min(request.due_at, working_time.end_of_working_day(after.decision_by))  # type: ignore[arg-type]
        set_aside = _set_aside(s, request, now) if terms and not full_review else []
        s.flush()
        result = current_tally(s, request)
        asked = asked_again(s, request, result, working_time.local_date(now))
        event = audit.record(s, kind="amended", actor=actor, at=now, request_id=request_id,
                             version=request.version, changes=changes, full=full_review, asked_again=asked,
                             terms=bool(terms), **({"cleared": cleared} if full_review else {}))
        notices.thread_note(s, request_id, event, now)
        if rerouted:
            routed = audit.record(s, kind="rerouted", actor=actor, at=now, request_id=request_id,
                                  asked=rerouted["asked"], released=rerouted["released"])
            notices.thread_note(s, request_id, routed, now)
        if set_aside:
            aside = audit.record(s, kind="approvals_set_aside", actor=actor, at=now, request_id=request_id,
                                 version=request.version, changes=terms, votes=set_aside)
            notices.thread_note(s, request_id, aside, now)
            for user in dict.fromkeys(v["user"] for v in set_aside):
                notices.direct(s, request_id, aside, user, now)
        # Whoever the notes have no room to mention is asked by DM: those asked again, and
        # everyone who answers for a department the new terms route to.
        notices.asked_by_dm(s, request_id, now, notices.Asks(NOTE_SECTIONS, people=asked),
                            *([notices.Asks(NOTE_SECTIONS, departments=[d["department"] for d in rerouted["asked"]])]
                              if rerouted and rerouted["asked"] else []))
        settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()


def _reroute(s: Session, request: ReviewRequest, routes: list[Route], by_key: dict[str, Department],
             now: datetime) -> dict[str, list[dict[str, str]]] | None:
    """Route the request as its new terms say: departments newly routed are asked, those no
    longer routed are released (their holds end). Returns what changed, for the audit event
    and the thread, or None when the routing stays as it was."""
    current = {r.department.key: r for r in request.routings}
    wanted = {r.department for r in routes}
    released = [key for key in current if key not in wanted]
    for key in released:
        routing = current[key]
        for hold in s.scalars(select(Hold).where(Hold.request_id == request.id, Hold.ended_at.is_(None),
                                                 Hold.department_id == routing.department_id)):
            hold.ended_at, hold.end_reason = now, "released"
        request.routings.remove(routing)
    s.flush()  # the released rows go before new ones take their positions
    added: list[Route] = []
    for position, r in enumerate(routes):
        kept = current.get(r.department)
        if kept is None:
            kept = Routing(department=by_key[r.department], position=position, reason=r.reason)
            request.routings.append(kept)
            added.append(r)
        kept.position, kept.reason = position, r.reason
    request.routings.sort(key=lambda r: r.position)
    if not added and not released:
        return None
    return {"asked": [{"department": r.department, "name": by_key[r.department].name, "reason": r.reason}
                      for r in added],
            "released": [{"department": key, "name": current[key].department.name} for key in released]}


def _set_aside(s: Session, request: ReviewRequest, now: datetime) -> list[dict[str, str]]:
    """Set aside the answers given under the old terms in the departments still routed:
    every standing vote but a blocking objection nobody resolved or overruled (which still
    asks for changes). Returns what was set aside: which vote, whose, what, for which department."""
    routed = {r.department_id: r.department.key for r in request.routings}
    aside = []
    for vote in s.scalars(select(Vote).where(Vote.request_id == request.id, Vote.retracted.is_(False))
                          .order_by(Vote.cast_at, Vote.id)):
        if vote.department_id not in routed:
            continue
        if vote.kind is VoteKind.OBJECT and vote.blocking and vote.resolution is None:
            continue
        vote.retracted, vote.updated_at = True, now
        aside.append({"vote_id": vote.id, "user": vote.user_id, "vote": vote.kind.value,
                      "department": routed[vote.department_id],
                      "resolution": vote.resolution.value if vote.resolution else ""})
    return aside
