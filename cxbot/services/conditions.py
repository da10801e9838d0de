"""Approval conditions as open items: marking one met.

Which approvals carry a condition is `cxbot.domain.conditions.conditions_of`. Once the
request is approved each condition stays open until the filing side marks it met; that is
audited, announced in the thread, and the request's messages show it.
"""

from __future__ import annotations

from cxbot.clock import Clock
from cxbot.domain.conditions import condition_refusal, conditions_of
from cxbot.domain.errors import Closed, NotAllowed, NotFound
from cxbot.domain.model import STATUS_STATES, Status
from cxbot.i18n import N_
from cxbot.services import audit, notices
from cxbot.services.council import council_of, membership
from cxbot.services.readmodel import load_request
from cxbot.store.uow import UnitOfWork


def mark_met(uow: UnitOfWork, *, actor: str, request_id: int, vote_id: int, clock: Clock) -> bool:
    """The filing side says an approved request's condition is met; False when it already was."""
    now = clock.now()
    with uow:
        s = uow.session
        request = load_request(s, request_id, lock=True)
        refusal = condition_refusal(membership(s, actor, council_of(s, request).id), filer=request.filer,
                                    filing_department=request.department.key)
        if refusal:
            raise NotAllowed(refusal)
        if request.status is not Status.APPROVED:
            raise Closed(N_("Conditions are marked met once the request is approved; this one is {status}.",
                            status=STATUS_STATES[request.status]))
        vote = next((v for v in conditions_of(request.votes) if v.id == vote_id), None)
        if vote is None:
            raise NotFound(N_("That condition is not part of this request's approval."))
        if vote.condition_met_at is not None:
            return False
        vote.condition_met_at, vote.condition_met_by = now, actor
        still_open = sum(1 for v in conditions_of(request.votes) if v.condition_met_at is None)
        event = audit.record(s, kind="condition_met", actor=actor, at=now, request_id=request_id, vote_id=vote.id,
                             condition=vote.note, author=vote.user_id, department=vote.department.key,
                             still_open=still_open)
        notices.thread_note(s, request_id, event, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return True
