"""Who may do what. Each check returns None when allowed, or the explanation to show."""

from __future__ import annotations

from collections.abc import Collection
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


def vote_refusal(
    who: Membership, *, filing_department: str, filer: str, routed: Collection[str]
) -> str | None:
    """Only active advocates of the routed departments vote; never the filing side."""
    dept = who.advocate_of
    if who.user == filer:
        return "You filed this request, so you can't vote on it. The other departments' advocates decide."
    if dept == filing_department:
        return "Your department filed this request: its own advocates don't review it."
    if dept is None:
        return "Only council advocates of the departments asked to review can vote on this request."
    if dept not in routed:
        return "Your department was not asked to review this request."
    return None


def withdraw_refusal(who: Membership, *, filer: str) -> str | None:
    if who.user != filer:
        return "Only the person who filed this request can withdraw it."
    return None
