"""The digest's "Across the experience" section: for each stage, then each of its moments of
truth, the changes decided this week that touch it, how many were approved, the customer hours a
month the approved ones add or save, and who filed them; in the Slack message, the text and the
HTML report, from a known history."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cxbot.clock import FixedClock
from cxbot.council_file import parse_council
from cxbot.domain.cost import CustomerCost
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.reports.model import Digest, ExperienceRow, FollowUpStats
from cxbot.reports.render import render_html, render_slack, render_text
from cxbot.services import digests, requests, votes
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.store.db import make_session_factory
from tests.harness import COUNCIL_FILE, day, iso_week, local
from tests.test_moments import MOMENTS


@pytest.fixture
def cx(engine: Engine) -> Services:
    clock = FixedClock(local(0, 9))
    services = Services(make_session_factory(engine), clock)
    load_council(services.uow(), parse_council(COUNCIL_FILE.read_text() + MOMENTS), clock=clock)
    return services


def _file(cx: Services, who: str, dept: str, stages: tuple[str, ...], moments: tuple[str, ...] = (),
          cost: CustomerCost | None = None) -> int:
    draft = Draft(title=f"{dept} <change>", summary="s", department=dept, stages=stages, impact=Impact.NEUTRAL,
                  impact_note="", magnitude=Magnitude.MINOR, decision_by=day(30), moments=moments,
                  cost=cost or CustomerCost())
    return requests.file_request(cx.uow(), actor=who, draft=draft, clock=cx.clock)  # type: ignore[arg-type]


def _approve(cx: Services, rid: int, *who: str) -> None:
    for user in who:
        votes.cast_vote(cx.uow(), actor=user, request_id=rid, kind=VoteKind.APPROVE, clock=cx.clock)  # type: ignore[arg-type]


def test_the_weeks_decisions_across_stages_and_moments(cx: Services) -> None:
    cx.clock.set(local(0, 10))  # type: ignore[attr-defined]
    invoice = _file(cx, "U0BILLLEAD", "billing", ("Pay",), ("first-invoice",), CustomerCost(5, 1200))  # +100 h
    cancel = _file(cx, "U0SUPLEAD", "support", ("Leave", "Pay"), ("cancel-call",), CustomerCost(-3, 2000))  # −100 h
    refund = _file(cx, "U0LEGALLEAD", "legal", ("Pay",), (), CustomerCost(steps=2))
    _file(cx, "U0BILLLEAD", "billing", ("Leave",))                         # still open: not in the section
    cx.clock.set(local(1, 10))  # type: ignore[attr-defined]
    _approve(cx, invoice, "U0LEGAL1", "U0SUP1")
    _approve(cx, cancel, "U0LEGAL1", "U0BILL1")
    requests.withdraw(cx.uow(), actor="U0LEGALLEAD", request_id=refund, clock=cx.clock)  # type: ignore[arg-type]
    cx.clock.set(local(7, 9))  # type: ignore[attr-defined]
    digest = digests.digest(cx.uow(), week=iso_week(0), clock=cx.clock)  # type: ignore[arg-type]

    assert digest.experience == (                   # the council's stage order: … Pay, Renew, Leave
        ExperienceRow("Pay", "", 3, 2, 0.0, 2, ("Billing", "Support", "Legal")),
        ExperienceRow("Pay", "The first invoice", 1, 1, 100.0, 1, ("Billing",)),
        ExperienceRow("Leave", "", 1, 1, -100.0, 1, ("Support",)),
        ExperienceRow("Leave", "The call to cancel", 1, 1, -100.0, 1, ("Support",)),
    )
    hours = {d.request_id: d.customer_hours for d in digest.decided}
    assert hours == {invoice: 100.0, cancel: -100.0, refund: None}             # each change's own
    text = render_text(digest)
    assert "+100 customer hours a month" in text and "−100 customer hours a month" in text
    assert "Across the experience" in text and "↳ The first invoice" in text and "+100" in text and "−100" in text
    html = render_html(digest)
    assert 'id="experience"' in html and "<span aria-hidden=\"true\">↳ </span>The first invoice" in html
    _, blocks = render_slack(digest)
    slack = json.dumps(blocks, ensure_ascii=False)
    assert "*Across the experience*" in slack and "↳ The call to cancel" in slack and "−100 customer hours" in slack


def test_a_week_without_decisions_says_so(cx: Services) -> None:
    cx.clock.set(local(0, 10))  # type: ignore[attr-defined]
    _file(cx, "U0BILLLEAD", "billing", ("Pay",), ("first-invoice",))
    digest = digests.digest(cx.uow(), week=iso_week(0), clock=cx.clock)  # type: ignore[arg-type]
    assert digest.experience == ()
    assert "No change decided this week touched a lifecycle stage." in render_text(digest)
    assert "No change decided this week touched a lifecycle stage." in render_html(digest)


def test_follow_ups_and_the_week_before_across_the_experience(cx: Services) -> None:
    digest = _history_with_follow_ups(cx)
    pay = next(r for r in digest.experience if r.stage == "Pay" and not r.moment)
    moment = next(r for r in digest.experience if r.moment == "The first invoice")
    assert (pay.followed_up, pay.held, pay.worse) == (1, 0, 1) and (moment.followed_up, moment.worse) == (1, 1)
    assert pay.follow_ups_due == moment.follow_ups_due == 1          # asked this week, the filer's
    assert [(r.stage, r.customer_hours) for r in digest.previous_experience] == [("Pay", 20.0)]
    assert digest.follow_ups == (FollowUpStats("Billing", 1, 1, 0, 0), FollowUpStats("Support", 1, 1, 1, 1))
    html = render_html(digest)
    assert "Follow-ups by department" in html
    assert 'id="hours-chart-title"' in html
    assert "0 of 1" in html
    assert "1 of 1" in html                                          # Support's objection proved right
    assert "follow-ups: 0 of 1 held" in json.dumps(render_slack(digest)[1], ensure_ascii=False)


@pytest.mark.skipif(shutil.which("chromium") is None and not os.environ.get("CI"),
                    reason="needs a chromium binary on PATH (CI installs it and never skips this)")
def test_the_section_reads_right_in_a_real_browser(cx: Services, tmp_path: Path) -> None:
    """Chromium parses the report and lays it out: the section's numbers are in the page it
    shows (its DOM after parsing), and the week-over-week chart has a bar for each week."""
    page = tmp_path / "digest.html"
    page.write_text(render_html(_history_with_follow_ups(cx)), encoding="utf-8")
    shown = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True, timeout=120).stdout
    section = shown.split('id="experience"')[1].split("</section>")[0]
    text = re.sub(r"<[^>]+>", " ", section)
    assert "Across the experience" in text and "The first invoice" in text and "Follow-ups by department" in text
    assert re.search(r"Support\s+1\s+1\s+1 of 1", " ".join(text.split()))
    chart = section.split('id="hours-chart-title"')[1]
    assert chart.count("<rect") >= 2                     # this week's bar and the week before's


def _history_with_follow_ups(cx: Services) -> Digest:
    from cxbot.services import followups
    from cxbot.store.models import FollowUp

    cx.clock.set(local(-7, 10))  # type: ignore[attr-defined]
    before = _file(cx, "U0BILLLEAD", "billing", ("Pay",), (), CustomerCost(2, 600))          # +20 h, last week
    cx.clock.set(local(-6, 10))  # type: ignore[attr-defined]
    _approve(cx, before, "U0LEGAL1", "U0SUP1")
    cx.clock.set(local(0, 10))  # type: ignore[attr-defined]
    objected = _file(cx, "U0BILLLEAD", "billing", ("Pay",), ("first-invoice",))
    votes.cast_vote(cx.uow(), actor="U0SUP1", request_id=objected, kind=VoteKind.OBJECT,  # type: ignore[arg-type]
                    note="Calls will double", clock=cx.clock)
    vote_id = next(v for v in _objections(cx, objected))
    votes.resolve_objection(cx.uow(), actor="U0SUP1", request_id=objected, vote_id=vote_id,  # type: ignore[arg-type]
                            clock=cx.clock)
    _approve(cx, objected, "U0LEGAL1")
    followups.set_go_live(cx.uow(), actor="U0BILLLEAD", request_id=objected,  # type: ignore[arg-type]
                          go_live=day(-40), clock=cx.clock)
    cx.clock.set(local(1, 10))  # type: ignore[attr-defined]
    assert followups.send_due(cx.uow(), clock=cx.clock) == 2  # type: ignore[arg-type]
    with cx.sessions() as s:
        asked = {f.role: f.id for f in s.query(FollowUp)}
    followups.answer(cx.uow(), actor="U0BILLLEAD", follow_up_id=asked["filer"], answer="worse", note="",  # type: ignore[arg-type]
                     measured="", clock=cx.clock)
    followups.answer(cx.uow(), actor="U0SUP1", follow_up_id=asked["objector"], answer="came_true",  # type: ignore[arg-type]
                     note="", measured="", clock=cx.clock)
    cx.clock.set(local(7, 9))  # type: ignore[attr-defined]
    return digests.digest(cx.uow(), week=iso_week(0), clock=cx.clock)  # type: ignore[arg-type]


def _objections(cx: Services, rid: int) -> list[int]:
    from sqlalchemy import select

    from cxbot.store.models import Vote

    with cx.sessions() as s:
        return list(s.scalars(select(Vote.id).where(Vote.request_id == rid, Vote.kind == VoteKind.OBJECT)))
