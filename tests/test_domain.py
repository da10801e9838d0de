"""The council's rules, alone: routing, tally and outcome, permissions, filing validation."""

from __future__ import annotations

from datetime import date

from cxbot.domain.decision import outcome, tally
from cxbot.domain.drafts import draft_errors
from cxbot.domain.model import Answer, Ballot, Draft, Impact, Magnitude, Resolution, Role, Status, VoteKind
from cxbot.domain.permissions import (
    Membership,
    amend_refusal,
    filing_refusal,
    reopen_refusal,
    substitute_department,
    vote_refusal,
    withdraw_refusal,
)
from cxbot.domain.policy import MagnitudePolicy, RoutingRule
from cxbot.domain.routing import DepartmentInfo, route

DEPTS = [DepartmentInfo("billing", "Billing", 1), DepartmentInfo("legal", "Legal", 2),
         DepartmentInfo("support", "Support", 1), DepartmentInfo("empty", "Empty", 0)]


def test_routing_skips_the_filing_department_and_departments_without_advocates() -> None:
    routes = route("billing", DEPTS)
    assert [r.department for r in routes] == ["legal", "support"]
    assert all(r.reason for r in routes)


def test_routing_with_nobody_else_routes_nowhere() -> None:
    assert route("billing", DEPTS[:1]) == []


def _b(user: str, dept: str, kind: VoteKind, note: str = "", **kw: object) -> Ballot:
    return Ballot(user, dept, kind, note, **kw)  # type: ignore[arg-type]


ONE = MagnitudePolicy(review_days=3)


def test_outcome_needs_one_approval_from_every_routed_department() -> None:
    routed = ["legal", "support"]
    assert outcome(tally(routed, [], ONE)) is Status.OPEN
    assert outcome(tally(routed, [_b("L1", "legal", VoteKind.APPROVE)], ONE)) is Status.OPEN
    both = [_b("L1", "legal", VoteKind.APPROVE), _b("S1", "support", VoteKind.APPROVE)]
    assert outcome(tally(routed, both, ONE)) is Status.APPROVED


def test_a_standing_blocking_objection_requests_changes_even_with_approvals() -> None:
    routed = ["legal", "support"]
    ballots = [_b("L1", "legal", VoteKind.APPROVE), _b("L2", "legal", VoteKind.OBJECT, "no"),
               _b("S1", "support", VoteKind.APPROVE)]
    result = tally(routed, ballots, ONE)
    assert outcome(result) is Status.CHANGES_REQUESTED
    assert [b.user for b in result.standing_objections] == ["L2"]


def test_resolved_objection_counts_as_approval_and_overruled_as_an_answer() -> None:
    routed = ["legal", "support"]
    resolved = [_b("L1", "legal", VoteKind.APPROVE),
                _b("S1", "support", VoteKind.OBJECT, "x", resolution=Resolution.RESOLVED)]
    result = tally(routed, resolved, ONE)
    assert result.departments[1].answer is Answer.APPROVES and outcome(result) is Status.APPROVED
    overruled = [_b("L1", "legal", VoteKind.APPROVE),
                 _b("S1", "support", VoteKind.OBJECT, "x", resolution=Resolution.OVERRULED)]
    result = tally(routed, overruled, ONE)
    assert result.departments[1].answer is Answer.ANSWERED and outcome(result) is Status.APPROVED


def test_non_blocking_objection_answers_without_blocking() -> None:
    result = tally(["legal"], [_b("L1", "legal", VoteKind.OBJECT, "meh", blocking=False)], ONE)
    assert result.departments[0].answer is Answer.ANSWERED
    assert outcome(result) is Status.APPROVED


def test_abstentions_answer_only_where_the_policy_counts_them() -> None:
    ballots = [_b("L1", "legal", VoteKind.ABSTAIN)]
    assert tally(["legal"], ballots, ONE).outstanding == ("legal",)
    counting = MagnitudePolicy(review_days=3, abstain_counts=True)
    assert tally(["legal"], ballots, counting).outstanding == ()


def test_approvals_per_department_and_required_share() -> None:
    two = MagnitudePolicy(review_days=3, approvals=2)
    one_of_two = [_b("L1", "legal", VoteKind.APPROVE)]
    assert tally(["legal"], one_of_two, two).departments[0].answer is Answer.OUTSTANDING
    both = one_of_two + [_b("L2", "legal", VoteKind.APPROVE)]
    assert outcome(tally(["legal"], both, two)) is Status.APPROVED
    half = MagnitudePolicy(review_days=3, required_share=0.5)
    routed = ["legal", "support", "marketing", "it"]
    two_of_four = [_b("L1", "legal", VoteKind.APPROVE), _b("S1", "support", VoteKind.APPROVE)]
    assert outcome(tally(routed, two_of_four[:1], half)) is Status.OPEN
    assert outcome(tally(routed, two_of_four, half)) is Status.APPROVED


def test_ballots_of_departments_not_routed_are_ignored() -> None:
    result = tally(["legal"], [_b("X", "billing", VoteKind.OBJECT, "mine"), _b("L1", "legal", VoteKind.APPROVE)], ONE)
    assert outcome(result) is Status.APPROVED


def test_routing_rules_add_remove_and_limit_to_stage_owners() -> None:
    depts = [DepartmentInfo("billing", "Billing", 1, ("Pay",)), DepartmentInfo("legal", "Legal", 1, ("Buy",)),
             DepartmentInfo("support", "Support", 1, ("Get help", "Use")), DepartmentInfo("finance", "Finance", 1),
             DepartmentInfo("it", "IT", 0, ("Pay",))]
    pay_rule = RoutingRule(stages=("Pay",), add=("billing", "finance", "it"))
    minor_rule = RoutingRule(magnitude=Magnitude.MINOR, only_stage_owners=True)
    routes = route("support", depts, stages=("Pay", "Buy"), magnitude=Magnitude.MINOR, rules=[minor_rule, pay_rule])
    assert {r.department: r.reason for r in routes} == {
        "billing": "touches Pay; always asked",      # re-added by the Pay rule
        "legal": "a minor change; owns Buy",
        "finance": "touches Pay; always asked",
    }
    # IT has no advocates: never asked, whatever a rule says; the filer's own department never.
    assert route("billing", depts, stages=("Pay",), rules=[pay_rule])[0].department == "legal"
    removing = RoutingRule(stages=("Use",), remove=("legal",))
    assert [r.department for r in route("billing", depts, stages=("Use",), rules=[removing])] == ["support", "finance"]


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


def test_two_hats_never_review_the_filing_departments_change() -> None:
    routed = {"legal", "support"}
    both = member("U", ("billing", Role.LEAD), ("legal", Role.ADVOCATE))
    refusal = vote_refusal(both, filing_department="billing", filer="BL", routed=routed) or ""
    assert "role in the department that filed" in refusal
    assert vote_refusal(both, filing_department="support", filer="SL", routed={"legal", "billing"}) is None
    # Nor as a substitute: covering an away Legal advocate changes nothing.
    lead = member("LL", ("legal", Role.LEAD), ("billing", Role.ADVOCATE))
    assert vote_refusal(lead, filing_department="billing", filer="BL", routed=routed,
                        covering={"L1": "legal"}) is not None


def test_a_substitute_stands_in_only_within_the_advocates_current_department() -> None:
    advocate = member("L1", ("legal", Role.ADVOCATE))
    assert substitute_department(advocate, member("LL", ("legal", Role.LEAD))) == "legal"
    assert substitute_department(advocate, member("L2", ("legal", Role.ADVOCATE))) == "legal"
    assert substitute_department(advocate, member("S1", ("support", Role.ADVOCATE))) is None
    assert substitute_department(advocate, member("LL")) is None                      # left the council
    assert substitute_department(member("L1"), member("LL", ("legal", Role.LEAD))) is None
    moved = member("L1", ("support", Role.ADVOCATE))                                  # moved to Support
    assert substitute_department(moved, member("LL", ("legal", Role.LEAD))) is None


def test_amend_and_reopen_need_standing_in_the_filing_department_withdraw_does_not() -> None:
    kw = {"filer": "BL", "filing_department": "billing"}
    gone = member("BL")
    assert amend_refusal(member("BL", ("billing", Role.LEAD)), **kw) is None
    assert amend_refusal(member("B2", ("billing", Role.LEAD)), **kw) is None
    assert "no longer lead or advocate" in (amend_refusal(gone, **kw) or "")
    assert amend_refusal(member("B1", ("billing", Role.ADVOCATE)), **kw) is not None
    assert reopen_refusal(Membership("C", frozenset(), is_chair=True), **kw) is None
    assert reopen_refusal(gone, **kw) is not None
    assert withdraw_refusal(gone, filer="BL") is None
    # Once the filing department has left the council, nobody speaks for it: its filer does.
    assert amend_refusal(gone, **kw, department_gone=True) is None
    assert reopen_refusal(gone, **kw, department_gone=True) is None
    assert amend_refusal(member("B1", ("billing", Role.ADVOCATE)), **kw, department_gone=True) is not None


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
