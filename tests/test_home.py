"""The Home tab, through the served app: what each role sees when they open it, voting from
it (the same vote as in the thread), a refusal from it reaching the person, Home published
again for those a change touches (one pending publish a person), a person in two councils,
and Slack's 100 blocks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cxbot.domain.model import Status, VoteKind
from cxbot.i18n import translator
from cxbot.sandbox.blockkit import view_refusal
from cxbot.services import home, notices
from cxbot.services.home import HOME
from cxbot.services.notices import ADMIN_ALERT
from cxbot.services.outbox import DEAD, PENDING
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.home import home_tab
from cxbot.store.models import AuditEvent, DigestSend, HomeTab, OutboxItem, Vote
from tests.harness import CHANNEL, NORDICS_CHANNEL, Stack, day, local
from tests.test_councils import file_in_nordics

ROOT = Path(__file__).resolve().parent.parent
BEA, BO, LIV, SAM, SUE, CHAIR, ADMIN, OTTO = ("U0BILLLEAD", "U0BILL1", "U0LEGAL2", "U0SUP1", "U0SUPLEAD", "U0CHAIR",
                                              "U0ADMIN", "U0OUTSIDER")


def open_home(stack: Stack, user: str) -> dict[str, Any]:
    """`user` opens the Home tab; the view published for them after the acknowledgement."""
    before = (stack.slack.home(user) or {}).get("hash")
    result = stack.people.open_app_home(user)
    assert result is not None and result.status == 200, result
    return stack.slack.wait_for(lambda: (h := stack.slack.home(user)) and h.get("hash") != before and h)


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def buttons(view: dict[str, Any], action_id: str) -> list[str]:
    return [e.get("value", "") for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e.get("action_id") == action_id]


def republished(stack: Stack, user: str, previous: dict[str, Any]) -> dict[str, Any]:
    stack.settle()
    return stack.slack.wait_for(lambda: (h := stack.slack.home(user)) and h["hash"] != previous["hash"] and h)


def test_an_advocate_sees_what_waits_on_them_and_votes_from_home(stack: Stack) -> None:
    rid = stack.file(title="Fees <!channel> & more")
    view = open_home(stack, LIV)
    text = text_of(view)
    assert "Waiting on you" in text and f"CX review #{rid}: Fees &lt;!channel&gt; &amp; more" in text
    assert "Filed by *Billing* · you answer for *Legal*" in text and "<!date^" in text
    assert buttons(view, ids.APPROVE) == [str(rid)] and buttons(view, ids.ABSTAIN) == [str(rid)]
    assert stack.count(HomeTab, HomeTab.user_id == LIV) == 1

    # Approve from Home: the same press as in the thread, the same vote row and audit event.
    assert stack.people.press_home_button(LIV, action_id=ids.APPROVE, value=str(rid)).status == 200
    stack.applied()
    votes = stack.all(Vote, Vote.request_id == rid)
    assert [(v.user_id, v.kind) for v in votes] == [(LIV, VoteKind.APPROVE)]
    assert stack.count(AuditEvent, AuditEvent.kind == "voted", AuditEvent.request_id == rid) == 1
    after = republished(stack, LIV, view)
    assert buttons(after, ids.APPROVE) == [] and "Nothing is waiting on you." in text_of(after)
    assert "Answered recently" in text_of(after) and "approved" in text_of(after)
    # The thread and its parent show the vote.
    stack.slack.wait_for(lambda: f"<@{LIV}>" in json.dumps(stack.parent(rid).blocks))


def test_a_refusal_from_home_reaches_the_person_by_dm(stack: Stack) -> None:
    rid = stack.file()
    stale = open_home(stack, LIV)
    parent = stack.parent(rid)
    assert stack.people.press_button(BEA, channel=parent.channel, ts=parent.ts, action_id=ids.WITHDRAW).status == 200
    republished(stack, LIV, stale)
    assert stack.request(rid).status is Status.WITHDRAWN
    # Liv's screen still shows the old Home: her press is refused, and she hears why by DM.
    seen = len(stack.slack.dms(LIV))
    assert stack.people.press_home_button(LIV, action_id=ids.APPROVE, value=str(rid), home=stale).status == 200
    stack.settle()
    assert stack.count(Vote, Vote.request_id == rid) == 0
    told = stack.slack.wait_for(lambda: stack.slack.dms(LIV)[seen:])
    assert "withdrawn" in told[0].text.lower(), told[0].text
    # Object… is refused before its form would open: by DM too, and no form opens.
    assert stack.people.press_home_button(LIV, action_id=ids.OBJECT, value=str(rid), home=stale).status == 200
    stack.settle()
    again = stack.slack.wait_for(lambda: stack.slack.dms(LIV)[seen + 1:])
    assert "withdrawn" in again[0].text.lower() and stack.slack.open_views(LIV) == []


def test_a_filer_sees_their_requests_with_objections_and_actions(stack: Stack) -> None:
    rid = stack.file()
    stack.vote_with_note(LIV, rid, ids.OBJECT, "Breaks <@U0CHAIR> contract terms")
    stack.settle()
    view = open_home(stack, BEA)
    text = text_of(view)
    assert "Your requests" in text and "Changes requested" in text
    assert "*Legal* objects: Breaks &lt;@U0CHAIR&gt; contract terms" in text
    assert "waiting for" in text and "*Support*" in text
    assert buttons(view, ids.AMEND) == [str(rid)] and buttons(view, ids.WITHDRAW) == [str(rid)]
    assert buttons(view, f"{ids.FILE_IN_COUNCIL}0") == ["default"]

    # File a request from Home opens the filing form of the council.
    assert stack.people.press_home_button(BEA, action_id=f"{ids.FILE_IN_COUNCIL}0").status == 200
    form = stack.slack.wait_for(lambda: (stack.slack.open_views(BEA) or [None])[-1])
    assert form["callback_id"] == ids.FILE_VIEW

    # Withdraw from Home: the request is withdrawn, and Home now offers Reopen.
    assert stack.people.press_home_button(BEA, action_id=ids.WITHDRAW, value=str(rid)).status == 200
    after = republished(stack, BEA, view)
    assert stack.request(rid).status is Status.WITHDRAWN
    assert buttons(after, ids.REOPEN) == [str(rid)] and buttons(after, ids.WITHDRAW) == []


def test_the_chair_sees_the_council_at_a_glance_with_escalations(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)          # Legal answered; Support owes its answer
    stack.sweep(local(10, 9))                          # the deadline passed: escalated to Support's lead
    leads = open_home(stack, CHAIR)
    assert "Escalated: *1*" in text_of(leads) and buttons(leads, ids.DECIDE_APPROVE) == [], "the leads' turn"
    stack.sweep(local(14, 9))                          # and then to the chair
    assert stack.request(rid).status is Status.ESCALATED
    view = open_home(stack, CHAIR)
    text = text_of(view)
    assert "The council at a glance" in text and "Escalated: *1*" in text
    assert "Escalated to the chair" in text and "• *Support*: 1" in text
    assert buttons(view, ids.DECIDE_APPROVE) == [str(rid)] and buttons(view, ids.DECIDE_REJECT) == [str(rid)]
    assert stack.people.press_home_button(CHAIR, action_id=ids.DECIDE_REJECT, value=str(rid)).status == 200
    modal = stack.slack.wait_for(lambda: (stack.slack.open_views(CHAIR) or [None])[-1])
    assert modal["callback_id"] == ids.DECIDE_VIEW
    # An admin sees the council at a glance too; deciding is the chair's alone.
    admin = open_home(stack, ADMIN)
    assert "The council at a glance" in text_of(admin) and f"CX review #{rid}" in text_of(admin)
    assert buttons(admin, ids.DECIDE_APPROVE) == []

    # Send me the digest now: this week's digest so far, by DM; no week is claimed for it.
    assert buttons(admin, ids.DIGEST_NOW) == ["default"]
    seen = len(stack.slack.dms(ADMIN))
    assert stack.people.press_home_button(ADMIN, action_id=ids.DIGEST_NOW).status == 200
    stack.settle()
    (digest,) = stack.slack.wait_for(lambda: stack.slack.dms(ADMIN)[seen:])
    assert "This week so far: the weekly digest follows as usual." in json.dumps(digest.blocks)
    assert stack.count(DigestSend) == 0
    # Anyone else (a forged press) is told why not, by DM, and nothing is queued.
    seen = len(stack.slack.dms(LIV))
    assert stack.people.press_home_button(LIV, action_id=ids.DIGEST_NOW, home=admin).status == 200
    stack.settle()
    (refused,) = stack.slack.wait_for(lambda: stack.slack.dms(LIV)[seen:])
    assert refused.text == "Only the council chair and its admins can ask for the digest."


def test_a_filing_publishes_the_home_of_the_advocates_it_asks(stack: Stack) -> None:
    before = open_home(stack, LIV)
    assert "Nothing is waiting on you." in text_of(before)
    assert stack.people.open_app_home(SAM, tab="messages").status == 200   # the Messages tab: nothing to publish
    rid = stack.file()
    after = republished(stack, LIV, before)
    assert buttons(after, ids.APPROVE) == [str(rid)]
    assert stack.slack.home(SAM) is None, "Sam never opened Home: nothing is published for him"


def test_someone_outside_the_council_is_told_whom_to_ask(stack: Stack) -> None:
    stack.file(title="Secret plans")
    view = open_home(stack, OTTO)
    text = text_of(view)
    assert "You are not on the council" in text and f"<@{CHAIR}>" in text
    assert "Secret plans" not in text and "Waiting on you" not in text


def test_changes_keep_one_pending_publish_a_person(stack: Stack) -> None:
    rid = stack.file()
    open_home(stack, LIV)
    stack.settle()
    with stack.runtime.services.bare_uow() as uow:
        for _ in range(3):   # three changes to the request before anything is delivered
            notices.refresh(uow.session, rid, stack.clock.now())
        home.republish_homes(uow.session, [LIV, OTTO], stack.clock.now())
        pending = list(uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == HOME,
                                                                    OutboxItem.status == PENDING)))
        assert [(p.payload["user"], p.revision) for p in pending] == [(LIV, 3)], \
            "one publish pending per person who opened Home (asked for again 3 times), none for others"
        uow.commit()
    stack.settle()
    assert stack.count(OutboxItem, OutboxItem.kind == HOME, OutboxItem.status == PENDING) == 0


def test_a_person_in_two_councils_sees_a_section_each(stack: Stack) -> None:
    default = stack.file()
    stack.add_nordics()
    nordic = file_in_nordics(stack, title="Nordic fee")
    view = open_home(stack, SAM)
    text = text_of(view)
    assert "Council default" in text and "Council nordics" in text
    assert f"<#{CHANNEL}>" in text and f"<#{NORDICS_CHANNEL}>" in text
    assert buttons(view, ids.APPROVE) == [str(default), str(nordic)]
    assert "you answer for *Support*" in text and "you answer for *Nordic Care*" in text
    # Bea files in both: a File button for each council.
    bea = open_home(stack, BEA)
    assert buttons(bea, f"{ids.FILE_IN_COUNCIL}0") == ["default"]
    assert buttons(bea, f"{ids.FILE_IN_COUNCIL}1") == ["nordics"]


def test_home_stays_within_100_blocks(stack: Stack) -> None:
    for n in range(home.OWED_SHOWN + 2):
        stack.file(title=f"Change {n}")
    view = open_home(stack, LIV)
    assert len(view["blocks"]) <= 100
    assert buttons(view, ids.APPROVE) == [str(r) for r in range(1, home.OWED_SHOWN + 1)]
    assert "…and 2 more: `/cx-review mine` lists them all." in text_of(view)

    # However many councils and lists, the view is cut at 100 blocks, and Slack takes it.
    one = home.home_of(stack.runtime.services.reader(), LIV, clock=stack.clock)
    council = one.councils[0]
    crowded = replace(one, councils=tuple(
        replace(council, key=f"c{k}", position=k, owed=tuple(replace(i, id=100 * k + i.id) for i in council.owed))
        for k in range(6)))
    built = home_tab(crowded, translator("en"))
    assert len(built["blocks"]) <= 100 and view_refusal(built, kind="home") is None
    assert built["blocks"][-2]["type"] not in ("section", "header"), "no text is left without what follows it"
    assert "There is more than fits here" in text_of(built)


def test_home_speaks_the_persons_language(stack: Stack) -> None:
    rid = stack.file()
    assert stack.people.slash_command(LIV, "/cx-review", "language nb").status == 200
    view = open_home(stack, LIV)
    text = text_of(view)
    assert "Venter på deg" in text and f"CX-sak #{rid}" in text and "du svarer for *Legal*" in text
    assert [e["text"]["text"] for b in view["blocks"] if b.get("block_id") == f"vote_{rid}"
            for e in b["elements"] if e["type"] == "button"] == ["Godkjenn", "Innsigelse…", "Avstå"]


def test_the_home_benchmark_runs_small() -> None:
    """`bench/home_bench.py` at a small size: the view builds, and Slack's checks take it."""
    done = subprocess.run([sys.executable, "-m", "bench.home_bench", "--owed", "20"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]   # 1: the timing target missed on a busy machine
    found = re.search(r"^home view, 20 owed \(sqlite\)\s+[\d.]+ ms, (\d+) blocks, [\d,]+ bytes, accepted", done.stdout,
                      re.M)
    assert found is not None and int(found.group(1)) <= 100, done.stdout


def test_a_home_publish_is_retried_and_one_refused_for_good_tells_no_admin(stack: Stack) -> None:
    before = open_home(stack, LIV)
    stack.slack.fail("views.publish", status=429, retry_after=1)
    rid = stack.file()
    assert stack.slack.home(LIV)["hash"] == before["hash"], "rate limited: the publish waits"
    stack.clock.set(stack.clock.now() + timedelta(seconds=10))
    after = republished(stack, LIV, before)
    assert buttons(after, ids.APPROVE) == [str(rid)]

    stack.slack.fail("views.publish", error="invalid_arguments")
    parent = stack.parent(rid)
    assert stack.people.press_button(BEA, channel=parent.channel, ts=parent.ts, action_id=ids.WITHDRAW).status == 200
    stack.settle()
    assert [i.kind for i in stack.all(OutboxItem, OutboxItem.status == DEAD)] == [HOME]
    assert stack.count(OutboxItem, OutboxItem.kind == ADMIN_ALERT) == 0


def test_a_substitute_named_or_ended_publishes_their_home(stack: Stack) -> None:
    rid = stack.file()
    sue = open_home(stack, SUE)
    assert buttons(sue, ids.APPROVE) == [], "Sue leads Support: its advocate answers"
    away = f"away {stack.people.at(SUE)} until {day(5).isoformat()}"
    assert stack.people.slash_command(SAM, "/cx-review", away).status == 200
    standing_in = republished(stack, SUE, sue)
    assert buttons(standing_in, ids.APPROVE) == [str(rid)]
    assert f"(you answer for <@{SAM}> while they are away)" in text_of(standing_in)
    assert stack.people.slash_command(SAM, "/cx-review", "back").status == 200
    assert buttons(republished(stack, SUE, standing_in), ids.APPROVE) == []


def test_the_chair_exports_the_councils_record_from_home_as_a_zip_by_dm(stack: Stack) -> None:
    import csv
    import io
    import zipfile

    rid = stack.file(title="Invoices get a QR code")
    chair = open_home(stack, "U0CHAIR")
    assert buttons(chair, ids.EXPORT_NOW) == ["default"]
    assert stack.people.press_home_button("U0CHAIR", action_id=ids.EXPORT_NOW).status == 200
    stack.settle()
    (sent,) = stack.slack.wait_for(lambda: [f for f in stack.slack.files if f.name.startswith("cx-record-default-")])
    assert sent.name == f"cx-record-default-{stack.clock.now().date().isoformat()}.zip"
    assert sent.channel == stack.slack.dm_channel("U0CHAIR")
    with zipfile.ZipFile(io.BytesIO(sent.content)) as archive:
        assert sorted(archive.namelist()) == sorted(f"{n}.csv" for n in (
            "requests", "routings", "votes", "objections", "comments", "decisions", "audit"))
        requests = list(csv.DictReader(io.StringIO(archive.read("requests.csv").decode("utf-8-sig"))))
    assert [(int(r["request_id"]), r["title"]) for r in requests] == [(rid, "Invoices get a QR code")]
    # Anyone else (a forged press) is told why not, by DM, and nothing is sent.
    seen = len(stack.slack.dms(LIV))
    assert stack.people.press_home_button(LIV, action_id=ids.EXPORT_NOW, home=chair).status == 200
    stack.settle()
    (refused,) = stack.slack.wait_for(lambda: stack.slack.dms(LIV)[seen:])
    assert refused.text == "Only the council chair and its admins can export the council's record."
    assert len([f for f in stack.slack.files if f.name.startswith("cx-record-")]) == 1
