"""Tallying votes per department and deciding the outcome by the council's policy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cxbot.domain.model import Ballot, DepartmentTally, Status, Tally, VoteKind


def tally(routed: Sequence[str], ballots: Iterable[Ballot]) -> Tally:
    """Group standing ballots by routed department, in routing order.

    Ballots from departments that are not routed (possible after a council change) are
    ignored: only the routed departments' answers decide.
    """
    by_dept: dict[str, dict[VoteKind, list[Ballot]]] = {
        d: {k: [] for k in VoteKind} for d in routed
    }
    for ballot in ballots:
        if ballot.department in by_dept:
            by_dept[ballot.department][ballot.kind].append(ballot)
    return Tally(
        tuple(
            DepartmentTally(
                department=d,
                approvals=tuple(kinds[VoteKind.APPROVE]),
                objections=tuple(kinds[VoteKind.OBJECT]),
                abstentions=tuple(kinds[VoteKind.ABSTAIN]),
            )
            for d, kinds in by_dept.items()
        )
    )


def outcome(result: Tally) -> Status:
    """The starting policy of the council.

    - any standing objection: changes requested (the request stays under review, so the
      objector can change their mind and the filer can answer);
    - otherwise, every routed department has at least one approval: approved;
    - otherwise it stays open.
    """
    if result.objections:
        return Status.CHANGES_REQUESTED
    if result.departments and all(d.approvals for d in result.departments):
        return Status.APPROVED
    return Status.OPEN
