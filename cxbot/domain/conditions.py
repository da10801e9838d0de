"""Approval conditions: an approval's note is a condition the filing side must meet.

Once a request is approved its conditions are open items. Meeting them is the filing
side's work, so the filer, a current lead of the filing department or the chair marks
each one met; the reviewer who set it does not (they approved already)."""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import Any, TypeVar

from cxbot.domain.model import Role, VoteKind
from cxbot.domain.permissions import Membership
from cxbot.i18n import N_


def condition_refusal(who: Membership, *, filer: str, filing_department: str) -> str | None:
    if who.user == filer or who.is_chair or filing_department in who.departments(Role.LEAD):
        return None
    return N_("Only the person who filed this request, a lead of the department that filed it, or the council "
              "chair can mark its conditions met.")


V = TypeVar("V")


def conditions_of(votes: Iterable[V]) -> list[V]:
    """The approvals with a condition among a request's votes (objects or rows), oldest first:
    for each seat (an advocate's, or their substitute's on their behalf) its latest standing
    vote, as `cxbot.services.lifecycle.ballots_of` counts votes, when that is an approval
    with a note."""
    seats: dict[str, Any] = {}
    for v in sorted(votes, key=attrgetter("updated_at", "id")):
        if not v.retracted:  # type: ignore[attr-defined]
            seats[v.on_behalf_of or v.user_id] = v  # type: ignore[attr-defined]
    return sorted((v for v in seats.values() if v.kind is VoteKind.APPROVE and v.note.strip()),
                  key=attrgetter("cast_at", "id"))
