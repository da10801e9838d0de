"""Who may do what. Each check returns None when allowed, or the explanation to show.

One rule holds on every path that lets a person act for a department (a vote, a press the
press worker applies, a reminder, a mention in the prompt, `/cx-review status`): a person
acts for a department only while they hold a role in it now, read from the council as it is
loaded, never from what was true when they were asked. A substitute answers for an away
advocate only while both are active and the substitute leads or advocates for the
advocate's current department (`substitute_department`).

People may wear two hats: the council file may make someone a lead of one department and an
advocate of another. What it may not do is let a department review its own change, so for
a request filed by department D, anyone with any role in D is not asked, not mentioned, not
reminded and cannot vote on it for another department (`vote_refusal`); the council file is
not refused for it, since the dual role is legitimate for every other department's requests.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from cxbot.domain.model import Role
from cxbot.i18n import N_


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
        return N_("Only department leads and council advocates can file a CX review. "
                  "Ask the council chair <@{chair}> to add you to the council.", chair=chair)
    if department is not None and department not in mine:
        return N_("You can file only for your own department.")
    return None


def substitute_department(advocate: Membership, substitute: Membership) -> str | None:
    """The department `substitute` answers for while `advocate` is away, or None when the
    stand-in no longer holds: the advocate is no longer an active advocate, or the substitute
    neither leads nor advocates for the advocate's current department."""
    dept = advocate.advocate_of
    if dept is None or dept not in substitute.departments(Role.LEAD, Role.ADVOCATE):
        return None
    return dept


def substitution_refusal(advocate: Membership, substitute: Membership) -> str | None:
    """Why `substitute` can no longer stand in for `advocate` (said to the advocate), or None."""
    if advocate.advocate_of is None:
        return "you are no longer a council advocate"
    if substitute_department(advocate, substitute) is None:
        return f"<@{substitute.user}> no longer leads or advocates for your department"
    return None


def in_filing_department(who: Membership, filing_department: str) -> bool:
    """Anyone with a role in the filing department: never asked to review its change."""
    return filing_department in who.departments()


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
    """Only active advocates of the routed departments (or their substitutes) vote; never the
    filing side, whichever other role a person of the filing department holds."""
    if who.user == filer:
        return N_("You filed this request, so you can't vote on it. The other departments' advocates decide.")
    if voting_department(who, routed=routed, covering=covering) is not None:
        if in_filing_department(who, filing_department):
            return N_("You hold a role in the department that filed this request, so you can't review it, "
                      "not even for another department you belong to. The other departments' advocates decide.")
        return None
    dept = who.advocate_of
    if dept == filing_department:
        return N_("Your department filed this request: its own advocates don't review it.")
    if dept is None:
        return N_("Only council advocates of the departments asked to review can vote on this request.")
    return N_("Your department was not asked to review this request.")


def chair_refusal(who: Membership) -> str | None:
    if not who.is_chair:
        return N_("Only the council chair can do this.")
    return None


def resolve_refusal(who: Membership, *, objector: str, seat: str | None = None) -> str | None:
    """A blocking objection is resolved by its author, or by the advocate whose seat it was
    raised for (a substitute's objection, once its advocate is back); the chair overrules instead."""
    if who.user not in (objector, seat):
        return N_("Only the advocate who raised this objection can resolve it. The chair can overrule it.")
    return None


def withdraw_refusal(who: Membership, *, filer: str) -> str | None:
    """The filer may withdraw even after leaving the council: withdrawing only stops work."""
    if who.user != filer:
        return N_("Only the person who filed this request can withdraw it.")
    return None


def _speaks_for_filing_side(who: Membership, *, filer: str, filing_department: str,
                            department_gone: bool = False) -> bool:
    """The filer while they still lead or advocate for the filing department, or any current
    lead of it: those who may change what the council is asked, or ask it again. Once the
    filing department has left the council (dropped, or with no lead left: `department_gone`),
    nobody speaks for it any more, so its filer keeps these actions whatever their roles."""
    if filing_department in who.departments(Role.LEAD):
        return True
    if who.user == filer and department_gone:
        return True
    return who.user == filer and filing_department in who.departments(Role.ADVOCATE)


def amend_refusal(who: Membership, *, filer: str, filing_department: str,
                  department_gone: bool = False) -> str | None:
    """Amending changes what the council reviews, so it needs standing in the filing
    department now: the filer while they still lead or advocate for it, or a current lead of
    it; the filer alone once the department has left the council."""
    if _speaks_for_filing_side(who, filer=filer, filing_department=filing_department,
                               department_gone=department_gone):
        return None
    if who.user == filer:
        return N_("You no longer lead or advocate for the department that filed this request, so you can't amend "
                  "it. A current lead of that department can, or you can withdraw it.")
    return N_("Only the person who filed this request, or a lead of its department, can amend it.")


def reopen_refusal(who: Membership, *, filer: str, filing_department: str,
                   department_gone: bool = False) -> str | None:
    """Reopening asks the council again: the filer while they still lead or advocate for the
    filing department (or, once it has left the council, the filer alone), a current lead of
    it, or the chair."""
    if who.is_chair or _speaks_for_filing_side(who, filer=filer, filing_department=filing_department,
                                               department_gone=department_gone):
        return None
    if who.user == filer:
        return N_("You no longer lead or advocate for the department that filed this request, so you can't reopen "
                  "it. A current lead of that department, or the council chair, can.")
    return N_("Only the person who filed this request, a lead of its department, or the council chair can reopen it.")


def go_live_refusal(who: Membership, *, filer: str, filing_department: str) -> str | None:
    """The day a change went live is said by its filing side: the filer, a current lead of the
    filing department, or the council chair."""
    if who.user == filer or who.is_chair or filing_department in who.departments(Role.LEAD):
        return None
    return N_("Only the person who filed this request, a lead of its department, or the council chair can say "
              "when it went live.")


def follow_up_refusal(who: str, *, asked: str) -> str | None:
    """A follow-up question is answered by the person it asked, nobody else."""
    if who != asked:
        return N_("This follow-up asks someone else: only they can answer it.")
    return None
