"""The council changes while requests are open: a department dropped, or left without an
advocate, stops being waited for (its routing released, the thread told, the outcome worked
out again, the audit trail kept); an advocate who leaves is no longer mentioned or reminded;
a department added is not asked about requests already under review; and
`cxbot council load --dry-run` says all this beforehand and changes nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from cxbot.council_file import parse_council
from cxbot.domain.model import Status
from cxbot.services.council import load_council
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Base, Hold
from tests.harness import CHANNEL, COUNCIL_FILE, Stack, local, process_env
from tests.test_amend_terms import amend, kinds, routed, thread_text
from tests.test_lifecycle import dms_to, hold, press_in

BASE = COUNCIL_FILE.read_text()
MARKETING_DEPT = '''

[[departments]]
key = "marketing"
name = "Marketing"
leads = ["U0MKTLEAD"]
advocates = ["U0MKT1"]'''
# Marketing is routed every request: no routing rule, so every other department is asked.
WITH_MARKETING = BASE.replace('advocates = ["U0SUP1"]', 'advocates = ["U0SUP1"]' + MARKETING_DEPT)
MARKETING_EMPTIED = WITH_MARKETING.replace('advocates = ["U0MKT1"]', "advocates = []")


def with_marketing(stack: Stack) -> None:
    for user, name in (("U0MKT1", "mia"), ("U0MKTLEAD", "max")):
        stack.slack.add_user(user, name, real_name=name.capitalize() + " (Marketing)")
        stack.slack.invite(CHANNEL, user)
    stack.load_council(WITH_MARKETING)


def waiting_for_marketing(stack: Stack) -> int:
    """A request Legal and Support approved, so it waits only for Marketing."""
    with_marketing(stack)
    rid = stack.file()
    assert routed(stack, rid) == ["legal", "support", "marketing"]
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.settle()
    assert stack.request(rid).status is Status.OPEN
    return rid


def rerouted(stack: Stack, request_id: int) -> list[dict[str, Any]]:
    return [e.data for e in stack.all(AuditEvent, AuditEvent.request_id == request_id, AuditEvent.kind == "rerouted",
                                      order_by=AuditEvent.id)]


def test_a_dropped_department_is_released_and_the_request_approved(stack: Stack) -> None:
    rid = waiting_for_marketing(stack)
    stack.load_council(BASE)
    stack.settle()
    assert routed(stack, rid) == ["legal", "support"]
    assert stack.request(rid).status is Status.APPROVED
    thread = thread_text(stack, rid)
    assert "The council changed, so the routing changed" in thread
    assert "*Marketing* is released (dropped from the council)" in thread
    assert "*Approved.*" in thread
    [event] = rerouted(stack, rid)
    assert event["by_council_load"] is True and event["asked"] == []
    assert event["released"] == [{"department": "marketing", "name": "Marketing",
                                  "reason": "dropped from the council", "reason_key": "dropped",
                                  "reason_params": {}}]
    assert kinds(stack, rid)[-2:] == ["rerouted", "decided"]
    assert "<@U0MKT1>" not in stack.prompt(rid).mentions


def test_a_department_emptied_of_advocates_is_released_and_its_hold_ends(stack: Stack) -> None:
    with_marketing(stack)
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    assert "<@U0MKT1>" in stack.prompt(rid).mentions
    assert hold(stack, "U0MKT1", rid).get("errors") is None
    assert stack.request(rid).status is Status.ON_HOLD
    stack.load_council(MARKETING_EMPTIED)
    stack.settle()
    assert routed(stack, rid) == ["legal", "support"]
    assert stack.request(rid).status is Status.OPEN        # Marketing's hold ended; Support still owes
    assert [h.end_reason for h in stack.all(Hold)] == ["released"]
    assert "*Marketing* is released (no advocate left to answer)" in thread_text(stack, rid)
    assert "<@U0MKT1>" not in stack.prompt(rid).mentions
    assert "<@U0SUP1>" in stack.prompt(rid).mentions
    stack.press("U0SUP1", rid, ids.APPROVE)
    assert stack.request(rid).status is Status.APPROVED


def test_a_request_left_asking_nobody_keeps_waiting_until_it_escalates(stack: Stack) -> None:
    rid = stack.file()
    nobody = (BASE.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]', "advocates = []", 1)
              .replace('advocates = ["U0SUP1"]', "advocates = []", 1))
    report = load_council(stack.runtime.services.uow(), parse_council(nobody), clock=stack.clock)
    stack.settle()
    assert report.requests == [f"#{rid}: nobody is left to answer for Legal, Support, the only department(s) "
                               "it asks: it keeps waiting until it escalates"]
    assert routed(stack, rid) == ["legal", "support"]
    assert stack.request(rid).status is Status.OPEN
    assert rerouted(stack, rid) == []
    stack.sweep(local(10, 9))                             # past the deadline: escalated, as before
    assert stack.request(rid).status is Status.ESCALATED


def test_an_advocate_who_leaves_is_no_longer_mentioned_or_reminded(stack: Stack) -> None:
    rid = stack.file()
    assert "<@U0LEGAL1>" in stack.prompt(rid).mentions
    stack.load_council(BASE.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]', 'advocates = ["U0LEGAL2"]', 1))
    stack.settle()
    assert routed(stack, rid) == ["legal", "support"]     # Legal still has an advocate: still asked
    assert "<@U0LEGAL1>" not in stack.prompt(rid).mentions
    assert "<@U0LEGAL2>" in stack.prompt(rid).mentions
    stack.sweep(local(1, 10))
    assert dms_to(stack, "U0LEGAL2", "outstanding")
    assert dms_to(stack, "U0LEGAL1", "outstanding") == []
    assert rerouted(stack, rid) == []


def test_a_department_added_is_not_asked_about_requests_under_review(stack: Stack) -> None:
    rid = stack.file()
    with_marketing(stack)
    stack.settle()
    assert routed(stack, rid) == ["legal", "support"]
    assert "<@U0MKT1>" not in stack.prompt(rid).mentions
    assert rerouted(stack, rid) == []
    later = stack.file()
    assert routed(stack, later) == ["legal", "support", "marketing"]


def table_contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t.name: [tuple(row) for row in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables}


def cli_load(database_url: str, path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cxbot", "council", "load", *flags, str(path)],
                          env=process_env(CXBOT_DATABASE_URL=database_url), capture_output=True, text=True,
                          timeout=120)


def test_a_dry_run_says_what_a_load_would_do_to_open_requests_and_changes_nothing(
        stack: Stack, database_url: str, engine: Engine, tmp_path: Path) -> None:
    rid = waiting_for_marketing(stack)
    other = stack.file()
    smaller = tmp_path / "council.toml"
    smaller.write_text(BASE)
    before = table_contents(engine)

    done = cli_load(database_url, smaller, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "department marketing deactivated" in done.stdout
    assert f"#{rid}: stops waiting for Marketing (dropped from the council); would be approved" in done.stdout
    assert f"#{other}: stops waiting for Marketing (dropped from the council)\n" in done.stdout
    assert "nothing was changed" in done.stdout
    assert table_contents(engine) == before
    assert stack.request(rid).status is Status.OPEN

    done = cli_load(database_url, smaller)
    assert done.returncode == 0, done.stderr
    assert f"#{rid}: stops waiting for Marketing (dropped from the council); now approved" in done.stdout
    assert table_contents(engine) != before
    assert stack.request(rid).status is Status.APPROVED
    assert routed(stack, other) == ["legal", "support"]


# --- the filing department leaves ----------------------------------------------------------

MARKETING_LEADLESS = WITH_MARKETING.replace('leads = ["U0MKTLEAD"]', "leads = []")


def filed_by_marketing(stack: Stack) -> int:
    with_marketing(stack)
    rid = stack.file("U0MKTLEAD", department="marketing")
    assert routed(stack, rid) == ["billing", "legal", "support"]
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    return rid


def left(stack: Stack, rid: int) -> list[dict[str, Any]]:
    return [e.data for e in stack.all(AuditEvent, AuditEvent.request_id == rid,
                                      AuditEvent.kind == "filing_department_left", order_by=AuditEvent.id)]


def test_a_request_whose_filing_department_is_dropped_goes_on_being_reviewed(stack: Stack) -> None:
    rid = filed_by_marketing(stack)
    stack.load_council(BASE)
    stack.settle()
    assert stack.request(rid).status is Status.OPEN, "the proposed change still exists"
    assert routed(stack, rid) == ["billing", "legal", "support"]
    assert "🚪 *Marketing*, which filed this request, left the council: it was dropped from the council. " \
           "The review goes on" in thread_text(stack, rid)
    assert left(stack, rid) == [{"department": "marketing", "name": "Marketing", "reason": "dropped from the council",
                                 "reason_key": "dropped", "reason_params": {}, "filer": "U0MKTLEAD",
                                 "by_council_load": True}]
    stack.load_council(BASE)
    assert len(left(stack, rid)) == 1, "said once"

    # The departments asked go on answering, and the filer keeps the filer's actions.
    stack.press("U0BILL1", rid, ids.APPROVE)
    press_in(stack, "U0MKT1", stack.parent(rid), ids.AMEND)       # once Marketing's advocate: no longer
    assert "Only the person who filed this request" in stack.slack.ephemerals("U0MKT1")[-1].text
    amend(stack, rid, {"title": "Brighter banners, smaller"}, user="U0MKTLEAD")
    assert stack.request(rid).title == "Brighter banners, smaller" and stack.request(rid).version == 2
    press_in(stack, "U0MKTLEAD", stack.parent(rid), ids.WITHDRAW)
    assert stack.request(rid).status is Status.WITHDRAWN
    press_in(stack, "U0MKTLEAD", stack.parent(rid), ids.REOPEN)
    assert stack.request(rid).status is Status.OPEN
    stack.press("U0SUP1", rid, ids.APPROVE)
    assert stack.request(rid).status is Status.APPROVED


def test_a_filing_department_left_without_a_lead_is_said_and_a_dry_run_lists_it(
        stack: Stack, database_url: str, engine: Engine, tmp_path: Path) -> None:
    rid = filed_by_marketing(stack)
    leadless = tmp_path / "council.toml"
    leadless.write_text(MARKETING_LEADLESS)
    stack.settle()
    before = table_contents(engine)
    done = cli_load(database_url, leadless, "--dry-run")
    assert done.returncode == 0, done.stderr
    line = (f"#{rid}: its filing department Marketing left the council (no lead left); the review goes on, "
            "and its filer keeps amend, withdraw and reopen")
    assert line in done.stdout and "nothing was changed" in done.stdout
    assert table_contents(engine) == before

    done = cli_load(database_url, leadless)
    assert done.returncode == 0 and line in done.stdout, done.stderr
    stack.clock.set(stack.clock.now() + timedelta(minutes=2))     # the load's own clock ran on meanwhile
    stack.settle()
    assert stack.request(rid).status is Status.OPEN
    assert "left the council: it has no lead in the council any more" in thread_text(stack, rid)
    assert [d["reason"] for d in left(stack, rid)] == ["no lead left"]
    amend(stack, rid, {"title": "Brighter banners, smaller"}, user="U0MKTLEAD")   # no longer a lead: the filer
    assert stack.request(rid).version == 2
