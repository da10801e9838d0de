"""Amending a request: a pre-filled form, a field-by-field diff, and asking again only
those who still owe an answer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.drafts import draft_errors
from cxbot.domain.errors import InvalidInput, NotAllowed
from cxbot.domain.model import Draft, Impact, Magnitude, Role, Tally
from cxbot.domain.permissions import amend_refusal
from cxbot.services import audit, notices
from cxbot.services.council import council_rules, get_council, membership
from cxbot.services.lifecycle import current_tally, restart_review, settle, substitutes_on
from cxbot.services.requests import open_request
from cxbot.store.models import Membership, ReviewRequest, Vote
from cxbot.store.uow import UnitOfWork

FIELD_LABELS = {
    "title": "Title", "summary": "What changes", "stages": "Lifecycle stages", "impact": "Expected impact",
    "impact_note": "Impact note", "magnitude": "Magnitude", "decision_by": "Decision needed by", "link": "Link",
}


def draft_of(request: ReviewRequest) -> Draft:
    return Draft(title=request.title, summary=request.summary, department=request.department.key,
                 stages=tuple(request.stages), impact=request.impact, impact_note=request.impact_note,
                 magnitude=request.magnitude, decision_by=request.decision_by, link=request.link)


@dataclass(frozen=True)
class AmendForm:
    request_id: int
    draft: Draft
    stages: tuple[str, ...]


def amend_form(uow: UnitOfWork, *, actor: str, request_id: int) -> AmendForm:
    """The request as it stands, for the pre-filled form; refuses all but its filer."""
    with uow:
        s = uow.session
        request = open_request(s, request_id)  # read only: no lock, no presses applied
        refusal = amend_refusal(membership(s, actor), filer=request.filer)
        if refusal:
            raise NotAllowed(refusal)
        return AmendForm(request_id, draft_of(request), tuple(get_council(s).stages))


def _shown(value: object) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, Impact | Magnitude):
        return value.label
    return str(value) if value not in (None, "") else "—"


def amend(uow: UnitOfWork, *, actor: str, request_id: int, draft: Draft, full_review: bool, clock: Clock) -> None:
    """The filer changes the request: the thread gets a field-by-field diff, and only the
    departments whose objections stand or whose answer is outstanding are asked again.
    Approvals already given stand, unless the filer asks for a full re-review."""
    now = clock.now()
    with uow:
        s = uow.session
        request = open_request(s, request_id, now)
        refusal = amend_refusal(membership(s, actor), filer=request.filer)
        if refusal:
            raise NotAllowed(refusal)
        council = get_council(s)
        _, working_time = council_rules(council)
        draft = replace(draft, department=request.department.key)
        errors = draft_errors(draft, today=working_time.local_date(now), departments={draft.department},
                              stages=council.stages)
        if errors:
            raise InvalidInput(errors)
        before = draft_of(request)
        after = replace(draft, title=draft.title.strip(), summary=draft.summary.strip(),
                        impact_note=draft.impact_note.strip(), link=draft.link.strip())
        changes = [{"field": f, "label": label, "before": _shown(getattr(before, f)),
                    "after": _shown(getattr(after, f))}
                   for f, label in FIELD_LABELS.items() if getattr(before, f) != getattr(after, f)]
        if not changes and not full_review:
            raise InvalidInput({"title": "Nothing changed: edit a field, or tick the full re-review."})
        request.title, request.summary, request.stages = after.title, after.summary, list(after.stages)
        request.impact, request.impact_note, request.link = after.impact, after.impact_note, after.link  # type: ignore[assignment]
        request.magnitude, request.decision_by = after.magnitude, after.decision_by  # type: ignore[assignment]
        request.version += 1
        request.updated_at = now
        if full_review:
            # Everyone is asked again: a fresh review period, and votes and routing answers cleared.
            for vote in s.scalars(select(Vote).where(Vote.request_id == request_id, Vote.retracted.is_(False))):
                vote.retracted, vote.updated_at = True, now
            for routing in request.routings:
                routing.answered_at = None
            restart_review(s, request, now)
        # An earlier decision date brings the deadline forward; nothing else moves it, so a
        # reopened request or a hold keeps the time it was given.
        request.due_at = min(request.due_at, working_time.end_of_working_day(after.decision_by))  # type: ignore[arg-type]
        s.flush()
        result = current_tally(s, request)
        asked = _asked_again(s, request, result, working_time.local_date(now))
        event = audit.record(s, kind="amended", actor=actor, at=now, request_id=request_id,
                             version=request.version, changes=changes, full=full_review, asked_again=asked)
        notices.thread_note(s, request_id, event, now)
        settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()


def _asked_again(s: Session, request: ReviewRequest, result: Tally, today: date) -> list[str]:
    """The objectors whose blocking objections stand, and whoever answers for an outstanding department."""
    asked = [b.user for b in result.standing_objections]
    outstanding = [r.department_id for r in request.routings if r.department.key in result.outstanding]
    away = substitutes_on(s, today)
    for user in s.scalars(select(Membership.user_id).where(
            Membership.department_id.in_(outstanding), Membership.role == Role.ADVOCATE,
            Membership.active.is_(True)).order_by(Membership.id)):
        asked.append(away.get(user, user))
    return list(dict.fromkeys(asked))
