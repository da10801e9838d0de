"""The council's rules, alone: routing, tally and outcome, permissions, filing validation."""

from __future__ import annotations

from datetime import date

from cxbot.domain.decision import outcome, tally
from cxbot.domain.drafts import draft_errors
from cxbot.domain.model import Ballot, Draft, Impact, Magnitude, Role, Status, VoteKind
from cxbot.domain.permissions import Membership, filing_refusal, vote_refusal
from cxbot.domain.routing import DepartmentInfo, route

DEPTS = [DepartmentInfo("billing", "Billing", 1), DepartmentInfo("legal", "Legal", 2),
         DepartmentInfo("support", "Support", 1), DepartmentInfo("empty", "Empty", 0)]


def test_routing_skips_the_filing_department_and_departments_without_advocates() -> None:
    routes = route("billing", DEPTS)
    assert [r.department for r in routes] == ["legal", "support"]
    assert all(r.reason for r in routes)


def test_routing_with_nobody_else_routes_nowhere() -> None:
    assert route("billing", DEPTS[:1]) == []


def _b(user: str, dept: str, kind: VoteKind, note: str = "") -> Ballot:
    return Ballot(user, dept, kind, note)


def test_outcome_needs_one_approval_from_every_routed_department() -> None:
    routed = ["legal", "support"]
    assert outcome(tally(routed, [])) is Status.OPEN
    assert outcome(tally(routed, [_b("L1", "legal", VoteKind.APPROVE)])) is Status.OPEN
    both = [_b("L1", "legal", VoteKind.APPROVE), _b("S1", "support", VoteKind.APPROVE)]
    assert outcome(tally(routed, both)) is Status.APPROVED


def test_a_standing_objection_requests_changes_even_with_approvals() -> None:
    routed = ["legal", "support"]
    ballots = [_b("L1", "legal", VoteKind.APPROVE), _b("L2", "legal", VoteKind.OBJECT, "no"),
               _b("S1", "support", VoteKind.APPROVE)]
    result = tally(routed, ballots)
    assert outcome(result) is Status.CHANGES_REQUESTED
    assert [b.user for b in result.objections] == ["L2"]


def test_abstentions_do_not_answer_for_a_department() -> None:
    result = tally(["legal"], [_b("L1", "legal", VoteKind.ABSTAIN)])
    assert result.outstanding == ("legal",)
    assert outcome(result) is Status.OPEN


def test_ballots_of_departments_not_routed_are_ignored() -> None:
    result = tally(["legal"], [_b("X", "billing", VoteKind.OBJECT, "mine"), _b("L1", "legal", VoteKind.APPROVE)])
    assert outcome(result) is Status.APPROVED


def member(user: str, *roles: tuple[str, Role]) -> Membership:
    return Membership(user, frozenset(roles))


def test_vote_permissions() -> None:
    routed = {"legal", "support"}
    kw = {"filing_department": "billing", "filer": "BL", "routed": routed}
    assert vote_refusal(member("L1", ("legal", Role.ADVOCATE)), **kw) is None
    assert "filed" in (vote_refusal(member("BL", ("billing", Role.LEAD)), **kw) or "")
    assert "Your department filed" in (vote_refusal(member("B1", ("billing", Role.ADVOCATE)), **kw) or "")
    assert "Only council advocates" in (vote_refusal(member("LL", ("legal", Role.LEAD)), **kw) or "")
    assert "not asked" in (vote_refusal(member("M1", ("marketing", Role.ADVOCATE)), **kw) or "")
    assert vote_refusal(member("X"), **kw) is not None


def test_filing_permissions() -> None:
    assert "chair" in (filing_refusal(member("X"), "UCHAIR") or "")
    lead = member("BL", ("billing", Role.LEAD))
    assert filing_refusal(lead, "UCHAIR", "billing") is None
    assert filing_refusal(lead, "UCHAIR", "legal") is not None


def _draft(**kw: object) -> Draft:
    base: dict[str, object] = dict(title="T", summary="S", department="billing", stages=("Pay",),
                                   impact=Impact.NEGATIVE, impact_note="", magnitude=Magnitude.MINOR,
                                   decision_by=date(2026, 12, 1), link="")
    base.update(kw)
    return Draft(**base)  # type: ignore[arg-type]


def test_draft_errors_name_each_field() -> None:
    ok = dict(today=date(2026, 11, 23), departments={"billing"}, stages={"Pay", "Leave"})
    assert draft_errors(_draft(), **ok) == {}
    errors = draft_errors(_draft(title=" ", summary="x" * 3001, department="legal", stages=(), impact=None,
                                 magnitude=None, decision_by=date(2026, 11, 22), link="javascript:alert(1)"), **ok)
    assert set(errors) == {"title", "summary", "department", "stages", "impact", "magnitude", "decision_by", "link"}
    assert "150" in draft_errors(_draft(title="x" * 151), **ok)["title"]
    assert "Unknown stage" in draft_errors(_draft(stages=("Pay", "Nope")), **ok)["stages"]
    assert draft_errors(_draft(decision_by=date(2026, 11, 23)), **ok) == {}
