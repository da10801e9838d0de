"""The council's vocabulary as plain values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from cxbot.domain.cost import CustomerCost
from cxbot.i18n import N_, Msg


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


UNDER_REVIEW = ("open", "on_hold", "changes_requested", "escalated")


class Status(enum.StrEnum):
    OPEN = "open"
    ON_HOLD = "on_hold"
    CHANGES_REQUESTED = "changes_requested"
    ESCALATED = "escalated"
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


# The states' names in each language (`Status.label` is the English one, as the CLI shows it).
STATUS_LABELS: dict[Status, Msg] = {
    Status.OPEN: N_("Open"), Status.ON_HOLD: N_("On hold"), Status.CHANGES_REQUESTED: N_("Changes requested"),
    Status.ESCALATED: N_("Escalated"), Status.APPROVED: N_("Approved"), Status.REJECTED: N_("Rejected"),
    Status.WITHDRAWN: N_("Withdrawn"), Status.EXPIRED: N_("Expired"),
}

# A state as a refusal says it, after "is": "This request is already {status}."
STATUS_STATES: dict[Status, Msg] = {
    Status.OPEN: N_("under review"), Status.ON_HOLD: N_("on hold"),
    Status.CHANGES_REQUESTED: N_("waiting for changes"), Status.ESCALATED: N_("escalated"),
    Status.APPROVED: N_("approved"), Status.REJECTED: N_("rejected"), Status.WITHDRAWN: N_("withdrawn"),
    Status.EXPIRED: N_("expired"),
}


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
    moments: tuple[str, ...] = ()   # keys of the council's moments of truth it touches
    cost: CustomerCost = CustomerCost()   # the customer's cost of the change, as far as the filer says


class Resolution(enum.StrEnum):
    """What ended an objection: its author resolved it, or the chair overruled it."""

    RESOLVED = "resolved"
    OVERRULED = "overruled"


@dataclass(frozen=True)
class Ballot:
    """One advocate's standing vote on a request.

    Objections carry `blocking` (a blocking objection stands until its author resolves it
    or the chair overrules it) and the `mitigation` the objector asks for. `on_behalf_of`
    names the away advocate a substitute voted for.
    """

    user: str
    department: str
    kind: VoteKind
    note: str = ""
    blocking: bool = True
    mitigation: str = ""
    resolution: Resolution | None = None
    on_behalf_of: str | None = None

    @property
    def stands(self) -> bool:
        """A blocking objection nobody has resolved or overruled."""
        return self.kind is VoteKind.OBJECT and self.blocking and self.resolution is None


class Answer(enum.StrEnum):
    """A routed department's answer under the policy."""

    APPROVES = "approves"
    OBJECTS = "objects"        # a blocking objection stands
    ANSWERED = "answered"      # answered without approving or blocking (non-blocking or overruled objection…)
    OUTSTANDING = "outstanding"


@dataclass(frozen=True)
class DepartmentTally:
    department: str
    answer: Answer
    approvals: tuple[Ballot, ...] = ()
    objections: tuple[Ballot, ...] = ()
    abstentions: tuple[Ballot, ...] = ()

    @property
    def outstanding(self) -> bool:
        return self.answer is Answer.OUTSTANDING


@dataclass(frozen=True)
class Tally:
    departments: tuple[DepartmentTally, ...] = field(default_factory=tuple)
    required: int = 0  # how many departments must approve or answer

    @property
    def outstanding(self) -> tuple[str, ...]:
        return tuple(d.department for d in self.departments if d.outstanding)

    @property
    def objections(self) -> tuple[Ballot, ...]:
        return tuple(b for d in self.departments for b in d.objections)

    @property
    def standing_objections(self) -> tuple[Ballot, ...]:
        return tuple(b for b in self.objections if b.stands)

    @property
    def satisfied(self) -> int:
        return sum(1 for d in self.departments if d.answer in (Answer.APPROVES, Answer.ANSWERED))
