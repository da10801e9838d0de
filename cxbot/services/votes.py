"""Votes in a request's thread: approve, object, abstain, change, retract; resolving and
overruling objections.

The request row is locked for the whole use case (a row lock on PostgreSQL, the write
lock on SQLite), so concurrent voters are serialised and the outcome is computed from
every vote. Pressing the same button twice changes nothing the second time.

Approve, Abstain and Retract buttons are stored as presses before Slack is acknowledged
(cxbot.services.intake) and applied by the press worker (`cxbot.services.rounds`), many
at a time, with the `Ballot` and `Batch` here; a use case that changes a request first
applies the presses waiting on it (`lock_request`), so the order people acted in holds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.domain.decision import tally
from cxbot.domain.errors import Closed, CxError, InvalidInput, NotAllowed, NotFound, already, too_long
from cxbot.domain.model import NOTE_MAX, STATUS_STATES, Resolution, Status, VoteKind
from cxbot.domain.permissions import Membership as MembershipView
from cxbot.domain.permissions import (
    chair_refusal,
    resolve_refusal,
    substitute_department,
    vote_refusal,
    voting_department,
)
from cxbot.domain.policy import CouncilPolicy
from cxbot.i18n import N_
from cxbot.services import audit, notices
from cxbot.services.council import council_of, council_rules, membership, memberships
from cxbot.services.intake import RETRACT
from cxbot.services.lifecycle import (
    COUNTED,
    ballots_of,
    rules,
    seats,
    set_status,
    settle,
    status_for,
    substitutes_on,
)
from cxbot.services.readmodel import load_request
from cxbot.services.votebook import VoteBook
from cxbot.store.db import pair_of
from cxbot.store.journal import Waiting
from cxbot.store.models import Department, Hold, Press, ReviewRequest, Vote
from cxbot.store.uow import UnitOfWork


@dataclass(frozen=True)
class VoteResult:
    recorded: bool
    status: Status


@dataclass(frozen=True)
class Voter:
    user: str
    department_id: int
    department: str
    on_behalf_of: str | None


class Seating:
    """Who may vote on one request today, read once and asked for each person (a batch of
    presses asks it many times in one transaction)."""

    def __init__(self, s: Session, request: ReviewRequest, now: datetime, *, away: dict[str, str] | None = None,
                 members: dict[str, MembershipView] | None = None) -> None:
        """`away` and `members`: of the request's council (roles are per council)."""
        self._s, self.request = s, request
        self.council_id = council_of(s, request).id
        self.routed = {r.department.key: r.department_id for r in request.routings}
        if away is None:
            _, working_time = rules(s, request)
            away = substitutes_on(s, working_time.local_date(now), self.council_id)
        self.away = away
        self._members = {} if members is None else members

    def member(self, user: str) -> MembershipView:
        found = self._members.get(user)
        if found is None:
            found = self._members[user] = membership(self._s, user, self.council_id)
        return found

    def voter(self, actor: str) -> Voter:
        """Who votes, for which department, on whose behalf; raises the refusal a person is shown."""
        request = self.request
        if request.status.is_final:
            raise Closed(N_("This request is {status}: it takes no more votes.", status=STATUS_STATES[request.status]))
        if actor in self.away:
            raise NotAllowed(N_("<@{substitute}> answers for you while you are away. "
                                "`/cx-review back` lets you vote yourself again.", substitute=self.away[actor]))
        who = self.member(actor)
        covering = {}
        for advocate, substitute in self.away.items():
            if substitute == actor:
                dept = substitute_department(self.member(advocate), who)
                if dept is not None:
                    covering[advocate] = dept
        refusal = vote_refusal(who, filing_department=request.department.key, filer=request.filer,
                               routed=self.routed, covering=covering)
        if refusal:
            raise NotAllowed(refusal)
        found = voting_department(who, routed=self.routed, covering=covering)
        assert found is not None
        dept, on_behalf_of = found
        return Voter(actor, self.routed[dept], dept, on_behalf_of)


def voter(s: Session, actor: str, request: ReviewRequest, now: datetime) -> Voter:
    """Who votes, for which department, on whose behalf; raises the refusal a person is shown."""
    return Seating(s, request, now).voter(actor)


def check_may_vote(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> str:
    """Raise the refusal before a vote modal opens, so nobody types a reason for nothing; returns the title."""
    with uow:
        request = load_request(uow.session, request_id)
        voter(uow.session, actor, request, clock.now())
        return request.title


def _clean(note: str, field: str = "note") -> str:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput({field: too_long(NOTE_MAX)})
    return note


class Ballot:
    """One request's votes being changed in a transaction: the request locked, its votes and
    holds read once, each change recorded with its audit event; `close()` settles the status
    and asks for the messages to be updated, once, whatever the number of changes."""

    def __init__(self, s: Session, request: ReviewRequest, now: datetime, *, batch: Batch | None = None,
                 defer: bool = False) -> None:
        """`defer`: the audit events wait for `record_deferred()`, after the caller's one flush
        (a round flushes the new votes of all its requests at once, instead of one at a time
        to learn each new vote's id)."""
        self.s, self.request, self.now = s, request, now
        self._deferred: list[Callable[[], None]] | None = [] if defer else None
        self.batch = batch = batch or Batch.read(s, [request], now)
        council = council_of(s, request).id
        self.policy = batch.policies[council]
        self.seating = Seating(s, request, now, away=batch.away[council],
                               members=batch.members.setdefault(council, {}))
        self.votes = {v.user_id: v for v in batch.votes.get(request.id, [])}
        self.holds = list(batch.holds.get(request.id, []))
        self.changed = False
        self.needs_refresh = False

    def cast(self, actor: str, kind: VoteKind, note: str = "", blocking: bool = True, mitigation: str = "") -> bool:
        """Record `actor`'s vote; False when it is the same vote again (a double click, or
        re-sending an objection that was resolved or overruled), which changes nothing."""
        s, request, now = self.s, self.request, self.now
        who = self.seating.voter(actor)
        vote = self.votes.get(actor)
        if (vote is not None and not vote.retracted
                and (vote.kind, vote.note, vote.blocking, vote.mitigation) == (kind, note, blocking, mitigation)):
            return False
        previous = None
        if vote is None:
            vote = self.votes[actor] = Vote(request_id=request.id, user_id=actor, cast_at=now)
            s.add(vote)
            event_kind = "voted"
        else:
            event_kind = "voted" if vote.retracted else "vote_changed"
            previous = None if vote.retracted else {"kind": vote.kind.value, "note": vote.note}
        vote.kind, vote.note, vote.blocking, vote.mitigation = kind, note, blocking, mitigation
        vote.department_id, vote.on_behalf_of, vote.retracted, vote.updated_at = (
            who.department_id, who.on_behalf_of, False, now)
        vote.resolution, vote.resolved_by, vote.resolved_at, vote.resolution_note = None, None, None, ""
        if vote.id is None and self._deferred is None:
            s.flush()

        def log() -> None:
            event = audit.record(s, kind=event_kind, actor=actor, at=now, request_id=request.id, vote_id=vote.id,
                                 vote=kind.value, note=note, blocking=blocking, mitigation=mitigation,
                                 department=who.department, on_behalf_of=who.on_behalf_of, previous=previous,
                                 flush=kind is VoteKind.OBJECT)
            if kind is VoteKind.OBJECT:
                notices.thread_note(s, request.id, event, now)

        self._later(log)
        if kind in (VoteKind.APPROVE, VoteKind.OBJECT):
            self._end_hold(who.department_id, actor)
            routing = next(r for r in request.routings if r.department_id == who.department_id)
            routing.answered_at = routing.answered_at or now
        self.changed = True
        return True

    def retract(self, actor: str) -> bool:
        self.seating.voter(actor)
        vote = self.votes.get(actor)
        if vote is None or vote.retracted:
            return False
        vote.retracted, vote.updated_at = True, self.now
        previous, objection = {"kind": vote.kind.value, "note": vote.note}, vote.kind is VoteKind.OBJECT

        def log() -> None:
            event = audit.record(self.s, kind="vote_retracted", actor=actor, at=self.now,
                                 request_id=self.request.id, previous=previous, flush=objection)
            if objection:
                notices.thread_note(self.s, self.request.id, event, self.now)

        self._later(log)
        self.changed = True
        return True

    def _later(self, record: Callable[[], None]) -> None:
        if self._deferred is None:
            record()
        else:
            self._deferred.append(record)

    def record_deferred(self) -> None:
        """Write the deferred audit events (and their thread notes), in the order they happened."""
        for record in self._deferred or ():
            record()
        if self._deferred:
            self._deferred.clear()

    def _end_hold(self, department_id: int, actor: str) -> None:
        """A department that answers is no longer on hold."""
        for hold in list(self.holds):
            if hold.department_id == department_id:
                hold.ended_at, hold.end_reason = self.now, "answered"
                self._later(functools.partial(audit.record, self.s, kind="hold_ended", actor=actor, at=self.now,
                                              request_id=self.request.id, hold_id=hold.id, reason="answered",
                                              flush=False))
                self.holds.remove(hold)

    def apply_presses(self, waiting: Waiting, limit: int | None = None) -> list[Press]:
        """Apply the request's stored button presses in the order they came; a press that may
        not count is answered with an ephemeral refusal. Returns those taken."""
        rows = waiting.of_request(self.request, limit)
        self.take(rows)
        waiting.done([self.request], rows)
        return rows

    def take(self, rows: Sequence[Press]) -> None:
        for row in rows:
            try:
                if row.kind == RETRACT:
                    self.retract(row.user_id)
                else:
                    self.cast(row.user_id, VoteKind(row.kind))
            except CxError as exc:
                notices.ephemeral(self.s, self.request.id, channel=row.channel, user=row.user_id, text=exc.message,
                                  thread_ts=row.thread_ts, now=self.now)

    def close(self, *, refresh: bool = True) -> Status:
        """Settle the status; its messages are asked to update unless `refresh` is False (the
        caller asks for many at once: see `needs_refresh`)."""
        self.needs_refresh = False
        if not self.changed:
            return self.request.status
        # What `lifecycle.settle` does, from what the ballot holds in memory.
        request, routings = self.request, self.request.routings
        keys = {r.department_id: r.department.key for r in routings}
        standing = {**self.batch.others.get(request.id, {}), **self.votes}
        result = tally([r.department.key for r in routings], ballots_of(list(standing.values()), keys),
                       self.policy.for_magnitude(request.magnitude),
                       {r.department.key: self.batch.seats.get((request.department_id, r.department_id), 0)
                        for r in routings})
        new = status_for(request, result, self.holds)
        if new is not request.status:
            set_status(self.s, request, new, self.now, outstanding=list(result.outstanding))
        elif refresh:
            notices.refresh(self.s, request.id, self.now)
        else:
            self.needs_refresh = True
        return new


@dataclass
class Batch:
    """What applying the presses of many requests at once reads once for all of them. The
    requests may belong to several councils: policies, stand-ins and roles are per council
    (by council id)."""

    policies: dict[int, CouncilPolicy]
    away: dict[int, dict[str, str]]
    seats: dict[tuple[int, int], int]   # (filing department, routed department) -> advocates who may answer
    votes: dict[int, list[Vote]]    # the votes that may change, as objects
    holds: dict[int, list[Hold]]
    members: dict[int, dict[str, MembershipView]] = field(default_factory=dict)
    # The rest of each request's votes, only counted: plain rows or `Counted` (request -> user
    # -> vote), far cheaper than objects when a round changes a few votes of many requests.
    others: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, s: Session, requests: Sequence[ReviewRequest], now: datetime,
             people: Collection[tuple[int, str]] = (), book: VoteBook | None = None) -> Batch:
        """`people`: who is about to vote on which request, (request id, user). Their votes
        are read as objects and their memberships in one query, every other vote as a row
        (or taken from the `book`, where it has the request's votes as they are); without
        `people`, every vote as an object."""
        ids = [r.id for r in requests]
        councils = {council.id: council for council in (council_of(s, r) for r in requests)}
        votes: dict[int, list[Vote]] = {i: [] for i in ids}
        others: dict[int, dict[str, Any]] = {i: {} for i in ids}
        if people:
            pairs = set(people)
            for v in s.scalars(select(Vote).where(pair_of(s, (Vote.request_id, Vote.user_id), pairs))):
                votes[v.request_id].append(v)
            unread = []
            for request in requests:
                page = book.page(request) if book is not None else None
                if page is None:
                    unread.append(request.id)
                else:
                    others[request.id] = {user: v for user, v in page.items() if (request.id, user) not in pairs}
            if unread:
                for row in s.execute(_COUNTED_OF, {"ids": unread}):
                    if (row.request_id, row.user_id) not in pairs:
                        others[row.request_id][row.user_id] = row
        else:
            for v in s.scalars(select(Vote).where(Vote.request_id.in_(ids))):
                votes[v.request_id].append(v)
        holds: dict[int, list[Hold]] = {i: [] for i in ids}
        for h in s.scalars(_HOLDS_OF, {"ids": ids}):
            holds[h.request_id].append(h)
        routed_by_filer: dict[int, set[int]] = {}
        for q in requests:
            routed_by_filer.setdefault(q.department_id, set()).update(r.department_id for r in q.routings)
        counted = {(filing, department): n for filing, departments in routed_by_filer.items()
                   for department, n in seats(s, sorted(departments), filing).items()}
        policies: dict[int, CouncilPolicy] = {}
        away: dict[int, dict[str, str]] = {}
        members: dict[int, dict[str, MembershipView]] = {}
        for council_id, council in councils.items():
            policy, working_time = council_rules(council)
            policies[council_id] = policy
            mine = away[council_id] = substitutes_on(s, working_time.local_date(now), council_id)
            members[council_id] = (memberships(s, {*(user for _, user in people), *mine, *mine.values()}, council_id)
                                   if people else {})
        return cls(policies, away, counted, votes, holds, members, others)


# Read by every round of presses: built once (building a statement costs more than running it).
_COUNTED_OF = select(*COUNTED).where(Vote.request_id.in_(bindparam("ids", expanding=True)))
_HOLDS_OF = (select(Hold).where(Hold.request_id.in_(bindparam("ids", expanding=True)), Hold.ended_at.is_(None))
             .order_by(Hold.id))


def lock_request(s: Session, request_id: int, now: datetime) -> ReviewRequest:
    """The request, locked for a change, with every button press acknowledged before this
    change applied first (so the order people acted in holds)."""
    request = load_request(s, request_id, lock=True)
    waiting = Waiting(s)
    if waiting.of_request(request, limit=1):
        ballot = Ballot(s, request, now)
        ballot.apply_presses(waiting)
        ballot.close()
    return request


def cast_vote(uow: UnitOfWork, *, actor: str, request_id: int, kind: VoteKind, note: str = "",
              blocking: bool = True, mitigation: str = "", clock: Clock) -> VoteResult:
    note, mitigation = _clean(note), _clean(mitigation, "mitigation")
    if kind is VoteKind.OBJECT and not note:
        raise InvalidInput({"note": N_("Say why you object, so the filer can answer it.")})
    if kind is not VoteKind.OBJECT:
        blocking, mitigation = True, ""
    now = clock.now()
    with uow:
        s = uow.session
        ballot = Ballot(s, lock_request(s, request_id, now), now)
        recorded = ballot.cast(actor, kind, note, blocking, mitigation)
        status = ballot.close()
        uow.commit()  # presses applied before this vote are committed with it
        return VoteResult(recorded, status)


def confirm_approval(uow: UnitOfWork, *, actor: str, request_id: int, clock: Clock) -> VoteResult:
    """"Still approve": someone whose answer an amendment of the terms set aside approves the
    request as it stands now (keeping the condition they approved with, if any). Their
    standing is checked as for any vote; a second press changes nothing."""
    now = clock.now()
    with uow:
        s = uow.session
        ballot = Ballot(s, lock_request(s, request_id, now), now)
        previous = ballot.votes.get(actor)
        note = previous.note if previous is not None and previous.kind is VoteKind.APPROVE else ""
        recorded = ballot.cast(actor, VoteKind.APPROVE, note)
        if recorded:
            audit.record(s, kind="approval_confirmed", actor=actor, at=now, request_id=request_id,
                         version=ballot.request.version)
        status = ballot.close()
        uow.commit()
        return VoteResult(recorded, status)


def _objection(s: Session, request_id: int, vote_id: int) -> Vote:
    vote = s.get(Vote, vote_id)
    if vote is None or vote.request_id != request_id or vote.kind is not VoteKind.OBJECT or vote.retracted:
        raise NotFound(N_("That objection no longer stands."))
    return vote


def resolve_objection(uow: UnitOfWork, *, actor: str, request_id: int, vote_id: int, note: str = "",
                      clock: Clock) -> Status:
    """The objector says their concern is met: the objection counts as their department's approval."""
    now = clock.now()
    with uow:
        s = uow.session
        request = lock_request(s, request_id, now)
        if request.status.is_final:
            raise already(request.status)
        vote = _objection(s, request_id, vote_id)
        refusal = resolve_refusal(membership(s, actor, council_of(s, request).id), objector=vote.user_id,
                                  seat=vote.on_behalf_of)
        if refusal:
            raise NotAllowed(refusal)
        # Resolving answers for the department, so only someone who may vote for it now may do it
        # (not a removed advocate, an away one, or a substitute whose stand-in has ended).
        voter(s, actor, request, now)
        if vote.resolution is not None:
            return request.status
        _end_objection(s, request, vote, Resolution.RESOLVED, actor, _clean(note), now)
        status = settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return status


def overrule_objection(uow: UnitOfWork, *, actor: str, request_id: int, vote_id: int, rationale: str,
                       clock: Clock) -> Status:
    """The chair sets a blocking objection aside, with a written rationale; the dissent stays on record."""
    rationale = _clean(rationale, "rationale")
    if not rationale:
        raise InvalidInput({"rationale": N_("Write why the objection is overruled: the council reads it.")})
    now = clock.now()
    with uow:
        s = uow.session
        request = lock_request(s, request_id, now)
        refusal = chair_refusal(membership(s, actor, council_of(s, request).id))
        if refusal:
            raise NotAllowed(refusal)
        if request.status.is_final:
            raise already(request.status)
        vote = _objection(s, request_id, vote_id)
        if vote.resolution is not None:
            return request.status
        _end_objection(s, request, vote, Resolution.OVERRULED, actor, rationale, now)
        status = settle(s, request, now)
        notices.refresh(s, request_id, now)
        uow.commit()
        return status


def _end_objection(s: Session, request: ReviewRequest, vote: Vote, resolution: Resolution, actor: str,
                   note: str, now: datetime) -> None:
    vote.resolution, vote.resolved_by, vote.resolved_at, vote.resolution_note = resolution, actor, now, note
    vote.updated_at = now
    department = s.get(Department, vote.department_id)
    event = audit.record(s, kind=f"objection_{resolution.value}", actor=actor, at=now, request_id=request.id,
                         vote_id=vote.id, objector=vote.user_id, reason=vote.note, note=note,
                         department=department.key if department else "")
    notices.thread_note(s, request.id, event, now)
