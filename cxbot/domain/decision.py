"""Tallying votes per department and deciding the outcome by the council's policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from cxbot.domain.model import Answer, Ballot, DepartmentTally, Resolution, Status, Tally, VoteKind
from cxbot.domain.policy import MagnitudePolicy


def department_answer(ballots: Sequence[Ballot], policy: MagnitudePolicy, seats: int | None = None) -> Answer:
    """A department's answer from its advocates' standing ballots.

    - a blocking objection that stands: the department objects;
    - approvals (an objection its author resolved counts as one) reaching the policy's
      number — or every advocate's, when the department has fewer `seats` than that: it approves;
    - otherwise a non-blocking or overruled objection, or an abstention where the policy
      counts them, answers without approving;
    - otherwise it is outstanding.
    """
    if any(b.stands for b in ballots):
        return Answer.OBJECTS
    approvals = sum(1 for b in ballots if b.kind is VoteKind.APPROVE
                    or (b.kind is VoteKind.OBJECT and b.resolution is Resolution.RESOLVED))
    needed = min(policy.approvals, seats) if seats else policy.approvals
    if approvals >= needed:
        return Answer.APPROVES
    if any(b.kind is VoteKind.OBJECT for b in ballots):
        return Answer.ANSWERED
    if policy.abstain_counts and any(b.kind is VoteKind.ABSTAIN for b in ballots):
        return Answer.ANSWERED
    return Answer.OUTSTANDING


def tally(routed: Sequence[str], ballots: Iterable[Ballot], policy: MagnitudePolicy,
          seats: Mapping[str, int] | None = None) -> Tally:
    """Group standing ballots by routed department, in routing order, with each department's answer.

    Ballots from departments that are not routed (possible after a council change) are
    ignored: only the routed departments' answers decide.
    """
    by_dept: dict[str, list[Ballot]] = {d: [] for d in routed}
    for ballot in ballots:
        if ballot.department in by_dept:
            by_dept[ballot.department].append(ballot)
    return Tally(
        tuple(
            DepartmentTally(
                department=d,
                answer=department_answer(bs, policy, (seats or {}).get(d)),
                approvals=tuple(b for b in bs if b.kind is VoteKind.APPROVE
                                or (b.kind is VoteKind.OBJECT and b.resolution is Resolution.RESOLVED)),
                objections=tuple(b for b in bs if b.kind is VoteKind.OBJECT),
                abstentions=tuple(b for b in bs if b.kind is VoteKind.ABSTAIN),
            )
            for d, bs in by_dept.items()
        ),
        required=policy.required(len(routed)),
    )


def outcome(result: Tally) -> Status:
    """What the votes alone say.

    - a standing blocking objection: changes requested (the request stays under review, so
      the objector can resolve it and the filer can amend);
    - otherwise enough departments approve or answered (all of them by default): approved;
    - otherwise it stays open.
    """
    if result.standing_objections:
        return Status.CHANGES_REQUESTED
    if result.departments and result.satisfied >= result.required:
        return Status.APPROVED
    return Status.OPEN
