"""Across silos, at the moment of filing: what other departments are changing nearby.

*Related*: open requests, and those decided in the last year, of other departments of the
council that touch one of the same lifecycle stages and share words with the new one — found
by the full-text index (any of the new request's significant words, best rank first), kept
when they share at least `MIN_SHARED` significant words (English endings ignored); up to three
are shown in the thread, the request message and the filer's DM.

*Possible clash*: two requests under review that touch the same stage and whose dates fall
within two weeks of each
other. Both threads say so, once a pair. (A request under review has no go-live date yet: its
date is the one a decision is needed by.)
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.domain.model import UNDER_REVIEW, Status
from cxbot.services import audit, notices
from cxbot.store.models import AuditEvent, Department, ReviewRequest, SlackMessage
from cxbot.store.search import sharing_any

RELATED_MAX = 3
RECENT = timedelta(days=365)
CLASH_DAYS = 14
CLASH_MAX = 3
MIN_SHARED = 2
QUERY_WORDS = 16
CANDIDATES = 40
_WORD = re.compile(r"[^\W_]+")
# Words that say nothing of what a change is about.
STOPWORDS = frozenset("""
about after also before being both change changes could customer customers does each from have into
just more most must need needs only other over same should some such than that their them then there
these they this those under very what when where which while will with would your
""".split())


def _stem(word: str) -> str:
    for ending in ("ings", "ing", "ies", "es", "ed", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)] + ("y" if ending == "ies" else "")
    return word


def significant(text: str) -> list[str]:
    """The words that say what a text is about: lower-cased, four letters or more, no
    stopwords, each once, in order."""
    words = (w.lower() for w in _WORD.findall(text))
    return list(dict.fromkeys(w for w in words if len(w) >= 4 and w not in STOPWORDS and not w.isdigit()))


def _link(s: Session, request: ReviewRequest) -> dict[str, object]:
    permalink = s.scalar(select(SlackMessage.permalink).where(SlackMessage.request_id == request.id,
                                                              SlackMessage.role == "parent")) or ""
    return {"id": request.id, "title": request.title, "department": request.department.name,
            "status": request.status.value, "permalink": permalink}


def on_filed(s: Session, request: ReviewRequest, now: datetime) -> None:
    """Look for related requests and possible clashes of a request just filed (flushed, so the
    search index holds it), record what was found and tell its thread."""
    council_id = request.department.council_id
    stages = set(request.stages or ())
    words = significant(f"{request.title} {request.summary}")[:QUERY_WORDS]
    mine = {_stem(w) for w in words}
    related: list[ReviewRequest] = []
    ids = [i for i in sharing_any(s.connection(), words, council_id, CANDIDATES) if i != request.id]
    candidates = {r.id: r for r in s.scalars(select(ReviewRequest).where(ReviewRequest.id.in_(ids)))} if ids else {}
    for candidate_id in ids:
        other = candidates.get(candidate_id)
        if other is None or other.department_id == request.department_id or not stages & set(other.stages or ()):
            continue
        decided_lately = (other.status in (Status.APPROVED, Status.REJECTED) and other.decided_at is not None
                          and other.decided_at >= now - RECENT)
        if other.status not in UNDER_REVIEW and not decided_lately:
            continue
        shared = mine & {_stem(w) for w in significant(f"{other.title} {other.summary}")}
        if len(shared) >= MIN_SHARED:
            related.append(other)
        if len(related) == RELATED_MAX:
            break
    if related:
        request.related = [r.id for r in related]
        event = audit.record(s, kind="related_found", actor="cxbot", at=now, request_id=request.id,
                             related=[_link(s, r) for r in related])
        notices.thread_note(s, request.id, event, now)
    clashes(s, request, now)


def clashes(s: Session, request: ReviewRequest, now: datetime) -> None:
    """Tell both threads of each possible clash not told yet (at most CLASH_MAX for one
    filing): requests under review (whose dates are the dates a decision is needed by)."""
    window = timedelta(days=CLASH_DAYS)
    others = s.scalars(
        select(ReviewRequest).join(Department, Department.id == ReviewRequest.department_id)
        .where(Department.council_id == request.department.council_id, ReviewRequest.id != request.id,
               ReviewRequest.status.in_(UNDER_REVIEW),
               ReviewRequest.decision_by.between(request.decision_by - window, request.decision_by + window))
        .order_by(ReviewRequest.id.desc()))
    told = 0
    for other in others:
        shared = [st for st in request.stages or () if st in set(other.stages or ())]
        if not shared:
            continue
        noted = s.scalar(select(AuditEvent.id).where(AuditEvent.request_id == request.id,
                                                     AuditEvent.kind == "clash_noted",
                                                     AuditEvent.data["other"].as_integer() == other.id).limit(1))
        if noted is not None:
            continue
        for one, two in ((request, other), (other, request)):
            event = audit.record(s, kind="clash_noted", actor="cxbot", at=now, request_id=one.id, other=two.id,
                                 stages=shared, link=_link(s, two), day=two.decision_by.isoformat(),
                                 own_day=one.decision_by.isoformat())
            notices.thread_note(s, one.id, event, now)
        told += 1
        if told == CLASH_MAX:
            break
