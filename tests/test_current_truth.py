"""Every message tells the current truth: what people read in Slack, in their DMs and in the
digest agrees with the record now, in one vocabulary, with times each reader sees in their
own zone."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime

from cxbot.domain.model import Status
from cxbot.reports.render import render_html, render_slack, render_text
from cxbot.sandbox.demo import run_demo, stale_messages
from cxbot.services import digests
from cxbot.slack.blocks import ids
from cxbot.slack.text import local_time
from cxbot.store.models import Escalation, ReviewRequest
from tests.harness import CHANNEL, Stack, local


def texts(message) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def action_ids(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def token(at: datetime) -> str:
    """Slack's date token for a moment, with the council's local time as the fallback."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{local_time(at, 'Europe/Oslo')}>"


def filer_dm(stack: Stack, user: str = "U0BILLLEAD"):  # type: ignore[no-untyped-def]
    return next(m for m in stack.slack.dms(user) if "Asked to review" in texts(m))


def labels(view: dict) -> list[str]:  # type: ignore[type-arg]
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def test_optional_fields_are_marked_optional_once(stack: Stack) -> None:
    """Slack writes "(optional)" after an optional input's label itself."""
    rid = stack.file()
    prompt = stack.prompt(rid)
    stack.press("U0LEGAL1", rid, ids.OBJECT)
    stack.people.choose_overflow("U0LEGAL2", channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_APPROVE_NOTE}:{rid}")
    stack.people.choose_overflow("U0SUP1", channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_ABSTAIN_NOTE}:{rid}")
    views = {u: stack.slack.wait_for(lambda u=u: stack.slack.open_views(u))[-1]
             for u in ("U0LEGAL1", "U0LEGAL2", "U0SUP1")}
    assert labels(views["U0LEGAL1"]) == ["Your reason", "Severity", "What would resolve it"]
    assert labels(views["U0LEGAL2"]) == ["Condition"]
    assert labels(views["U0SUP1"]) == ["Note"]
    for view in views.values():
        optional = [b for b in view["blocks"] if b["type"] == "input" and b.get("optional")]
        assert optional and all("optional" not in b["label"]["text"].lower() for b in optional)


def test_the_filers_dm_is_updated_when_the_request_is_decided(stack: Stack) -> None:
    rid = stack.file()
    dm = filer_dm(stack)
    assert "Your change is with the council." in texts(dm) and "answers due" in texts(dm)
    assert action_ids(dm) == [ids.AMEND, ids.WITHDRAW]
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.settle()
    assert not stack.slack.message(dm.channel, dm.ts).edits, \
        "a vote that leaves the state as it was costs no update of the receipt (chat.update is rate limited)"
    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.settle()
    assert stack.request(rid).status is Status.APPROVED
    now = stack.slack.message(dm.channel, dm.ts)
    assert now.edits, "the receipt was updated in place (chat.update), not left behind"
    shown = texts(now)
    assert "Your change was approved." in shown and "*Approved*" in shown
    assert "with the council" not in shown and "due" not in shown
    assert action_ids(now) == [], "nothing left to amend or withdraw"


def test_the_filers_dm_follows_a_withdrawal_and_offers_reopen(stack: Stack) -> None:
    rid = stack.file()
    dm = filer_dm(stack)
    result = stack.people.press_button("U0BILLLEAD", channel=dm.channel, ts=dm.ts, action_id=ids.WITHDRAW)
    assert result.status == 200
    stack.settle()
    assert stack.request(rid).status is Status.WITHDRAWN
    now = stack.slack.message(dm.channel, dm.ts)
    assert "You withdrew this change." in texts(now) and "with the council" not in texts(now)
    assert action_ids(now) == [ids.REOPEN, ids.REVISE]


def test_reminders_after_the_deadline_say_who_has_the_request_now(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    due = stack.request(rid).due_at
    stack.sweep(local(9, 10))                               # before the deadline: a plain reminder
    before = [m for m in stack.slack.dms("U0SUP1") if "still outstanding" in texts(m)][-1]
    assert f"Answers are due {token(due)}" in texts(before)

    stack.sweep(local(10, 10))                              # the deadline passed: the first step
    after = [m for m in stack.slack.dms("U0SUP1") if "still outstanding" in texts(m)][-1]
    first = stack.all(Escalation, order_by=Escalation.step)[-1]
    shown = texts(after)
    assert "Overdue" in after.text
    assert "It is due" not in shown and "are due" not in shown
    assert f"Answers were due {token(due)}" in shown and f"answers were due {token(due)}" in shown
    assert f"escalated {token(first.at)} to " in shown
    assert all(f"<@{u}>" in shown for u in first.recipients)

    stack.sweep(local(14, 10))                              # two working days on: the chair
    assert stack.all(Escalation, order_by=Escalation.step)[-1].target == "chair"
    last = [m for m in stack.slack.dms("U0SUP1") if "still outstanding" in texts(m)][-1]
    assert "It is with the council chair (<@U0CHAIR>), who can decide it now" in texts(last)
    assert action_ids(last)[:3] == [ids.APPROVE, ids.OBJECT, ids.ABSTAIN], "an answer still counts"


def test_times_show_in_each_readers_zone_and_each_deadline_says_what_it_is(stack: Stack) -> None:
    rid = stack.file()
    request = stack.request(rid)
    parent, prompt, dm = stack.parent(rid), stack.prompt(rid), filer_dm(stack)
    for message in (parent, prompt, dm):
        assert token(request.due_at) in texts(message)
        # Outside Slack's date tokens, no time of day is written in anybody's zone.
        assert not re.search(r"\d\d:\d\d", re.sub(r"<!date\^[^>]*>", "", json.dumps(message.blocks)))
    shown = texts(parent)
    assert "*Filer needs a decision by*" in shown and "Decision needed by" not in shown
    assert f"answers due {token(request.due_at)}" in shown
    assert token(request.created_at) in shown
    # The plain-text fallbacks carry no markup a notification would show raw.
    assert all("<!date" not in m.text for m in (parent, prompt, dm))


def test_why_these_departments_reads_as_one_sentence(stack: Stack) -> None:
    rid = stack.file()
    why = next(e["text"] for b in stack.prompt(rid).blocks if b["type"] == "context" for e in b["elements"]
               if "Why" in e["text"])
    assert why == "Why these departments: *Legal* and *Support* (every other department reviews each change)"
    assert why.count(":") == 1


def test_one_vocabulary_of_states_in_slack_and_in_the_digest(stack: Stack) -> None:
    rid = stack.file()
    assert "🟡 *Open*" in texts(stack.parent(rid))
    stack.clock.set(local(0, 11))
    digest = digests.digest(stack.runtime.services.uow(), week=None, clock=stack.clock)
    assert [w.request_id for w in digest.waiting] == [rid]
    text, html = render_text(digest), render_html(digest)
    slack = json.dumps(render_slack(digest)[1], ensure_ascii=False)
    assert re.search(rf"#{rid}\s+Open\s+due", text)
    assert "— Billing, Open, due" in slack
    assert ">Open</span>" in html
    for rendering in (text, html, slack):
        assert "under review" not in rendering.lower()


def test_the_digest_counts_each_objection_once_and_a_withdrawn_requests_objection_as_withdrawn(
        stack: Stack) -> None:
    rid = stack.file(stages=["Pay", "Leave"])              # one request, two stages
    stack.press("U0SUP1", rid, ids.OBJECT)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0SUP1"))
    stack.people.submit_view("U0SUP1", {"note": "Customers will call us about the fee."})
    stack.settle()
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    dm = filer_dm(stack)
    stack.people.press_button("U0BILLLEAD", channel=dm.channel, ts=dm.ts, action_id=ids.WITHDRAW)
    stack.settle()
    assert stack.request(rid).status is Status.WITHDRAWN

    digest = digests.digest(stack.runtime.services.uow(), week=None, clock=stack.clock)
    assert [s.stage for s in digest.objections_by_stage] == ["Pay", "Leave"]
    assert digest.objection_count == 1
    assert {o.resolution for s in digest.objections_by_stage for o in s.objections} == {"withdrawn"}
    assert {o.resolution for x in digest.decided for o in x.objections} == {"withdrawn"}

    _, blocks = render_slack(digest)
    slack = json.dumps(blocks, ensure_ascii=False)
    assert "*Objections by lifecycle stage* · 1 objection, on requests touching 2 stages" in slack
    assert "2 objections" not in slack and "standing" not in slack.lower()
    text = render_text(digest)
    assert "Objections by lifecycle stage (1 objection" in text and "standing" not in text
    html = render_html(digest)
    assert "Objections (1)" in html and "2 objections" not in html
    assert 'class="pill pill-standing"' not in html and 'class="pill pill-withdrawn">Withdrawn' in html


def test_stale_messages_are_found_by_the_demos_check(stack: Stack) -> None:
    """The demo's final check compares what Slack shows with what the record says now."""
    rid = stack.file()
    assert stale_messages(stack.runtime, stack.slack) == []
    with stack.session() as s:                              # the record moves on, no update is sent
        row = s.get(ReviewRequest, rid)
        assert row is not None
        row.status, row.decided_at = Status.APPROVED, stack.clock.now()
        s.commit()
    stale = stale_messages(stack.runtime, stack.slack)
    assert len(stale) == 3 and all("'Approved'" in line for line in stale)


def test_the_demo_shows_and_checks_the_final_messages() -> None:
    out = io.StringIO()
    assert run_demo(out=out) == 0, out.getvalue()
    shown = out.getvalue()
    assert "the story ran as expected" in shown
    assert "*Legal*: @legal-advocates" in shown, "Legal's advocates are asked through their user group"
    # The last thing shown of the revised request's parent message is its decision.
    edits = [e for e in shown.split("\n  [") if e.startswith("#cx-council] cxbot (edit of")
             and "# Invoices go PDF-only, paper kept" in e]
    assert edits and "✅ *Approved*" in edits[-1] and "🟡 *Open*" not in edits[-1]
