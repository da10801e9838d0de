"""The digest's "Across the experience" section: for each stage, then each of its moments of
truth, the changes decided this week that touch it, how many were approved, the customer hours a
month the approved ones add or save, and who filed them; in the Slack message, the text and the
HTML report, from a known history."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from cxbot.clock import FixedClock
from cxbot.council_file import parse_council
from cxbot.domain.cost import CustomerCost
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.reports.model import ExperienceRow
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
    text = render_text(digest)
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
