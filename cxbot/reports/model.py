"""The digest as plain values: what every rendering (Slack, text, HTML) shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Headline:
    """One week's numbers. `open`, `overdue` are as at the end of the week."""

    filed: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    expired: int = 0
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    median_hours_to_decision: float | None = None

    @property
    def decided(self) -> int:
        return self.approved + self.rejected + self.withdrawn + self.expired


@dataclass(frozen=True)
class Objection:
    request_id: int
    request_title: str
    user: str                 # Slack user id
    department: str           # department name
    reason: str               # user-written
    blocking: bool
    resolution: str | None    # None (standing), "resolved", "overruled"; "withdrawn" when retracted or when
                              # its request was withdrawn (nothing is left for it to stand against)


@dataclass(frozen=True)
class Condition:
    """A condition an approval came with, and whether the filing side has marked it met."""

    user: str                 # Slack user id of the approver who set it
    department: str           # the approver's department name
    text: str                 # user-written
    met: bool


@dataclass(frozen=True)
class UnmetConditions:
    """An approved request with conditions still open at the end of the week."""

    request_id: int
    title: str                # user-written
    department: str           # filing department's name
    approved_at: datetime
    age_hours: float          # since approval, at the end of the week (or now)
    conditions: tuple[Condition, ...]     # the open ones


@dataclass(frozen=True)
class Decided:
    request_id: int
    title: str                # user-written
    department: str           # filing department's name
    outcome: str              # approved / rejected / withdrawn / expired
    decided_at: datetime
    reviewers: tuple[str, ...]           # names of the departments asked
    objections: tuple[Objection, ...]
    by_chair: bool = False
    conditions: tuple[Condition, ...] = ()   # an approval's conditions
    customer_hours: float | None = None      # customer hours a month it adds (+) or saves (−), if its filer said


@dataclass(frozen=True)
class Waiting:
    request_id: int
    title: str
    department: str
    status: str               # open / on_hold / changes_requested / escalated
    due_at: datetime
    overdue: bool
    outstanding: tuple[str, ...]         # names of the departments that still owe an answer


@dataclass(frozen=True)
class StageObjections:
    stage: str
    objections: tuple[Objection, ...]

    @property
    def resolved(self) -> int:
        return sum(1 for o in self.objections if o.resolution == "resolved")


@dataclass(frozen=True)
class DepartmentStats:
    key: str
    name: str
    routed: int                          # requests routed to it that were filed this week
    answered: int                        # …of which it has answered
    answered_on_time: int                # …before the request's due time
    median_hours_to_answer: float | None
    objections_raised: int               # objections its advocates raised this week
    reminders: int                       # reminders its advocates needed this week
    filed: int                           # requests it filed this week
    approved_first_time: int             # …approved without an amendment
    amended: int                         # …amended at least once


@dataclass(frozen=True)
class StageStats:
    stage: str
    touched: int                         # requests filed this week that touch it
    pending: int                         # requests under review that touch it


@dataclass(frozen=True)
class ExperienceRow:
    """One stage of the customer's experience, or one moment of truth under it: the changes
    decided this week that touch it, and what they cost or save the customer."""

    stage: str
    moment: str = ""                     # a moment of truth of `stage`; "" for the stage as a whole
    decided: int = 0                     # changes decided this week that touch it
    approved: int = 0                    # …of which approved
    customer_hours: float = 0.0          # customer hours a month the approved ones add (+) or save (−)
    costed: int = 0                      # approved ones whose filer gave minutes and customers
    departments: tuple[str, ...] = ()    # the departments that filed them, as named in the council
    followed_up: int = 0                 # filers' follow-ups answered this week on changes touching it
    held: int = 0                        # …that said the impact came as predicted, or better
    worse: int = 0                       # …that said it turned out worse
    follow_ups_due: int = 0              # filers' follow-up questions asked this week on changes touching it


@dataclass(frozen=True)
class FollowUpStats:
    """A department's follow-ups this week: asked of its people (as filers, and as objectors:
    the department of the objection), answered, and its objections checked and proved right."""

    name: str
    asked: int
    answered: int
    concerns_checked: int                # objectors' follow-ups answered this week
    concerns_came_true: int              # …that said the concern came true


@dataclass(frozen=True)
class WeekDecisions:
    week: str                            # "2026-W48"
    approved: int
    rejected: int
    withdrawn: int
    expired: int

    @property
    def total(self) -> int:
        return self.approved + self.rejected + self.withdrawn + self.expired


@dataclass(frozen=True)
class Digest:
    week: str                            # ISO week, "2026-W48"
    starts: date                         # Monday, council time
    ends: date                           # Sunday, council time
    timezone: str
    generated_at: datetime
    headline: Headline
    previous: Headline
    decided: tuple[Decided, ...] = ()
    waiting: tuple[Waiting, ...] = ()    # overdue first, then by due time
    objections_by_stage: tuple[StageObjections, ...] = ()
    departments: tuple[DepartmentStats, ...] = ()
    stages: tuple[StageStats, ...] = ()
    history: tuple[WeekDecisions, ...] = field(default_factory=tuple)   # the last 12 weeks, oldest first
    names: dict[str, str] = field(default_factory=dict)                 # Slack user id → display name, if known
    unmet_conditions: tuple[UnmetConditions, ...] = ()   # approvals with open conditions, oldest first
    language: str = "en"                 # what the digest is written in (cxbot.domain.languages.digest_language)
    council: str = "default"             # the council's key (names the attached files)
    experience: tuple[ExperienceRow, ...] = ()   # "Across the experience": stages, then their moments
    previous_experience: tuple[ExperienceRow, ...] = ()   # the week before's, its stages only
    follow_ups: tuple[FollowUpStats, ...] = ()

    @property
    def objection_count(self) -> int:
        """The week's objections, each once: one on a request touching two stages is listed
        under both stages but counted once."""
        return len({(o.request_id, o.user, o.department) for s in self.objections_by_stage for o in s.objections})

    @property
    def quiet(self) -> bool:
        """Nothing filed, decided, waiting, objected to or left with open conditions: the digest
        says so in a line."""
        return not (self.headline.filed or self.headline.decided or self.waiting or self.objections_by_stage
                    or self.unmet_conditions)
