"""The council's policy: what decides a request, who is asked, and how long it may take.

Loaded from the council file, stored as JSON on the council row, and turned back into
these values by `CouncilPolicy.from_json`, so the rules stay plain data the domain can
test without a database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cxbot.domain.model import Magnitude

DEFAULT_REVIEW_DAYS = {Magnitude.MINOR: 3, Magnitude.MAJOR: 7}


@dataclass(frozen=True)
class MagnitudePolicy:
    """How a request of one magnitude is decided.

    `approvals`: approvals each routed department must give. `required_share`: None means
    every routed department must answer; a share (0 < s ≤ 1) means that share of them,
    rounded up. `abstain_counts`: whether an abstention answers for its department.
    """

    review_days: int
    approvals: int = 1
    required_share: float | None = None
    abstain_counts: bool = False

    def required(self, routed: int) -> int:
        if self.required_share is None:
            return routed
        # Rounded before ceil so that a share of 1/3 of 3 departments is 1, not 2.
        return max(1, math.ceil(round(self.required_share * routed, 6))) if routed else 0

    def to_json(self) -> dict[str, Any]:
        return {"review_days": self.review_days, "approvals": self.approvals,
                "required_share": self.required_share, "abstain_counts": self.abstain_counts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MagnitudePolicy:
        return cls(int(data["review_days"]), int(data.get("approvals", 1)), data.get("required_share"),
                   bool(data.get("abstain_counts", False)))


@dataclass(frozen=True)
class RoutingRule:
    """When a change matches (touches any of `stages` or of `moments`, and/or has `magnitude`),
    adjust the routing.

    `add` and `remove` name departments; `only_stage_owners` keeps only the departments
    that own one of the stages the change touches. `moments` are moment-of-truth keys
    (cxbot.domain.moments): a rule naming stages and moments matches a change touching any of them.
    """

    stages: tuple[str, ...] = ()
    magnitude: Magnitude | None = None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    only_stage_owners: bool = False
    moments: tuple[str, ...] = ()

    def matches(self, stages: tuple[str, ...], magnitude: Magnitude, moments: tuple[str, ...] = ()) -> bool:
        if (self.stages or self.moments) and not (set(self.stages) & set(stages) or set(self.moments) & set(moments)):
            return False
        return self.magnitude is None or self.magnitude is magnitude

    def condition(self, stages: tuple[str, ...], moments: Mapping[str, str] | None = None) -> str:
        """Why the rule applied, in words: "touches Pay", "a minor change", "a minor change touching Pay";
        `moments`: the touched moments' names by key ("touches The first invoice")."""
        touched = [s for s in self.stages if s in stages]
        touched += [moments[m] for m in self.moments if moments and m in moments]
        parts = []
        if self.magnitude is not None:
            parts.append(f"a {self.magnitude.value} change")
        if touched:
            parts.append(("touching " if parts else "touches ") + ", ".join(touched))
        return " ".join(parts) or "every change"

    def to_json(self) -> dict[str, Any]:
        data = {"stages": list(self.stages), "magnitude": self.magnitude.value if self.magnitude else None,
                "add": list(self.add), "remove": list(self.remove), "only_stage_owners": self.only_stage_owners}
        if self.moments:
            data["moments"] = list(self.moments)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoutingRule:
        magnitude = data.get("magnitude")
        return cls(tuple(data.get("stages", ())), Magnitude(magnitude) if magnitude else None,
                   tuple(data.get("add", ())), tuple(data.get("remove", ())), bool(data.get("only_stage_owners")),
                   tuple(data.get("moments", ())))


ESCALATION_TARGETS = ("leads", "chair")


@dataclass(frozen=True)
class EscalationPolicy:
    """Who a stuck request goes to, in order, and when.

    A request is stuck when its deadline passes with departments outstanding, or when a
    blocking objection stands for `objection_days` working days. Each further step comes
    `step_days` working days after the previous one. An empty ladder means no escalation:
    a request whose deadline passes with departments outstanding expires.

    `"leads"` reaches the leads of the departments that still owe an answer (outstanding,
    or holding a blocking objection), with a copy to the filing department's leads;
    `"chair"` reaches the council chair, who decides.
    """

    ladder: tuple[str, ...] = ESCALATION_TARGETS
    step_days: int = 2
    objection_days: int = 5

    def to_json(self) -> dict[str, Any]:
        return {"ladder": list(self.ladder), "step_days": self.step_days, "objection_days": self.objection_days}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EscalationPolicy:
        return cls(tuple(data.get("ladder", ESCALATION_TARGETS)), int(data.get("step_days", 2)),
                   int(data.get("objection_days", 5)))


@dataclass(frozen=True)
class ReminderPolicy:
    """Reminders go to those who still owe an answer: daily from `first_after_days` working
    days after routing, and once `closing_soon_hours` before the deadline."""

    first_after_days: int = 1
    closing_soon_hours: int = 24

    def to_json(self) -> dict[str, Any]:
        return {"first_after_days": self.first_after_days, "closing_soon_hours": self.closing_soon_hours}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReminderPolicy:
        return cls(int(data.get("first_after_days", 1)), int(data.get("closing_soon_hours", 24)))


@dataclass(frozen=True)
class DigestPolicy:
    """When the chair's weekly digest goes out (council time) and whether the channel gets it too."""

    day: str = "mon"
    time: str = "09:00"
    post_to_channel: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "time": self.time, "post_to_channel": self.post_to_channel}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestPolicy:
        return cls(str(data.get("day", "mon")), str(data.get("time", "09:00")), bool(data.get("post_to_channel")))


@dataclass(frozen=True)
class CouncilPolicy:
    minor: MagnitudePolicy = MagnitudePolicy(DEFAULT_REVIEW_DAYS[Magnitude.MINOR])
    major: MagnitudePolicy = MagnitudePolicy(DEFAULT_REVIEW_DAYS[Magnitude.MAJOR])
    routing: tuple[RoutingRule, ...] = ()
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    max_hold_days: int = 3
    digest: DigestPolicy = field(default_factory=DigestPolicy)
    # Days a delivered outbox item is kept (for tracing a message back to its cause) before
    # the retention job deletes it; votes, comments and the audit trail are never deleted.
    retention_days: int = 14
    # Customer hours a month above which a change is treated as major (cxbot.domain.cost).
    major_customer_hours: float | None = None
    # Days after a change went live that its filer and objectors are asked how it turned out.
    follow_up_days: int = 30

    def for_magnitude(self, magnitude: Magnitude) -> MagnitudePolicy:
        return self.minor if magnitude is Magnitude.MINOR else self.major

    def to_json(self) -> dict[str, Any]:
        data = {"minor": self.minor.to_json(), "major": self.major.to_json(),
                "routing": [r.to_json() for r in self.routing], "escalation": self.escalation.to_json(),
                "reminders": self.reminders.to_json(), "max_hold_days": self.max_hold_days,
                "digest": self.digest.to_json(), "outbox": {"retention_days": self.retention_days}}
        if self.major_customer_hours is not None:
            data["major_customer_hours"] = self.major_customer_hours
        if self.follow_up_days != 30:
            data["follow_up_days"] = self.follow_up_days
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CouncilPolicy:
        if not data:
            return cls()
        default = cls()
        return cls(
            MagnitudePolicy.from_json(data["minor"]) if "minor" in data else default.minor,
            MagnitudePolicy.from_json(data["major"]) if "major" in data else default.major,
            tuple(RoutingRule.from_json(r) for r in data.get("routing", ())),
            EscalationPolicy.from_json(data.get("escalation", {})),
            ReminderPolicy.from_json(data.get("reminders", {})),
            int(data.get("max_hold_days", 3)),
            DigestPolicy.from_json(data.get("digest", {})),
            int((data.get("outbox") or {}).get("retention_days", 14)),
            float(data["major_customer_hours"]) if data.get("major_customer_hours") is not None else None,
            int(data.get("follow_up_days", 30)),
        )
