"""The digest's numbers, from a council with two weeks of history built through the use cases,
checked against hand-computed expectations; and its weekly delivery, exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from cxbot.clock import FixedClock
from cxbot.council_file import load_council_file
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.reports.model import Digest
from cxbot.services import amend, digests, requests, votes
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.services.sweep import sweep
from cxbot.store.db import make_session_factory
from cxbot.store.models import Vote
from tests.harness import COUNCIL_FILE, day, iso_week, local


class Council:
    """The use cases, with a clock the test moves."""

    def __init__(self, engine: Engine) -> None:
        self.clock = FixedClock(local(-7, 9))
        self.cx = Services(make_session_factory(engine), self.clock)
        load_council(self.cx.uow(), load_council_file(COUNCIL_FILE), clock=self.clock)

    def when(self, moment: datetime) -> Council:
        self.clock.set(moment)
        return self

    def file(self, who: str, dept: str, title: str, magnitude: str, stages: tuple[str, ...]) -> int:
        draft = Draft(title=title, summary="s", department=dept, stages=stages, impact=Impact.NEUTRAL,
                      impact_note="", magnitude=Magnitude(magnitude), decision_by=day(38))
        return requests.file_request(self.cx.uow(), actor=who, draft=draft, clock=self.clock)

    def vote(self, who: str, rid: int, kind: VoteKind, note: str = "") -> None:
        votes.cast_vote(self.cx.uow(), actor=who, request_id=rid, kind=kind, note=note, clock=self.clock)

    def digest(self, week: str) -> Digest:
        return digests.digest(self.cx.uow(), week=week, clock=self.clock)


@pytest.fixture
def history(engine: Engine) -> tuple[Council, dict[str, int]]:
    c = Council(engine)
    r: dict[str, int] = {}
    # Week 47
    r["R1"] = c.when(local(-7, 10)).file("U0BILLLEAD", "billing", "Paper invoices go", "major", ("Pay", "Leave"))
    c.when(local(-6, 10)).vote("U0LEGAL1", r["R1"], VoteKind.APPROVE)
    r["R2"] = c.when(local(-6, 10)).file("U0SUPLEAD", "support", "New ticket form", "minor", ("Use",))
    c.when(local(-5, 10)).vote("U0SUP1", r["R1"], VoteKind.APPROVE)                       # R1 approved after 48 h
    c.when(local(-5, 11)).vote("U0BILL1", r["R2"], VoteKind.OBJECT, "Breaks invoicing")  # blocking
    # Week 48
    r["R3"] = c.when(local(0, 10)).file("U0LEGALLEAD", "legal", "New terms <!channel>", "major", ("Buy",))
    c.when(local(0, 12)).vote("U0BILL1", r["R3"], VoteKind.APPROVE)
    r["R4"] = c.when(local(1, 10)).file("U0BILLLEAD", "billing", "Card fees", "minor", ("Pay",))
    sweep(c.cx.uow, clock=c.when(local(1, 10)).clock, timezones=lambda users: {})     # reminders, R2 escalates
    c.when(local(1, 11)).vote("U0LEGAL1", r["R4"], VoteKind.OBJECT, "Needs a notice period")
    vote_id = next(v.id for v in _votes(c, r["R4"]) if v.user_id == "U0LEGAL1")
    votes.resolve_objection(c.cx.uow(), actor="U0LEGAL1", request_id=r["R4"], vote_id=vote_id,
                            clock=c.when(local(2, 10)).clock)
    form = amend.amend_form(c.cx.uow(), actor="U0SUPLEAD", request_id=r["R2"])
    amend.amend(c.cx.uow(), actor="U0SUPLEAD", request_id=r["R2"], draft=form.draft.__class__(
        **{**form.draft.__dict__, "title": "New ticket form, invoices kept"}), full_review=False,
        clock=c.when(local(2, 11)).clock)
    c.when(local(3, 10)).vote("U0SUP1", r["R4"], VoteKind.APPROVE)                        # R4 approved after 48 h
    r["R5"] = c.when(local(3, 10)).file("U0BILLLEAD", "billing", "Renewal mails", "minor", ("Renew",))
    requests.withdraw(c.cx.uow(), actor="U0BILLLEAD", request_id=r["R5"], clock=c.when(local(4, 10)).clock)
    c.when(local(7, 9))                                                                  # Monday after
    return c, r


def _votes(c: Council, rid: int) -> list[Vote]:
    from sqlalchemy import select

    with c.cx.sessions() as s:
        return list(s.scalars(select(Vote).where(Vote.request_id == rid)))


def test_headline_numbers_and_the_previous_week(history: tuple[Council, dict[str, int]]) -> None:
    c, _ = history
    d = c.digest(iso_week())
    h = d.headline
    assert (h.filed, h.approved, h.rejected, h.withdrawn, h.expired) == (3, 1, 0, 1, 0)
    assert (h.open, h.overdue, h.escalated, h.median_hours_to_decision) == (2, 1, 1, 48.0)
    p = d.previous
    assert (p.filed, p.approved, p.decided, p.open, p.overdue, p.escalated, p.median_hours_to_decision) == (
        2, 1, 1, 1, 1, 0, 48.0)
    assert (d.starts, d.ends) == (day(0), day(6))


def test_decided_waiting_and_objections(history: tuple[Council, dict[str, int]]) -> None:
    c, r = history
    d = c.digest(iso_week())
    assert [(x.request_id, x.outcome, x.reviewers) for x in d.decided] == [
        (r["R4"], "approved", ("Legal", "Support")), (r["R5"], "withdrawn", ("Legal", "Support"))]
    assert [(o.user, o.reason, o.resolution) for o in d.decided[0].objections] == [
        ("U0LEGAL1", "Needs a notice period", "resolved")]
    assert [(w.request_id, w.overdue, w.outstanding, w.status) for w in d.waiting] == [
        (r["R2"], True, ("Legal",), "escalated"), (r["R3"], False, ("Support",), "open")]
    assert [(g.stage, [o.request_id for o in g.objections], g.resolved) for g in d.objections_by_stage] == [
        ("Pay", [r["R4"]], 1)]


def test_accountability_per_department(history: tuple[Council, dict[str, int]]) -> None:
    c, _ = history
    stats = {s.key: s for s in c.digest(iso_week()).departments}
    b, lg, sp = stats["billing"], stats["legal"], stats["support"]
    assert (b.routed, b.answered, b.answered_on_time, b.median_hours_to_answer) == (1, 1, 1, 2.0)
    assert (b.objections_raised, b.reminders, b.filed, b.approved_first_time, b.amended) == (0, 0, 2, 1, 0)
    assert (lg.routed, lg.answered, lg.answered_on_time, lg.median_hours_to_answer) == (2, 1, 1, 1.0)
    assert (lg.objections_raised, lg.reminders, lg.filed, lg.approved_first_time) == (1, 2, 1, 0)
    assert (sp.routed, sp.answered, sp.answered_on_time, sp.median_hours_to_answer) == (3, 1, 1, 48.0)
    assert (sp.objections_raised, sp.reminders, sp.filed) == (0, 1, 0)
    w47 = {s.key: s for s in c.digest(iso_week(-1)).departments}
    assert (w47["support"].filed, w47["support"].amended, w47["support"].approved_first_time) == (1, 1, 0)
    assert w47["billing"].objections_raised == 1


def test_stages_and_twelve_weeks_of_decisions(history: tuple[Council, dict[str, int]]) -> None:
    c, _ = history
    d = c.digest(iso_week())
    assert [(s.stage, s.touched, s.pending) for s in d.stages] == [
        ("Buy", 1, 1), ("Use", 0, 1), ("Pay", 1, 0), ("Renew", 1, 0)]
    assert len(d.history) == 12 and d.history[-1].week == iso_week() and d.history[0].week == iso_week(-11)
    assert [(w.week, w.approved, w.withdrawn) for w in d.history if w.total] == [
        (iso_week(-1), 1, 0), (iso_week(), 1, 1)]


def test_a_quiet_week_says_so(history: tuple[Council, dict[str, int]]) -> None:
    from cxbot.reports.render import render_html, render_slack, render_text

    c, _ = history
    d = c.digest(iso_week(-8))
    assert d.quiet and d.headline.filed == 0 and d.waiting == ()
    assert f"No council activity in {iso_week(-8)}" in render_text(d)
    text, blocks = render_slack(d)
    assert "No council activity" in text and 0 < len(blocks) < 6
    assert "No council activity" in render_html(d)


def test_user_text_is_escaped_in_every_rendering(history: tuple[Council, dict[str, int]]) -> None:
    import json

    from cxbot.reports.render import render_html, render_slack

    c, _ = history
    d = c.digest(iso_week())
    text, blocks = render_slack(d)
    assert "<!channel>" not in json.dumps(blocks) + text and "&lt;!channel&gt;" in json.dumps(blocks)
    assert "New terms &lt;!channel&gt;" in render_html(d)


def test_a_malformed_week_is_refused_and_a_future_week_shows_what_waits_now(
        history: tuple[Council, dict[str, int]]) -> None:
    from cxbot.domain.errors import InvalidInput

    c, _ = history
    with pytest.raises(InvalidInput):
        c.digest("2026-48")
    with pytest.raises(InvalidInput):
        c.digest("2026-W54")
    future = c.digest(iso_week(7))
    assert (future.headline.filed, future.headline.decided) == (0, 0) and len(future.waiting) == 2


def test_the_digest_is_due_after_the_council_time_and_claimed_once(history: tuple[Council, dict[str, int]]) -> None:
    c, _ = history
    assert digests.due_week(c.cx.uow(), clock=c.when(local(7, 8)).clock) is None           # Monday 08:00
    assert digests.due_week(c.cx.uow(), clock=c.when(local(7, 9)).clock) == iso_week()     # Monday 09:00
    assert digests.send_when_due(c.cx.uow, clock=c.clock) == iso_week()
    assert digests.send_when_due(c.cx.uow, clock=c.when(local(7, 9) + timedelta(minutes=1)).clock) is None
    assert digests.send(c.cx.uow(), week=iso_week(), clock=c.clock) is False
    assert digests.send(c.cx.uow(), week=iso_week(), clock=c.clock, force=True) is True


def test_weekly_digest_reaches_the_chair_with_the_report_attached(stack) -> None:  # type: ignore[no-untyped-def]
    from tests.harness import CHANNEL

    stack.load_council(COUNCIL_FILE.read_text() + "\n[digest]\nday = \"mon\"\ntime = \"09:30\"\n"
                       "post_to_channel = true\n")
    stack.file(title="Dunning letters <!here>")
    stack.clock.set(local(7, 9, 29))
    assert stack.runtime.send_due_digest() is None
    stack.clock.set(local(7, 9, 31))
    assert stack.runtime.send_due_digest() == iso_week()
    assert stack.runtime.send_due_digest() is None                 # once a week, however often it runs
    stack.settle()
    dm = [m for m in stack.slack.dms("U0CHAIR") if iso_week() in m.text]
    assert len(dm) == 1 and len(dm[0].blocks) <= 50 and "<!here>" not in dm[0].mentions
    files = stack.slack.files
    assert len(files) == 1 and files[0].name == f"cx-council-{iso_week()}.html"
    assert b"Dunning letters &lt;!here&gt;" in files[0].content
    channel_posts = [m for m in stack.slack.messages(CHANNEL) if iso_week() in m.text]
    assert len(channel_posts) == 1


def test_two_digest_senders_at_once_send_one_digest(stack, database_url: str) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from tests.harness import BOT_TOKEN, process_env

    stack.file()
    env = process_env(CXBOT_DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                      CXBOT_SLACK_API_URL=stack.slack.url, CXBOT_LOG_LEVEL="WARNING")
    procs = [subprocess.Popen([sys.executable, "-m", "cxbot", "digest", "send", "--week", iso_week()], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(out.strip() for out, _ in outputs) == [
        f"sent the digest of {iso_week()}", f"the digest of {iso_week()} was already sent; --force sends it again"]
    stack.settle()
    assert len([m for m in stack.slack.dms("U0CHAIR") if iso_week() in m.text]) == 1
    assert len(stack.slack.files) == 1
