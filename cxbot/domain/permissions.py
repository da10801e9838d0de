"""Who may do what. Each check returns None when allowed, or the explanation to show."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from cxbot.domain.model import Role


@dataclass(frozen=True)
class Membership:
    """A person's active roles in the council, by department key."""

    user: str
    roles: frozenset[tuple[str, Role]]
    is_chair: bool = False
    is_admin: bool = False

    def departments(self, *roles: Role) -> list[str]:
        wanted = roles or tuple(Role)
        return sorted({dept for dept, role in self.roles if role in wanted})

    @property
    def advocate_of(self) -> str | None:
        depts = self.departments(Role.ADVOCATE)
        return depts[0] if depts else None

    @property
    def is_member(self) -> bool:
        return bool(self.roles) or self.is_chair or self.is_admin


def filing_refusal(who: Membership, chair: str, department: str | None = None) -> str | None:
    """Leads and advocates file for their own departments only."""
    mine = who.departments(Role.LEAD, Role.ADVOCATE)
    if not mine:
        return (
            "Only department leads and council advocates can file a CX review. "
            f"Ask the council chair <@{chair}> to add you to the council."
        )
    if department is not None and department not in mine:
        return "You can file only for your own department."
    return None


def voting_department(
    who: Membership, *, routed: Collection[str], covering: Mapping[str, str] | None = None
) -> tuple[str, str | None] | None:
    """(department, on behalf of) for a person who may vote, else None.

    An advocate votes for their own department; a substitute votes for the department of
    the away advocate they cover (`covering`: away advocate → department), on their behalf.
    """
    dept = who.advocate_of
    if dept is not None and dept in routed:
        return dept, None
    for advocate, department in sorted((covering or {}).items()):
        if department in routed:
            return department, advocate
    return None


def vote_refusal(
    who: Membership, *, filing_department: str, filer: str, routed: Collection[str],
    covering: Mapping[str, str] | None = None,
) -> str | None:
    """Only active advocates of the routed departments (or their substitutes) vote; never the filing side."""
    if who.user == filer:
        return "You filed this request, so you can't vote on it. The other departments' advocates decide."
    if voting_department(who, routed=routed, covering=covering) is not None:
        return None
    dept = who.advocate_of
    if dept == filing_department:
        return "Your department filed this request: its own advocates don't review it."
    if dept is None:
        return "Only council advocates of the departments asked to review can vote on this request."
    return "Your department was not asked to review this request."


def chair_refusal(who: Membership) -> str | None:
    if not who.is_chair:
        return "Only the council chair can do this."
    return None


def resolve_refusal(who: Membership, *, objector: str, seat: str | None = None) -> str | None:
    """A blocking objection is resolved by its author, or by the advocate whose seat it was
    raised for (a substitute's objection, once its advocate is back); the chair overrules instead."""
    if who.user not in (objector, seat):
        return "Only the advocate who raised this objection can resolve it. The chair can overrule it."
    return None


def withdraw_refusal(who: Membership, *, filer: str) -> str | None:
    if who.user != filer:
        return "Only the person who filed this request can withdraw it."
    return None


def amend_refusal(who: Membership, *, filer: str) -> str | None:
    if who.user != filer:
        return "Only the person who filed this request can amend it."
    return None


def reopen_refusal(who: Membership, *, filer: str) -> str | None:
    if who.user != filer and not who.is_chair:
        return "Only the person who filed this request, or the council chair, can reopen it."
    return None
