"""Which departments review a request, and why.

Routing is a pure function of the change (filing department, stages, moments of truth,
magnitude), the council's departments, moments and routing rules, so that rules can grow here without
touching storage or Slack. Every routed department carries the reason it was asked: the
thread shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cxbot.domain.model import Magnitude
from cxbot.domain.moments import Moment, owners
from cxbot.domain.policy import RoutingRule

EVERYONE = "every other department reviews each change"


@dataclass(frozen=True)
class DepartmentInfo:
    key: str
    name: str
    active_advocates: int
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    department: str
    reason: str


def route(filing_department: str, departments: Sequence[DepartmentInfo], *, stages: tuple[str, ...] = (),
          magnitude: Magnitude = Magnitude.MAJOR, rules: Sequence[RoutingRule] = (),
          moments: tuple[str, ...] = (), council_moments: Sequence[Moment] = ()) -> list[Route]:
    """Start from every other department with active advocates, then apply the rules in order;
    last, a department that owns a moment of truth the change touches is asked, whatever the
    rules said.

    The filing department never reviews its own change, and a department with nobody to
    answer is never asked (it would block the decision forever), whatever a rule says.
    Routes come in the council file's department order.
    """
    can_answer = {d.key for d in departments if d.active_advocates > 0 and d.key != filing_department}
    chosen: dict[str, str] = {k: EVERYONE for k in can_answer}
    names = {m.key: m.name for m in council_moments if m.key in moments}
    for rule in rules:
        if not rule.matches(stages, magnitude, moments):
            continue
        why = rule.condition(stages, names)
        if rule.only_stage_owners:
            for d in departments:
                owned = [s for s in d.stages if s in stages]
                if d.key not in chosen:
                    continue
                if owned:
                    chosen[d.key] = f"{why}; owns {', '.join(owned)}"
                else:
                    del chosen[d.key]
        for key in rule.remove:
            chosen.pop(key, None)
        for key in rule.add:
            if key in can_answer:
                chosen[key] = f"{why}; always asked"
    for key, owned in owners(moments, council_moments).items():
        if key in can_answer:
            chosen[key] = f"owns {', '.join(owned)}, a moment of truth the change touches"
    return [Route(d.key, chosen[d.key]) for d in departments if d.key in chosen]
