"""Which departments review a request, and why.

Routing is a pure function of the filing department and the council's departments so
that rules (by lifecycle stage, by magnitude, substitutes, load balancing) can be added
here without touching storage or Slack. Each routed department carries the reason it was
asked: the thread shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class DepartmentInfo:
    key: str
    name: str
    active_advocates: int


@dataclass(frozen=True)
class Route:
    department: str
    reason: str


def route(filing_department: str, departments: Sequence[DepartmentInfo]) -> list[Route]:
    """Every other department with at least one active advocate reviews the change.

    The filing department never reviews its own change; a department with nobody to
    answer is left out rather than blocking the decision forever.
    """
    return [
        Route(d.key, "every other department with advocates reviews each change")
        for d in departments
        if d.key != filing_department and d.active_advocates > 0
    ]
