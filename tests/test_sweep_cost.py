"""What a sweep costs follows what is due, not how many requests are open: an idle sweep runs
the same few statements for 20 open requests as for 60; the morning's reminders are claimed
once and the next sweep that day neither retries a claim nor fails one; and a request that
nothing touches is looked at again exactly when its deadline, escalation step, hold lapse or
someone's working hours come. Statements are counted on the engine (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, func, select

from cxbot.clock import FixedClock
from cxbot.council_file import load_council_file, parse_council
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.services import requests, votes
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.services.reminders import listed_in
from cxbot.services.sweep import SweepReport, sweep
from cxbot.store.db import make_session_factory
from cxbot.store.models import OutboxItem, Person, Reminder, ReviewRequest
from tests.harness import COUNCIL_FILE, day, local

NEW_YORK = ZoneInfo("America/New_York")
IDLE_STATEMENTS = 20


class Council:
    """The use cases with a clock the test moves, and every SQL statement the engine runs."""

    def __init__(self, engine: Engine, zones: dict[str, str] | None = None) -> None:
        self.clock = FixedClock(local(0, 9))
        self.cx = Services(make_session_factory(engine), self.clock)
        load_council(self.cx.uow(), load_council_file(COUNCIL_FILE), clock=self.clock)
        self.zones = zones or {}
        self.statements: list[str] = []
        self.errors: list[BaseException] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "handle_error", self._error)
        self.engine = engine

    def _statement(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        self.statements.append(statement)

    def _error(self, context: object) -> None:
        self.errors.append(context.original_exception)  # type: ignore[attr-defined]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "handle_error", self._error)

    def file(self, at: datetime, n: int = 1, dept: str = "billing") -> list[int]:
        self.clock.set(at)
        draft = Draft(title="Card fees", summary="s", department=dept, stages=("Pay",), impact=Impact.NEUTRAL,
                      impact_note="", magnitude=Magnitude.MINOR, decision_by=day(38))
        return [requests.file_request(self.cx.uow(), actor="U0BILLLEAD", draft=draft, clock=self.clock)
                for _ in range(n)]

    def sweep(self, at: datetime) -> tuple[SweepReport, list[str]]:
        """One sweep at `at`: its report and the statements it ran."""
        self.clock.set(at)
        self.statements.clear()
        self.errors.clear()
        report = sweep(self.cx.uow, clock=self.clock, timezones=lambda users: {u: self.zones[u] for u in users
                                                                                if u in self.zones})
        return report, list(self.statements)

    def count(self, stmt: object) -> int:
        with self.cx.sessions() as s:
            return s.scalar(stmt)  # type: ignore[arg-type]


@pytest.fixture
def council(engine: Engine) -> Iterator[Council]:
    c = Council(engine, zones={"U0SUP1": "America/New_York"})
    yield c
    c.close()


def _claim_retries(statements: list[str]) -> list[str]:
    return [s for s in statements if s.upper().startswith(("ROLLBACK TO SAVEPOINT", "SAVEPOINT"))]


def test_an_idle_sweep_runs_the_same_few_statements_for_20_and_for_60_open_requests(council: Council) -> None:
    council.file(local(0, 10), 20)
    first, _ = council.sweep(local(0, 10, 1))
    assert first.requests == 20  # each new request is looked at once, to learn when it is next due
    idle, with_20 = council.sweep(local(0, 10, 2))
    assert idle == SweepReport()
    council.file(local(0, 11), 40)
    council.sweep(local(0, 11, 1))
    idle, with_60 = council.sweep(local(0, 11, 2))
    assert idle == SweepReport()
    assert len(with_20) == len(with_60) <= IDLE_STATEMENTS, with_60
    assert council.count(select(func.count()).select_from(ReviewRequest)) == 60


def test_the_mornings_reminders_go_out_once_and_the_next_sweep_that_day_claims_nothing(council: Council) -> None:
    ids = council.file(local(0, 10), 20)
    council.sweep(local(0, 10, 1))
    morning, _ = council.sweep(local(1, 9))
    # Legal's two advocates and Oslo's working hours: Support's advocate is in New York, asleep.
    # One DM each, listing all the requests.
    assert morning.reminders == 2
    later, statements = council.sweep(local(1, 10))
    assert later == SweepReport()
    assert len(statements) <= IDLE_STATEMENTS, statements
    assert _claim_retries(statements) == [] and council.errors == []
    # The same moment again (a second replica, a restart): nothing is retried, nothing fails.
    again, statements = council.sweep(local(1, 10))
    assert again == SweepReport() and _claim_retries(statements) == [] and council.errors == []
    with council.cx.sessions() as s:
        assert sorted(listed_in(s, "U0LEGAL1") + listed_in(s, "U0LEGAL2")) == sorted(2 * ids)
    assert council.count(select(func.count()).select_from(Reminder)) == 0
    assert council.count(select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == "daily_reminder")) \
        == 2
    assert council.count(select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == "reminder")) == 0


def test_a_recipient_outside_working_hours_is_reminded_when_theirs_begin(council: Council) -> None:
    ids = council.file(local(0, 10), 5)
    council.sweep(local(0, 10, 1))
    council.sweep(local(1, 9))
    new_york_morning = datetime.combine(day(1), time(9), tzinfo=NEW_YORK)
    before, _ = council.sweep(new_york_morning - timedelta(minutes=1))
    assert before == SweepReport()
    at, _ = council.sweep(new_york_morning)
    assert (at.requests, at.reminders) == (len(ids), 1)   # one DM, listing them all
    with council.cx.sessions() as s:
        assert sorted(listed_in(s, "U0SUP1")) == ids


def test_deadline_escalation_steps_and_a_lapsing_hold_are_picked_up_when_they_come(council: Council) -> None:
    rid, held = council.file(local(0, 10), 2)
    council.sweep(local(0, 10, 1))
    council.clock.set(local(0, 11))
    until = requests.place_hold(council.cx.uow(), actor="U0LEGAL1", request_id=held, reason="Need the terms",
                                days=1, clock=council.clock)
    council.sweep(local(0, 11, 1))

    council.sweep(until - timedelta(hours=2))  # the day's reminders, in Oslo's and New York's hours
    before, _ = council.sweep(until - timedelta(minutes=1))
    assert before == SweepReport()
    lapse, _ = council.sweep(until)
    assert (lapse.requests, lapse.holds_lapsed) == (1, 1)

    with council.cx.sessions() as s:
        due_at = s.get(ReviewRequest, rid).due_at
    council.sweep(due_at - timedelta(hours=8))
    council.sweep(due_at - timedelta(hours=2))
    before, _ = council.sweep(due_at - timedelta(minutes=1))
    assert before == SweepReport()
    deadline, _ = council.sweep(due_at)
    assert deadline.escalations == 1  # the deadline passed: the filing department's leads

    # The next step comes `step_days` (2) working days after Thursday's: at the start of Monday.
    council.sweep(local(7, 0) - timedelta(minutes=1))
    with council.cx.sessions() as s:
        assert s.get(ReviewRequest, rid).escalation_step == 1
    step, _ = council.sweep(local(7, 0))
    assert (step.requests, step.escalations) == (1, 1)
    with council.cx.sessions() as s:
        assert s.get(ReviewRequest, rid).escalation_step == 2


def test_a_change_makes_its_request_due_and_a_new_advocate_wakes_every_open_one(council: Council) -> None:
    voted, untouched = council.file(local(0, 10), 2)
    council.sweep(local(0, 10, 1))
    council.clock.set(local(0, 12))
    votes.cast_vote(council.cx.uow(), actor="U0LEGAL1", request_id=voted, kind=VoteKind.APPROVE, clock=council.clock)
    after_vote, _ = council.sweep(local(0, 12, 1))
    assert after_vote.requests == 1  # the one voted on is looked at again; the other is not
    assert council.sweep(local(0, 12, 2))[0] == SweepReport()

    council.clock.set(local(0, 13))
    text = COUNCIL_FILE.read_text().replace('advocates = ["U0SUP1"]', 'advocates = ["U0SUP1", "U0SUP2"]')
    load_council(council.cx.uow(), parse_council(text), clock=council.clock)
    after_load, _ = council.sweep(local(0, 13, 1))
    assert after_load.requests == 2
    morning, _ = council.sweep(local(1, 9))
    with council.cx.sessions() as s:
        reminded = sorted(listed_in(s, "U0SUP2"))
    assert reminded == sorted([voted, untouched]) and morning.reminders >= 2


def test_the_sweeps_lean_count_says_what_the_full_tally_says() -> None:
    """`sweep_batch.count` (the morning's 10,000 requests are counted without building their
    tallies) gives the tally's outstanding departments and `outcome` for any votes: retracted,
    replaced, cast by stand-ins, objections blocking or not, resolved or overruled, on
    departments routed or not, under any policy."""
    import random

    from cxbot.domain.decision import outcome, tally
    from cxbot.domain.model import Resolution
    from cxbot.domain.policy import MagnitudePolicy
    from cxbot.services.lifecycle import ballots_of
    from cxbot.services.sweep_batch import _counted, count

    rnd = random.Random(5)
    keys = {1: "a", 2: "b", 3: "c", 4: "d"}
    start = datetime(2020, 1, 1)
    for _ in range(3000):
        routed = rnd.sample(["a", "b", "c"], rnd.randint(0, 3))
        policy = MagnitudePolicy(review_days=5, approvals=rnd.randint(1, 3),
                                 required_share=rnd.choice([None, 0.5, 1 / 3]), abstain_counts=rnd.random() < 0.5)
        seats = {d: rnd.randint(0, 3) for d in routed}
        rows = []
        for vid in range(rnd.randint(0, 8)):
            kind = rnd.choice(list(VoteKind))
            cast = start + timedelta(minutes=rnd.randint(0, 5))
            rows.append((vid, 1, f"U{rnd.randint(0, 4)}", rnd.choice(list(keys)), kind.value, "", rnd.random() < 0.6,
                         "", rnd.choice([None, None, Resolution.RESOLVED.value, Resolution.OVERRULED.value])
                         if kind is VoteKind.OBJECT else None,
                         rnd.choice([None, None, f"U{rnd.randint(0, 4)}"]), rnd.random() < 0.2,
                         cast, cast + timedelta(minutes=rnd.randint(0, 3))))
        full = tally(routed, ballots_of([_counted(r) for r in rows], keys), policy, seats)
        assert count(routed, rows, keys, policy, seats) == (full.outstanding, outcome(full))


def test_a_person_looked_up_wakes_only_what_they_can_be_asked_about(council: Council) -> None:
    """Someone who only typed a command is stored with their Slack data: nothing is due for it,
    nor for an advocate of the filing department (never asked about its own change). An
    advocate of a routed department, once their time zone is known, makes the request due."""
    [rid] = council.file(local(0, 10), dept="billing")
    council.sweep(local(0, 10, 1))
    council.clock.set(local(0, 11))

    def looked_up(user: str) -> set[int]:
        with council.cx.uow() as uow:
            uow.session.add(Person(user_id=user, timezone="Asia/Tokyo", name=user, dm_channel="",
                                   fetched_at=council.clock.now()))
            uow.commit()
        with council.cx.sessions() as s:
            return set(s.scalars(select(ReviewRequest.id).where(ReviewRequest.next_due_at <= council.clock.now())))

    assert looked_up("U0OUTSIDER") == set() and looked_up("U0BILL1") == set()
    assert looked_up("U0LEGAL1") == {rid}


def test_a_change_in_one_council_wakes_none_of_another_councils_requests(council: Council) -> None:
    """A council file loaded with a new advocate makes that council's open requests due, and
    leaves the other council's alone: a company of many councils does not pay for a reload of
    one with a sweep over all."""
    from tests.harness import NORDICS_FILE

    load_council(council.cx.uow(), load_council_file(NORDICS_FILE), clock=council.clock)
    council.clock.set(local(0, 10))
    draft = Draft(title="Fees", summary="s", department="billing", stages=("Pay",), impact=Impact.NEUTRAL,
                  impact_note="", magnitude=Magnitude.MINOR, decision_by=day(38))
    default_request, nordic_request = (
        requests.file_request(council.cx.uow(), actor="U0BILLLEAD", draft=draft, clock=council.clock, council=key)
        for key in ("default", "nordics"))
    council.sweep(local(0, 10, 1))

    def due_after_load(path_text: str) -> set[int]:
        council.clock.set(local(0, 11))
        load_council(council.cx.uow(), parse_council(path_text), clock=council.clock)
        with council.cx.sessions() as s:
            return set(s.scalars(select(ReviewRequest.id).where(ReviewRequest.next_due_at <= council.clock.now())))

    nordics = NORDICS_FILE.read_text()
    assert due_after_load(nordics.replace('advocates = ["U0NLEG1"]', 'advocates = ["U0NLEG1", "U0NLEG2"]')) \
        == {nordic_request}
    council.sweep(local(0, 11, 1))
    assert due_after_load(COUNCIL_FILE.read_text().replace('advocates = ["U0SUP1"]',
                                                           'advocates = ["U0SUP1", "U0SUP2"]')) == {default_request}
