"""The council's vocabulary as plain values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date


class Impact(enum.StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    UNSURE = "unsure"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Magnitude(enum.StrEnum):
    MINOR = "minor"
    MAJOR = "major"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class VoteKind(enum.StrEnum):
    APPROVE = "approve"
    OBJECT = "object"
    ABSTAIN = "abstain"


class Status(enum.StrEnum):
    OPEN = "open"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_final(self) -> bool:
        """Final requests take no more votes; the others are still under review."""
        return self in (Status.APPROVED, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED)


class Role(enum.StrEnum):
    LEAD = "lead"
    ADVOCATE = "advocate"


DEFAULT_STAGES: tuple[str, ...] = (
    "Discover", "Buy", "Onboard", "Use", "Get help", "Pay", "Renew", "Leave",
)

TITLE_MAX = 150
SUMMARY_MAX = 3000
NOTE_MAX = 1000
LINK_MAX = 500


@dataclass(frozen=True)
class Draft:
    """What a department lead typed into the filing modal, already parsed."""

    title: str
    summary: str
    department: str
    stages: tuple[str, ...]
    impact: Impact | None
    impact_note: str
    magnitude: Magnitude | None
    decision_by: date | None
    link: str = ""


@dataclass(frozen=True)
class Ballot:
    """One advocate's standing vote on a request."""

    user: str
    department: str
    kind: VoteKind
    note: str = ""


@dataclass(frozen=True)
class DepartmentTally:
    department: str
    approvals: tuple[Ballot, ...] = ()
    objections: tuple[Ballot, ...] = ()
    abstentions: tuple[Ballot, ...] = ()

    @property
    def outstanding(self) -> bool:
        """A department has answered when at least one of its advocates approved or objected."""
        return not self.approvals and not self.objections


@dataclass(frozen=True)
class Tally:
    departments: tuple[DepartmentTally, ...] = field(default_factory=tuple)

    @property
    def outstanding(self) -> tuple[str, ...]:
        return tuple(d.department for d in self.departments if d.outstanding)

    @property
    def objections(self) -> tuple[Ballot, ...]:
        return tuple(b for d in self.departments for b in d.objections)
