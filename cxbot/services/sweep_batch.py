"""What the sweep reads, read for many requests at once, and the claims it writes, in bulk.

The morning sweep looks at every open request (each owes someone a reminder), and the
day's first reminder of a person lists everything they owe across the council. Read a
request at a time, that is a few dozen statements per request and, per person reminded,
a few per request they owe: minutes with 10,000 open requests. Here the sweep's reads are
a handful of set-based queries:

- `Snapshot`, once per sweep: the council's active memberships, today's stand-ins, the
  stand-ins to come, the departments, the reminder days already claimed (per person, read
  for the people still unknown), and the open requests a person may owe on (`Open`: status,
  routings, standing votes as counting reads them, departments on hold), read a whole
  department's at a time as the people reminded need them;
- `Batch`, once per batch of due requests, in the batch's transaction: the requests, locked
  (SKIP LOCKED) with their routings, their active holds, and the closing-soon notices they
  sent; their votes are re-read only when `votes_revision` says they changed since the
  snapshot read them.

Tallies are counted in Python from those rows, as `lifecycle.current_tally` counts them.
The claims a batch makes (a person's day, the requests it lists, closing-soon notices) are
recorded in the snapshot as they are made, so the next request of the sweep sees them, and
written at the end of the batch in one insert per table (a DM's row holds the requests it
lists, and one row a request says whose DMs list it); a claim another replica made
meanwhile loses only itself (the insert is retried a row at a time under savepoints).

What the snapshot holds about requests outside the batch is as of when it was read (a few
seconds at most): a vote cast meanwhile can put an answered request in a person's daily DM,
which is rendered from the database at delivery and shows it answered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.domain.calendar import WorkingTime
from cxbot.domain.decision import outcome, tally
from cxbot.domain.model import Magnitude, Resolution, Role, Status, Tally, VoteKind
from cxbot.domain.policy import CouncilPolicy, MagnitudePolicy
from cxbot.services import notices
from cxbot.services.council import council_rules
from cxbot.services.lifecycle import COUNTED, Counted, ballots_of, substitutes_on
from cxbot.services.reminders import OPEN, Owed
from cxbot.store.db import driver_rows, insert_rows, one_of
from cxbot.store.models import (
    Council,
    DailyListing,
    DailyReminder,
    Department,
    Hold,
    Membership,
    Reminder,
    ReviewRequest,
    Routing,
    Substitute,
    Vote,
)


@dataclass
class Open:
    """An open request as the reminders read it."""

    id: int
    department_id: int
    status: Status
    magnitude: Magnitude
    created_at: datetime
    due_at: datetime
    votes_revision: int
    routings: list[int] = field(default_factory=list)      # department ids, in routing order
    votes: list[Any] = field(default_factory=list)         # all its votes, retracted included: rows of `_votes`
    held: set[int] = field(default_factory=set)            # departments with an active hold
    counted: Tally | None = None
    outstanding: frozenset[str] | None = None
    lean: tuple[tuple[str, ...], Status] | None = None   # `count`: (outstanding, what the votes alone say)
    owable: list[int] | None = None   # departments outstanding and not on hold, in routing order
    _voted: set[str] | None = None

    @property
    def voted(self) -> set[str]:
        """Whose seat has a standing vote (the advocate a substitute voted for)."""
        if self._voted is None:
            self._voted = {v[_BEHALF] or v[_USER] for v in self.votes if not v[_RETRACTED]}
        return self._voted


def _votes(s: Session) -> Any:
    """`lifecycle.COUNTED`, with the two times as the database gives them (counting only
    orders by them; on SQLite a fixed-width text that sorts as the time does): hundreds of
    thousands of votes are read on a big council's morning, and turning each time into an
    aware datetime would cost more than the rest of reading it. Read with `driver_rows`
    (booleans may be 0/1: `_counted` makes them booleans)."""
    raw = String() if s.get_bind().dialect.name == "sqlite" else DateTime(timezone=True)
    kind, resolution = COUNTED[4], COUNTED[8]
    return select(*COUNTED[:4], type_coerce(kind, String()), *COUNTED[5:8], type_coerce(resolution, String()),
                  *COUNTED[9:11], type_coerce(Vote.cast_at, raw), type_coerce(Vote.updated_at, raw))


# Positions in a row of `_votes` (`lifecycle.COUNTED`).
_ID, _USER, _DEPARTMENT, _KIND, _BLOCKING, _RESOLUTION, _BEHALF, _RETRACTED, _UPDATED = 0, 2, 3, 4, 6, 8, 9, 10, 12
_APPROVE, _OBJECT, _ABSTAIN = VoteKind.APPROVE.value, VoteKind.OBJECT.value, VoteKind.ABSTAIN.value
_RESOLVED = Resolution.RESOLVED.value

_KINDS = {kind.value: kind for kind in VoteKind}
_RESOLUTIONS = {resolution.value: resolution for resolution in Resolution}


def _counted(row: Any) -> Counted:
    """A row of `_votes` (its enums by value, as stored)."""
    counted = Counted.of_row(row)
    counted.blocking, counted.retracted = bool(counted.blocking), bool(counted.retracted)
    counted.kind = _KINDS[counted.kind]
    if counted.resolution is not None:
        counted.resolution = _RESOLUTIONS[counted.resolution]
    return counted


def count(routed: Sequence[str], votes: Iterable[Any], keys: Mapping[int, str], policy: MagnitudePolicy,
          seats: Mapping[str, int]) -> tuple[tuple[str, ...], Status]:
    """(`tally(...).outstanding`, `outcome(tally(...))`) of the same arguments, with `votes`
    rows of `_votes` (ballots as `lifecycle.ballots_of` makes them), counted without building
    the tally: all a morning's sweep asks of most of its 10,000 requests."""
    latest: dict[str, Any] = {}   # seat → its latest standing vote
    for v in votes:
        if not v[_RETRACTED]:
            seat = v[_BEHALF] or v[_USER]
            held = latest.get(seat)
            if held is None or (v[_UPDATED], v[_ID]) > (held[_UPDATED], held[_ID]):
                latest[seat] = v
    # Each routed department: approvals, an objection, an abstention, a standing objection.
    answers: dict[str, list[Any]] = {d: [0, False, False, False] for d in routed}
    for v in latest.values():
        answer = answers.get(keys[v[_DEPARTMENT]])
        if answer is None:
            continue
        kind = v[_KIND]
        if kind == _APPROVE:
            answer[0] += 1
        elif kind == _OBJECT:
            answer[1] = True
            if v[_RESOLUTION] == _RESOLVED:
                answer[0] += 1
            elif v[_BLOCKING] and v[_RESOLUTION] is None:
                answer[3] = True
        elif kind == _ABSTAIN:
            answer[2] = True
    outstanding, satisfied, standing = [], 0, False
    for d, (approvals, objects, abstains, stands) in answers.items():
        if stands:
            standing = True
            continue
        n = seats.get(d)
        if (approvals >= (min(policy.approvals, n) if n else policy.approvals) or objects
                or (policy.abstain_counts and abstains)):
            satisfied += 1
        else:
            outstanding.append(d)
    if standing:
        return tuple(outstanding), Status.CHANGES_REQUESTED
    if answers and satisfied >= policy.required(len(routed)):
        return tuple(outstanding), Status.APPROVED
    return tuple(outstanding), Status.OPEN


def _aware(at: Any) -> datetime:
    """A time `_votes` read, as an aware UTC datetime."""
    return at.astimezone(UTC) if isinstance(at, datetime) else datetime.fromisoformat(at).replace(tzinfo=UTC)


_OPEN_COLUMNS = (ReviewRequest.id, ReviewRequest.department_id, ReviewRequest.status, ReviewRequest.magnitude,
                 ReviewRequest.created_at, ReviewRequest.due_at, ReviewRequest.votes_revision)


class Snapshot:
    """The council's people and the open requests, read once per sweep (see the module)."""

    def __init__(self, s: Session, now: datetime) -> None:
        # Each council's rules and today, and the stand-ins of its today; `away`: those of
        # every council's own today (for what concerns a person across councils).
        self.rules: dict[int, tuple[CouncilPolicy, WorkingTime]] = {}
        self.away_in: dict[int, dict[str, str]] = {}
        self.away: dict[str, str] = {}
        todays = []
        for council in s.scalars(select(Council).order_by(Council.id)):
            self.rules[council.id] = council_rules(council)
            today = self.rules[council.id][1].local_date(now)
            todays.append(today)
            self.away_in[council.id] = substitutes_on(s, today, council.id)
            self.away.update(self.away_in[council.id])
        self.today = min(todays, default=now.date())    # the earliest council's
        self.keys: dict[int, str] = {}
        self.councils: dict[int, int] = {}               # department → its council
        for department_id, key, council_id in s.execute(select(Department.id, Department.key, Department.council_id)):
            self.keys[department_id], self.councils[department_id] = key, council_id
        self.members: dict[int, set[str]] = {}           # department → everyone with an active role in it
        self.advocates: dict[int, list[tuple[int, str]]] = {}   # department → (membership id, advocate)
        self.advocacies: dict[str, list[tuple[int, int]]] = {}  # advocate → (membership id, department)
        for mid, user, department_id, role in s.execute(
                select(Membership.id, Membership.user_id, Membership.department_id, Membership.role)
                .where(Membership.active.is_(True)).order_by(Membership.id)):
            self.members.setdefault(department_id, set()).add(user)
            if role == Role.ADVOCATE:
                self.advocates.setdefault(department_id, []).append((mid, user))
                self.advocacies.setdefault(user, []).append((mid, department_id))
        self.stand_ins: dict[str, list[date]] = {}        # advocate → days a stand-in of theirs begins or ends
        for advocate, starts_on, until in s.execute(
                select(Substitute.advocate, Substitute.starts_on, Substitute.until)
                .where(Substitute.cancelled_at.is_(None), Substitute.until >= self.today)):
            self.stand_ins.setdefault(advocate, []).extend((starts_on, until + timedelta(days=1)))
        self.claims: dict[str, dict[date, datetime]] = {}   # person → their claimed days from yesterday on
        self.open: dict[int, Open] = {}
        self.routed_to: dict[int, set[int]] = {}          # department → open requests routed to it
        self._soonest: dict[int, list[Open]] = {}          # …soonest deadline first (worked out when asked)
        self._departments_read: set[int] = set()
        self._read_all: bool | None = False
        self._seats: dict[tuple[int, int], int] = {}     # (department, filing department) → seats (-1: none)
        self._owed: dict[str, list[Owed]] | None = None
        # Request → whether it is due a reminder now (by its council, filing and deadline, see
        # `sweep`): asked for each (person, request) listed, 250,000 times on a big council's morning.
        self.reminder_due: dict[int, bool] = {}

    # ------------------------------------------------------------------ people

    def advocates_of(self, departments: Collection[int]) -> list[str]:
        """Active advocates of these departments, in membership order (as a query ordered by id)."""
        return [user for _, user in sorted(pair for d in departments for pair in self.advocates.get(d, ()))]

    def filing_side(self, department_id: int) -> set[str]:
        return self.members.get(department_id, set())

    def council_of(self, department_id: int) -> int:
        return self.councils[department_id]

    def rules_of(self, department_id: int) -> tuple[CouncilPolicy, WorkingTime]:
        """The policy and working time of the council of a department (a request's filing one)."""
        return self.rules[self.councils[department_id]]

    def next_stand_in_change(self, advocates: Iterable[str], today: date) -> date | None:
        return min((d for a in advocates for d in self.stand_ins.get(a, ()) if d > today), default=None)

    def claims_of(self, s: Session, users: Collection[str], since: date) -> dict[str, dict[date, datetime]]:
        """Person → day → when their day's DM was claimed, for days from `since` (the day
        before a council's today: a person's date is at most a day off it), including the
        claims this sweep made."""
        unknown = [u for u in users if u not in self.claims]
        if unknown and self._read_all is not False:   # the morning: everyone's at once
            unknown = list({*unknown, *self.advocacies, *self.away.values()} - self.claims.keys())
        if unknown:
            for u in unknown:
                self.claims[u] = {}
            for user, day, at in s.execute(select(DailyReminder.user_id, DailyReminder.day, DailyReminder.at).where(
                    one_of(s, DailyReminder.user_id, unknown), DailyReminder.day >= self.today - timedelta(days=1))):
                self.claims[user][day] = at
        if since <= self.today - timedelta(days=1):
            return self.claims
        return {u: {day: at for day, at in self.claims[u].items() if day >= since} for u in users}

    # ------------------------------------------------------------------ open requests

    def seats(self, entry: Open) -> dict[int, int]:
        """`lifecycle.seats` of the request's departments, without its filing side."""
        seats = {}
        for d in entry.routings:
            n = self._seats.get((d, entry.department_id))
            if n is None:
                filing = self.filing_side(entry.department_id)
                advocates = [u for _, u in self.advocates.get(d, ())]
                n = self._seats[(d, entry.department_id)] = (
                    len(advocates) - len({u for u in advocates if u in filing}) if advocates else -1)
            if n >= 0:
                seats[d] = n
        return seats

    def tally(self, entry: Open) -> Tally:
        """`lifecycle.current_tally`, counted from the rows read."""
        if entry.counted is None:
            seats = self.seats(entry)
            policy, _ = self.rules_of(entry.department_id)
            entry.counted = tally([self.keys[d] for d in entry.routings],
                                  ballots_of([_counted(v) for v in entry.votes], self.keys),
                                  policy.for_magnitude(entry.magnitude),
                                  {self.keys[d]: seats.get(d, 0) for d in entry.routings})
        return entry.counted

    def count(self, entry: Open) -> tuple[tuple[str, ...], Status]:
        """The tally's outstanding departments and what the votes alone say (`count`)."""
        if entry.lean is None:
            if entry.counted is not None:
                entry.lean = entry.counted.outstanding, outcome(entry.counted)
            else:
                seats = self.seats(entry)
                policy, _ = self.rules_of(entry.department_id)
                entry.lean = count([self.keys[d] for d in entry.routings], entry.votes, self.keys,
                                   policy.for_magnitude(entry.magnitude),
                                   {self.keys[d]: seats.get(d, 0) for d in entry.routings})
        return entry.lean

    def oldest_standing_objection(self, entry: Open) -> datetime | None:
        oldest = min((v[_UPDATED] for v in entry.votes if v[_KIND] == _OBJECT and not v[_RETRACTED]
                      and v[_BLOCKING] and v[_RESOLUTION] is None), default=None)
        return _aware(oldest) if oldest is not None else None

    def read_all(self) -> None:
        """Read every open request at the first need (a sweep with many due: the morning's)."""
        self._read_all = True

    def read_departments(self, s: Session, departments: Collection[int]) -> None:
        """Read the open requests routed to these departments, unless read already."""
        wanted = [d for d in departments if d not in self._departments_read]
        if not wanted or self._read_all is None:
            return
        if self._read_all:
            self._read_all = None   # read
            self._read(s, ReviewRequest.status.in_(OPEN), skip=set(self.open))
            return
        self._departments_read.update(wanted)
        routed = select(Routing.request_id).where(one_of(s, Routing.department_id, wanted))
        self._read(s, ReviewRequest.id.in_(routed) & ReviewRequest.status.in_(OPEN), skip=set(self.open))

    def _read(self, s: Session, which: Any, skip: Collection[int] = ()) -> list[Open]:
        """Read the open requests `which` selects (a condition on review_requests), their
        routings, votes and active holds: four statements however many, their rows taken as the
        driver gives them (through the session's connection, after a flush: no ORM rows)."""
        s.flush()
        conn = s.connection()
        ids = select(ReviewRequest.id).where(which).scalar_subquery()
        entries = {row[0]: Open(*row) for row in conn.execute(select(*_OPEN_COLUMNS).where(which)).all()
                   if row[0] not in skip}
        if not entries:
            return []
        for request_id, department_id in driver_rows(conn, select(Routing.request_id, Routing.department_id)
                                                     .where(Routing.request_id.in_(ids)).order_by(Routing.position)):
            if request_id in entries:
                entries[request_id].routings.append(department_id)
        for row in driver_rows(conn, _votes(s).where(Vote.request_id.in_(ids))):
            if row[1] in entries:
                entries[row[1]].votes.append(row)
        for request_id, department_id in conn.execute(select(Hold.request_id, Hold.department_id).where(
                Hold.request_id.in_(ids), Hold.ended_at.is_(None))).all():
            if request_id in entries:
                entries[request_id].held.add(department_id)
        for entry in entries.values():
            self._keep(entry)
        return list(entries.values())

    def _keep(self, entry: Open) -> None:
        self.open[entry.id] = entry
        for d in entry.routings:
            self.routed_to.setdefault(d, set()).add(entry.id)
            self._soonest.pop(d, None)

    def soonest(self, departments: Collection[int]) -> list[Open]:
        """The open requests routed to any of these departments, soonest deadline first."""
        lists = []
        for d in departments:
            if d not in self._soonest:
                self._soonest[d] = sorted((self.open[r] for r in self.routed_to.get(d, ())), key=_soonest)
            lists.append(self._soonest[d])
        if len(lists) == 1:
            return lists[0]
        return sorted({e.id: e for entries in lists for e in entries}.values(), key=_soonest)

    def owed_by(self, s: Session, user: str) -> list[Owed]:
        """`reminders.owed_by`, from the snapshot: the open requests `user` owes an answer on
        now, soonest deadline first."""
        as_whom = [advocate for advocate, substitute in self.away.items() if substitute == user]
        if user not in self.away:
            as_whom.append(user)
        answering: dict[int, str] = {}
        for _, department_id, advocate in sorted((mid, d, a) for a in as_whom for mid, d in self.advocacies.get(a, ())):
            answering.setdefault(department_id, advocate)
        if not answering:
            return []
        self.read_departments(s, answering)
        if self._read_all is None:
            entries = self.open
            return [o for o in self._owed_by_everyone().get(user, ())
                    if (entry := entries[o.request_id]).status not in _FINAL and o.department_id not in entry.held]
        owed: list[Owed] = []
        for entry in self.soonest(answering):
            if entry.status.is_final:
                continue
            recused = self.filing_side(entry.department_id)
            if user in recused:
                continue
            # The first routing the person answers as someone who has not voted nor has a
            # role in the filing department, and whose department is outstanding and not on hold.
            for d in self._owable(entry):
                advocate = answering.get(d)
                if advocate is not None and advocate not in entry.voted and advocate not in recused:
                    owed.append(Owed(entry.id, d, advocate if advocate != user else None, entry.created_at,
                                     entry.due_at, self.councils[entry.department_id]))
                    break
        return owed

    def _owable(self, entry: Open) -> list[int]:
        if entry.owable is None:
            if entry.outstanding is None:
                entry.outstanding = frozenset(self.count(entry)[0])
            entry.owable = [d for d in entry.routings if self.keys[d] in entry.outstanding and d not in entry.held]
        return entry.owable

    def _owed_by_everyone(self) -> dict[str, list[Owed]]:
        """`owed_by` of everyone at once, with every open request read: each request's
        people in one pass, rather than each person's requests (the morning's 2,000 people
        would each look at hundreds). Worked out once a sweep; `owed_by` leaves out what
        became decided or held since, and a request looked at since is listed as it was."""
        if self._owed is None:
            answerers: dict[int, dict[str, str]] = {}   # department → person → the advocate they answer as
            for d, pairs in self.advocates.items():
                people = answerers[d] = {}
                for _, advocate in pairs:   # in membership order, as `owed_by`'s `answering`
                    people.setdefault(self.away.get(advocate, advocate), advocate)
            owed: defaultdict[str, list[Owed]] = defaultdict(list)
            for entry in sorted(self.open.values(), key=_soonest):
                if entry.status.is_final:
                    continue
                recused, voted, done = self.filing_side(entry.department_id), entry.voted, set()
                council = self.councils[entry.department_id]
                for d in self._owable(entry):
                    people = [(person, advocate) for person, advocate in answerers.get(d, {}).items()
                              if person not in done and person not in recused and advocate not in voted
                              and advocate not in recused]
                    own = None   # what everyone answering as themselves owes (one immutable value, shared)
                    for person, advocate in people:
                        if advocate != person:
                            item = Owed(entry.id, d, advocate, entry.created_at, entry.due_at, council)
                        else:
                            if own is None:
                                own = Owed(entry.id, d, None, entry.created_at, entry.due_at, council)
                            item = own
                        owed[person].append(item)
                    done.update(person for person, _ in people)
            self._owed = dict(owed)
        return self._owed


_FINAL = frozenset(status for status in Status if status.is_final)


def _soonest(entry: Open) -> tuple[datetime, int]:
    return entry.due_at, entry.id


def lock(s: Session, ids: Sequence[int], now: datetime) -> list[ReviewRequest]:
    """Those of these requests still due, locked: the first statement of a batch's
    transaction, so a request another transaction is changing (and has locked) is left to
    the next sweep (SKIP LOCKED), as is one another sweep has just looked at (no longer due)."""
    return list(s.scalars(
        select(ReviewRequest).where(one_of(s, ReviewRequest.id, ids), ReviewRequest.next_due_at <= now)
        .order_by(ReviewRequest.next_due_at, ReviewRequest.id)
        .with_for_update(skip_locked=True, key_share=True, of=ReviewRequest)))


class Batch:
    """Due requests looked at in one transaction: locked, with what looking at them reads."""

    def __init__(self, s: Session, snapshot: Snapshot, requests: list[ReviewRequest]) -> None:
        """For `requests`, as `lock` locked them."""
        self.s, self.snapshot, self.requests = s, snapshot, requests
        locked = [r.id for r in self.requests]
        routings: dict[int, list[int]] = {r: [] for r in locked}
        self._holds: dict[int, list[Hold]] = {}
        self._closed: dict[int, set[str]] = {}
        self._days: list[dict[str, Any]] = []
        self._listed: dict[tuple[str, date], list[int]] = {}
        self._closing: list[dict[str, Any]] = []
        if not locked:
            return
        for request_id, department_id in s.execute(select(Routing.request_id, Routing.department_id).where(
                one_of(s, Routing.request_id, locked)).order_by(Routing.request_id, Routing.position)):
            routings[request_id].append(department_id)
        for hold in s.scalars(select(Hold).where(one_of(s, Hold.request_id, locked), Hold.ended_at.is_(None))
                              .order_by(Hold.id)):
            self._holds.setdefault(hold.request_id, []).append(hold)
        for request_id, user in s.execute(select(Reminder.request_id, Reminder.user_id).where(
                one_of(s, Reminder.request_id, locked), Reminder.kind == "closing")):
            self._closed.setdefault(request_id, set()).add(user)
        stale = [r.id for r in self.requests if r.id not in snapshot.open
                 or snapshot.open[r.id].votes_revision != r.votes_revision]
        votes: dict[int, list[Any]] = {r: [] for r in stale}
        if stale:
            for row in driver_rows(s.connection(), _votes(s).where(one_of(s, Vote.request_id, stale))):
                votes[row[1]].append(row)
        for r in self.requests:
            known = snapshot.open.get(r.id)
            entry = Open(r.id, r.department_id, r.status, r.magnitude, r.created_at, r.due_at, r.votes_revision or 0,
                         routings[r.id],
                         votes[r.id] if r.id in votes else known.votes if known else [],
                         {h.department_id for h in self._holds.get(r.id, ())})
            if (known is not None and r.id not in votes and known.routings == entry.routings
                    and (known.department_id, known.magnitude) == (entry.department_id, entry.magnitude)):
                entry.counted, entry.outstanding, entry._voted = known.counted, known.outstanding, known._voted
                entry.lean = known.lean
            snapshot._keep(entry)

    def entry(self, request: ReviewRequest) -> Open:
        return self.snapshot.open[request.id]

    def holds(self, request_id: int) -> list[Hold]:
        return self._holds.get(request_id, [])

    def looked_at(self, request: ReviewRequest, holds: Iterable[Hold]) -> None:
        """What the sweep did to a request, for the people it reminds next."""
        entry = self.entry(request)
        entry.status = request.status
        entry.held, entry.owable = {h.department_id for h in holds}, None

    def closed(self, request_id: int, users: Collection[str]) -> set[str]:
        return {u for u in self._closed.get(request_id, ()) if u in users}

    def claim_closing(self, request_id: int, user: str, day: date, now: datetime) -> None:
        self._closed.setdefault(request_id, set()).add(user)
        self._closing.append({"request_id": request_id, "user_id": user, "kind": "closing", "day": day, "at": now})

    def claim_day(self, user: str, day: date, now: datetime, listed: Iterable[Owed]) -> bool:
        """Claim `user`'s DM of `day`, listing these requests; False when it is claimed already."""
        days = self.snapshot.claims.setdefault(user, {})
        if day in days:
            return False
        days[day] = now
        ids = [o.request_id for o in listed]
        self._days.append({"user_id": user, "day": day, "at": now, "listed": ",".join(map(str, ids))})
        self._listed[(user, day)] = ids
        return True

    def write(self) -> int:
        """Insert the claims made; return how many days another sweep had claimed first."""
        s = self.s
        days = _insert_new(s, DailyReminder, self._days)
        # Who lists each request, a row a request and day (the DMs a change of it updates).
        listings: dict[tuple[int, date], list[str]] = {}
        for claim in days:
            user, day = claim["user_id"], claim["day"]
            for request_id in self._listed[(user, day)]:
                listings.setdefault((request_id, day), []).append(user)
        insert_rows(s, DailyListing.__table__, [{"request_id": request_id, "day": day, "users": ",".join(users)}
                                                for (request_id, day), users in sorted(listings.items())])
        if days:
            notices.daily_reminders(s, [(claim["user_id"], claim["day"]) for claim in days], days[0]["at"])
        _insert_new(s, Reminder, self._closing)
        lost = len(self._days) - len(days)
        self._days, self._listed, self._closing = [], {}, []
        return lost


def _insert_new(s: Session, table: type[DailyReminder] | type[Reminder], rows: list[dict[str, Any]],
                ) -> list[dict[str, Any]]:
    """Insert claim rows in one statement; if another sweep holds one of them (a unique key
    fails), a row at a time under savepoints, keeping those that go in."""
    if not rows:
        return []
    try:
        with s.begin_nested():
            insert_rows(s, table.__table__, rows)
        return rows
    except IntegrityError:
        kept = []
        for row in rows:
            try:
                with s.begin_nested():
                    insert_rows(s, table.__table__, [row])
                kept.append(row)
            except IntegrityError:
                pass
        return kept
