"""The tables. Several councils per database, each with its own departments; everything
else hangs off review requests, which belong to the council of their filing department."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cxbot.domain.model import Impact, Magnitude, Resolution, Role, Status, VoteKind
from cxbot.store.types import UTCDateTime, str_enum

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class Council(Base):
    """A council, as last loaded from its file. A file without `council.key` is the council
    keyed "default" (before several councils, the only one, row id 1)."""

    __tablename__ = "council"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    chair: Mapped[str] = mapped_column(String(32))
    admins: Mapped[list[str]]
    timezone: Mapped[str] = mapped_column(String(64))
    stages: Mapped[list[str]]
    # The decision policy (cxbot.domain.policy.CouncilPolicy) and working days and hours
    # (cxbot.domain.calendar.WorkingTime), as JSON.
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    working_time: Mapped[dict[str, Any]] = mapped_column(default=dict)
    loaded_at: Mapped[datetime]
    # `council.language` of the file (en, nb, de), or "": the channel's Slack locale decides.
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # The council channel's locale as Slack last reported it (`conversations.info` with
    # `include_locale`: `de-DE`), "" before it was read or when Slack would not say, and when
    # it was last asked: read again after a day, and only while `language` is unset.
    channel_locale: Mapped[str] = mapped_column(String(16), default="", server_default="")
    channel_locale_at: Mapped[datetime | None] = mapped_column(default=None)
    # The moments of truth (cxbot.domain.moments.Moment as JSON), in the file's order.
    moments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))


class Department(Base):
    """A department of one council: its key is unique within that council."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("council_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("council.id"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The lifecycle stages this department owns, for routing rules.
    stages: Mapped[list[str]] = mapped_column(default=list)
    # The department's Slack user group (`S…`), or "": the vote prompt mentions the group
    # instead of each advocate, so a large department takes one mention.
    usergroup: Mapped[str] = mapped_column(String(32), default="", server_default="")

    memberships: Mapped[list[Membership]] = relationship(back_populates="department")


class Membership(Base):
    """A person's role in a department. Removed people are deactivated, never deleted."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "department_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship(back_populates="memberships")


class ReviewRequest(Base):
    __tablename__ = "review_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    filer: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    stages: Mapped[list[str]]
    # The keys of the council's moments of truth the change touches.
    moments: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    # The customer's cost (cxbot.domain.cost.CustomerCost), as far as the filer gave it.
    customer_minutes: Mapped[float | None] = mapped_column(Float)
    customers_per_month: Mapped[int | None] = mapped_column(Integer)
    steps: Mapped[int | None] = mapped_column(Integer)
    warning_signs: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    impact: Mapped[Impact] = mapped_column(str_enum(Impact))
    impact_note: Mapped[str] = mapped_column(Text, default="")
    magnitude: Mapped[Magnitude] = mapped_column(str_enum(Magnitude))
    decision_by: Mapped[date] = mapped_column(Date)
    # The day an approved change went (or goes) live, as its filing side said: follow-ups count from it.
    go_live: Mapped[date | None] = mapped_column(Date)
    # Requests of other departments found related when it was filed (cxbot.services.related).
    related: Mapped[list[int]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    link: Mapped[str] = mapped_column(String(600), default="")
    status: Mapped[Status] = mapped_column(str_enum(Status), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    due_at: Mapped[datetime] = mapped_column(index=True)
    # 0: not escalated; n: the n-th step of the council's escalation ladder has been taken.
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The last vote button press applied to it, where presses wait in a journal of their own
    # (a SQLite file: cxbot.store.journal); 0 elsewhere.
    applied_press_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Raised by every flush that changes one of its votes (`_count_vote_changes` below): the
    # press worker's memory of the votes (cxbot.services.votebook) holds while it is unchanged.
    votes_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The Slack view that filed it: a double-submitted modal files one request.
    source_view_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The withdrawn request this one revises (filed with "File a revision…"): each is revised once.
    revises_id: Mapped[int | None] = mapped_column(ForeignKey("review_requests.id"), unique=True)
    # When the sweep next needs to look at it (a deadline, a hold's lapse, an escalation step,
    # someone's next reminder); `DUE_NOW` after any change, None once decided. The sweep reads
    # only the requests due by this, so its cost follows what is due (cxbot.services.sweep).
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)

    department: Mapped[Department] = relationship()
    routings: Mapped[list[Routing]] = relationship(
        back_populates="request", order_by="Routing.position", cascade="all, delete-orphan"
    )
    votes: Mapped[list[Vote]] = relationship(back_populates="request", cascade="all, delete-orphan")


class Routing(Base):
    """A department asked to review a request, and why."""

    __tablename__ = "routings"
    __table_args__ = (UniqueConstraint("request_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    position: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    # When the department first approved or objected: the digest's "answered on time".
    answered_at: Mapped[datetime | None]

    request: Mapped[ReviewRequest] = relationship(back_populates="routings")
    department: Mapped[Department] = relationship()


# An approval with a condition (its note): the predicate of a partial index, repeated by the
# queries that want the index used (cxbot.reports.digest).
CONDITIONS = "kind = 'approve' AND note <> ''"


class Vote(Base):
    """An advocate's standing vote; its history is in `audit_events`."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("request_id", "user_id"), Index("ix_votes_kind_cast_at", "kind", "cast_at"),
        # The few approvals with a condition, for the digest's open conditions: a query that
        # repeats `CONDITIONS` and asks for standing votes reads these rows alone.
        Index("ix_votes_conditions", "kind", "retracted", sqlite_where=text(CONDITIONS),
              postgresql_where=text(CONDITIONS)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    kind: Mapped[VoteKind] = mapped_column(str_enum(VoteKind))
    note: Mapped[str] = mapped_column(Text, default="")
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    cast_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Objections only: blocking or not, what would fix it, and how it ended.
    blocking: Mapped[bool] = mapped_column(Boolean, default=True)
    mitigation: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[Resolution | None] = mapped_column(str_enum(Resolution))
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    # The away advocate a substitute voted for.
    on_behalf_of: Mapped[str | None] = mapped_column(String(32))
    # An approval's condition (its note) marked met, once the request is approved: when and by whom.
    condition_met_at: Mapped[datetime | None]
    condition_met_by: Mapped[str | None] = mapped_column(String(32))

    request: Mapped[ReviewRequest] = relationship(back_populates="votes")
    department: Mapped[Department] = relationship()


class Comment(Base):
    """A reply typed in a request's thread, as it reads now.

    An edit replaces `text` (the earlier text stays in the audit trail); a deletion in Slack
    sets `deleted_at`, and whatever lists comments leaves the comment out. `files` are the
    files shared with the reply: `{"name", "permalink"}` each, as Slack sent them.
    """

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    slack_ts: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime]
    files: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class FollowUp(Base):
    """Weeks after an approved change went live, its filer is asked whether the impact on
    customers came as predicted, and each of its objectors whether their concern came true.
    `due_at` is when the question goes out; `next_at` when the follow-up job next has
    something to do with it (ask, ask again), None once answered or given up: indexed, so
    the job reads only what is due, however long the history. An answer replaces an
    earlier one (both are in the audit trail)."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("request_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))          # "filer" or "objector"
    due_at: Mapped[datetime]
    next_at: Mapped[datetime | None] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    chased_at: Mapped[datetime | None]                     # asked again once, unanswered
    answer: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    measured: Mapped[str] = mapped_column(String(100), default="")
    answered_at: Mapped[datetime | None]


class SearchDocument(Base):
    """What full-text search reads of a request: its title, its description (summary and impact
    note) and its discussion (objections' reasons and what would fix them, live comments),
    rewritten in the transaction that changes any of them (cxbot.store.search).

    The index over it is not modelled here, as each database has its own: on PostgreSQL a
    generated `tsvector` column with a GIN index, on SQLite an FTS5 table reading these rows
    (both made by the migration that made this table; `cxbot.store.search.UNMODELLED`)."""

    __tablename__ = "search_documents"

    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"), primary_key=True, autoincrement=False)
    # The request's council (its filing department's, which never changes): a search reads
    # only its reader's councils without joining the requests.
    council_id: Mapped[int] = mapped_column(ForeignKey("council.id"))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    discussion: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """Append-only record of every state change: who, when, what."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("review_requests.id"), index=True)
    actor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class ProcessedEvent(Base):
    """Events API deliveries already handled (Slack retries them)."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime]


class SlackMessage(Base):
    """Where the bot's messages about a request live, so they can be updated in place."""

    __tablename__ = "slack_messages"
    __table_args__ = (UniqueConstraint("request_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"))
    role: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    permalink: Mapped[str] = mapped_column(String(300), default="")
    # What the message shows now, hashed: an update that would change nothing is skipped.
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class OutboxItem(Base):
    """A Slack side effect a use case asked for, written in the same transaction as the change.

    Items of one `lane` (a request) are delivered in id order; `coalesce_key` lets a burst of
    refreshes of the same message become one call, rendered from the state at delivery time.
    """

    __tablename__ = "outbox"
    # Delivered rows pile up between prunings (cxbot.jobs.retention): the pending ones are
    # found through partial indexes, whose size follows what is still to be delivered, so
    # the due-lanes query and a lane's items stay as quick at millions of delivered rows
    # (a full index on `status` is one the planner rightly declines once ANALYZE has run).
    __table_args__ = (Index("ix_outbox_pending_lane_id", "lane", "id", sqlite_where=text("status = 'pending'"),
                            postgresql_where=text("status = 'pending'")),
                      Index("ix_outbox_done_delivered_at", "delivered_at", sqlite_where=text("status = 'done'"),
                            postgresql_where=text("status = 'done'")),
                      Index("ix_outbox_coalesce_key_status", "coalesce_key", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lane: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]]
    coalesce_key: Mapped[str | None] = mapped_column(String(96))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # A coalesced item is asked for again while pending (instead of queuing a twin): the
    # revision goes up, and a delivery settles the item only if nothing asked since it read it.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OutboxLane(Base):
    """A lease on a lane: only its holder delivers that lane's items, so order holds across replicas."""

    __tablename__ = "outbox_lanes"

    lane: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    lease_until: Mapped[datetime | None]


class Press(Base):
    """A vote button (Approve, Abstain, Retract) pressed in a request's thread, not applied yet.

    Stored in the transaction that precedes the acknowledgement, applied in order right after
    by the press worker (cxbot.jobs.press_worker), which deletes it in the same transaction
    as the vote it records: an acknowledged press is never lost and never applied twice.
    On a SQLite file, presses wait in a journal beside the database instead, in a table
    of the same columns (cxbot.store.journal).
    """

    __tablename__ = "presses"
    __table_args__ = (Index("ix_presses_request_id_id", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # approve, abstain, retract
    # Where the person pressed, to answer a refusal there.
    channel: Mapped[str] = mapped_column(String(32), default="")
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Hold(Base):
    """A department's "I need more time or information": pauses its clock until `until`, then lapses."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    placed_at: Mapped[datetime]
    until: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str] = mapped_column(String(32), default="")


class Substitute(Base):
    """An advocate away from `starts_on` to `until` (inclusive), and who answers for them."""

    __tablename__ = "substitutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    advocate: Mapped[str] = mapped_column(String(32), index=True)
    substitute: Mapped[str] = mapped_column(String(32), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]


class DigestSend(Base):
    """A council's weekly digest sent (or claimed for sending): unique per council and ISO
    week, so replicas and restarts send each council's digest of a week once."""

    __tablename__ = "digest_sends"

    council_id: Mapped[int] = mapped_column(ForeignKey("council.id"), primary_key=True)
    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    # The chair's DM that carries it, so the full report can be attached in its thread.
    dm_channel: Mapped[str] = mapped_column(String(32), default="")
    dm_ts: Mapped[str] = mapped_column(String(32), default="")


class Reminder(Base):
    """A reminder sent (or claimed for sending) on its own: a "closing soon" notice. The
    unique key is the claim: one of each kind a person a request a day, however many sweeps
    run at once. (The requests a person's daily DM lists are on its `DailyReminder`.)"""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("request_id", "user_id", "kind", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(index=True)


class DailyReminder(Base):
    """A person's reminder DM of one working day (their own date): the claim that they get at
    most one a day (unique per person and day, however many sweeps run at once), and where
    the DM is, so answering from it updates it in place. `listed`: the ids of the requests it
    lists, comma-separated (a big council's morning lists 250,000 requests in 2,000 DMs: one
    row a DM, not one a request listed); `DailyListing` finds the DMs that list a request."""

    __tablename__ = "daily_reminders"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(32), default="")
    ts: Mapped[str] = mapped_column(String(32), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    listed: Mapped[str] = mapped_column(Text, default="")


class DailyListing(Base):
    """Who listed a request in their daily DM of a day (`users`, comma-separated): so a
    change of the request updates those DMs in place. One row a request a day for each
    sweep batch that claimed DMs listing it (a morning: about one a request)."""

    __tablename__ = "daily_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    users: Mapped[str] = mapped_column(Text)


class Escalation(Base):
    """A step of the escalation ladder taken for a request (unique: each step once)."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("request_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"))
    step: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[str]]
    reason: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime]


class Person(Base):
    """What Slack told us about a person (their time zone, for reminders in working hours)."""

    __tablename__ = "people"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))  # "" when Slack gave none: the council's zone applies
    fetched_at: Mapped[datetime]
    # The DM channel with this person (conversations.open is Tier 3: ask once, not per message).
    dm_channel: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str] = mapped_column(String(128), default="")  # for the digest report
    # Their Slack interface language (`en-US`, `de-DE`; "" unknown), refreshed with the rest.
    locale: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # Their own choice (`/cx-review language nb`), or "" to follow the council and their locale.
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")


class DeliveryHalt(Base):
    """Slack refused the bot's token (revoked, invalid, its workspace or user deactivated):
    while this row (id 1) exists no process delivers the outbox and /healthz says why. The
    outbox worker checks the token with `auth.test` every minute or so (`checked_at`) and
    deletes the row once Slack accepts it again."""

    __tablename__ = "delivery_halt"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    since: Mapped[datetime]
    checked_at: Mapped[datetime]


# The sweep's bookkeeping of when each request is next due (cxbot.store.due) and the search
# documents (cxbot.store.search), kept by flush listeners that register on import.
from cxbot.store import search as _search  # noqa: E402, F401
from cxbot.store.due import DUE_NOW, schedule  # noqa: E402

__all__ = ["DUE_NOW", "schedule"]


class HomeTab(Base):
    """Someone who has opened cxbot's Home tab: only their Home is published again when a
    change affects it (a Home nobody has looked at is built when it is first opened)."""

    __tablename__ = "home_tabs"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime]   # the first time
