"""The core loop over real HTTP: /cx-review → modal → routing → thread votes → outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cxbot.domain.model import Status, VoteKind
from cxbot.sandbox.modal_state import view_state_values
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Comment, OutboxItem, ReviewRequest, Routing, SlackMessage, Vote
from tests.harness import CHANNEL, START, Stack, filing_values, running_stack


def texts(message) -> str:  # type: ignore[no-untyped-def]
    """All the text a person reads in a message: its blocks' text, joined."""
    import json

    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def action_ids(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_help_and_unknown_subcommands_answer_with_usage(stack: Stack) -> None:
    result = stack.people.slash_command("U0BILLLEAD", "/cx-review", "help")
    assert result.status == 200
    assert "/cx-review" in result.json()["text"] and "Approve" in result.json()["text"]
    # Typed "@channel": Slack sends <!channel>, which the bot must not repeat as a ping.
    unknown = stack.people.slash_command("U0BILLLEAD", "/cx-review", "@channel frobnicate")
    assert unknown.json()["text"].startswith("I don't know `&lt;!channel&gt;`")
    assert stack.slack.calls("views.open") == []


def test_outsider_is_told_whom_to_ask(stack: Stack) -> None:
    result = stack.people.slash_command("U0OUTSIDER", "/cx-review", "")
    assert result.status == 200 and not result.body, "acknowledged at once, the answer follows"
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0OUTSIDER"))
    assert "<@U0CHAIR>" in told[-1].text, told[-1].text
    assert stack.slack.calls("response_url"), "answered through the response_url"
    assert stack.slack.calls("views.open") == []


def test_before_a_council_is_loaded_cx_review_says_what_an_operator_must_do(database_url: str, engine: Any) -> None:
    with running_stack(database_url, engine, council=False) as bare:
        assert bare.people.slash_command("U0BILLLEAD", "/cx-review", "").status == 200
        told = bare.slack.wait_for(lambda: bare.slack.ephemerals("U0BILLLEAD"))
        assert "cxbot council load" in told[-1].text, told[-1].text
        assert bare.slack.open_views("U0BILLLEAD") == [] and not bare.slack.problems


def test_modal_offers_the_filers_own_department_preselected(stack: Stack) -> None:
    view = stack.open_filing_modal("U0LEGALLEAD")
    dept = next(b for b in view["blocks"] if b.get("block_id") == "department")
    assert [o["value"] for o in dept["element"]["options"]] == ["legal"]
    assert dept["element"]["initial_option"]["value"] == "legal"
    stages = next(b for b in view["blocks"] if b.get("block_id") == "stages")
    assert [o["value"] for o in stages["element"]["options"]][:3] == ["Discover", "Buy", "Onboard"]


@pytest.mark.parametrize("fields, block, words", [
    ({"title": "   "}, "title", "title"),
    ({"title": "x" * 151}, "title", "150"),
    ({"summary": "x" * 3001}, "summary", "3000"),
    ({"decision_by": (START.date() - timedelta(days=1)).isoformat()}, "decision_by", "past"),
    ({"link": "ftp://files.example.com"}, "link", "https://"),
])
def test_bad_input_is_answered_on_the_field_and_stores_nothing(
        stack: Stack, fields: dict[str, str], block: str, words: str) -> None:
    view = stack.open_filing_modal("U0BILLLEAD")
    # Crafted payloads: Slack's own client would stop some of these, the server must too.
    result = stack.people.submit_view_raw("U0BILLLEAD", view, _state_of(view, filing_values(**fields)))
    assert result.status == 200
    body = result.json()
    assert body["response_action"] == "errors"
    assert words in body["errors"][block]
    assert stack.count(ReviewRequest) == 0 and stack.count(OutboxItem) == 0
    assert stack.slack.open_views("U0BILLLEAD"), "the modal stays open for a fix"


def test_a_refused_submission_without_fields_to_mark_is_answered_in_the_apps_dm(stack: Stack) -> None:
    """Slack would refuse an ephemeral with a user id for channel: the answer goes to the app's DM."""
    view = stack.open_filing_modal("U0BILLLEAD")
    bare = dict(view, blocks=[b for b in view["blocks"] if b["type"] != "input"])
    result = stack.people.submit_view_raw("U0BILLLEAD", bare, {})
    assert result.status == 200 and not result.body
    told = stack.slack.wait_for(lambda: stack.slack.dms("U0BILLLEAD"))
    assert "Give the change a title." in told[-1].text, told[-1].text
    assert stack.count(ReviewRequest) == 0
    assert [c.error for c in stack.slack.calls("chat.postEphemeral")] == []


def test_a_department_the_filer_may_not_file_for_is_refused(stack: Stack) -> None:
    view = stack.open_filing_modal("U0BILLLEAD")
    values = filing_values()
    state = {}
    for block in view["blocks"]:
        if block["type"] == "input":
            state[block["block_id"]] = {"value": {"type": block["element"]["type"]}}
    state["title"]["value"]["value"] = values["title"]
    state["summary"]["value"]["value"] = values["summary"]
    state["department"]["value"]["selected_option"] = {"text": {"type": "plain_text", "text": "Legal"},
                                                       "value": "legal"}
    state["stages"]["value"]["selected_options"] = [{"text": {"type": "plain_text", "text": "Pay"}, "value": "Pay"}]
    state["impact"]["value"]["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": "neutral"}
    state["magnitude"]["value"]["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": "minor"}
    state["decision_by"]["value"]["selected_date"] = values["decision_by"]
    result = stack.people.submit_view_raw("U0BILLLEAD", view, state)
    assert result.json()["errors"] == {"department": "You can file only for a department you lead or advocate for."}
    assert stack.count(ReviewRequest) == 0


def test_filing_routes_posts_and_dms(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD", title="<!channel> urgent & <https://evil.example|click>")
    request = stack.request(rid)
    assert request.status is Status.OPEN and request.filer == "U0BILLLEAD"
    with stack.session() as s:
        routed = [r.department.key for r in s.query(Routing).filter_by(request_id=rid).order_by(Routing.position)]
    assert routed == ["legal", "support"]

    parent = stack.parent(rid)
    assert parent.channel == CHANNEL and parent.thread_ts is None
    body = texts(parent)
    assert "&lt;!channel&gt; urgent &amp; &lt;https://evil.example|click&gt;" in body
    assert parent.mentions == ["<@U0BILLLEAD>"]
    assert parent.links == ["<https://wiki.example.com/fees|https://wiki.example.com/fees>"]
    assert "waiting for *Legal*, *Support*" in body
    assert "Pay, Leave" in body and "Negative" in body and "Major" in body

    prompt = stack.prompt(rid)
    assert prompt.thread_ts == parent.ts
    assert set(prompt.mentions) == {"<@U0LEGAL1>", "<@U0LEGAL2>", "<@U0SUP1>"}
    actions = [e["action_id"] for b in prompt.blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == [ids.APPROVE, ids.OBJECT, ids.ABSTAIN, ids.MORE]

    dm = stack.slack.dms("U0BILLLEAD")[-1]
    assert "Legal, Support" in texts(dm) and "archives" in texts(dm)
    kinds = [e.kind for e in stack.all(AuditEvent, AuditEvent.request_id == rid, order_by=AuditEvent.id)]
    assert kinds == ["filed", "routed"]
    rows = {m.role: m for m in stack.all(SlackMessage, SlackMessage.request_id == rid)}
    assert rows["parent"].ts == parent.ts and rows["prompt"].ts == prompt.ts


def test_double_submitted_modal_files_once(stack: Stack) -> None:
    view = stack.open_filing_modal("U0BILLLEAD")
    first = stack.people.submit_view("U0BILLLEAD", filing_values(), view_id=view["id"])
    assert first.status == 200
    # Slack sends the same view again when a person clicks twice before the modal closes.
    second = stack.people.submit_view_raw("U0BILLLEAD", view, _state_of(view, filing_values()))
    assert second.status == 200
    assert stack.count(ReviewRequest) == 1


def _state_of(view, values):  # type: ignore[no-untyped-def]
    """The state Slack sends for `view` filled in with `values`."""
    return view_state_values(view, values, submitting=False)   # crafted: what Slack's client would refuse too


def test_full_loop_votes_objection_outcome(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")

    # The filer and the filing department's own advocate are refused; nothing is recorded.
    stack.press("U0BILLLEAD", rid, ids.APPROVE)
    stack.press("U0BILL1", rid, ids.APPROVE)
    stack.press("U0OUTSIDER", rid, ids.APPROVE)
    stack.settle()
    assert stack.count(Vote) == 0
    refusals = {e.visible_to: e.text for e in stack.slack.ephemerals()}
    assert "you can't vote" in refusals["U0BILLLEAD"]
    assert "Your department filed" in refusals["U0BILL1"]
    assert "Only council advocates" in refusals["U0OUTSIDER"]

    # Legal approves: Support is still outstanding.
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.settle()
    parent = stack.parent(rid)
    assert "approved by <@U0LEGAL1>" in texts(parent)
    assert "waiting for *Support*" in texts(parent)
    assert stack.request(rid).status is Status.OPEN

    # Support objects with a reason (a modal); the reason is posted in the thread, attributed.
    stack.vote_with_note("U0SUP1", rid, ids.OBJECT, "Customers <!here> will flood us with tickets")
    stack.settle()
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    thread = stack.slack.thread(CHANNEL, stack.parent(rid).ts)
    objection = next(m for m in thread if "objects" in m.text)
    assert "<@U0SUP1> (Support) raises a blocking objection" in texts(objection)
    assert "&lt;!here&gt; will flood us" in texts(objection) and set(objection.mentions) == {"<@U0SUP1>"}
    assert any("Changes requested" in m.text for m in thread)
    assert "changes requested" in texts(stack.slack.dms("U0BILLLEAD")[-1]).lower()

    # Support changes its mind: approval by every routed department, no standing objection.
    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.settle()
    request = stack.request(rid)
    assert request.status is Status.APPROVED and request.decided_at is not None
    parent = stack.parent(rid)
    assert "✅ *Approved*" in texts(parent)
    assert all(b["type"] != "actions" for b in stack.prompt(rid).blocks), "voting closes"
    thread = stack.slack.thread(CHANNEL, parent.ts)
    assert "Approved." in thread[-1].text
    assert "approved" in texts(stack.slack.dms("U0BILLLEAD")[-1])

    history = [(e.kind, e.actor) for e in stack.all(AuditEvent, AuditEvent.request_id == rid, order_by=AuditEvent.id)]
    assert history == [("filed", "U0BILLLEAD"), ("routed", "cxbot"), ("voted", "U0LEGAL1"), ("voted", "U0SUP1"),
                       ("status_changed", "cxbot"), ("vote_changed", "U0SUP1"), ("decided", "cxbot")]

    # Voting is closed: the buttons are gone.
    with pytest.raises(LookupError):
        stack.people.press_button("U0LEGAL2", channel=CHANNEL, ts=stack.prompt(rid).ts, action_id=ids.APPROVE)


def test_double_click_records_one_vote_event(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    assert stack.count(AuditEvent, AuditEvent.kind.in_(["voted", "vote_changed"])) == 1


def test_change_and_retract_keep_history(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.press("U0LEGAL1", rid, ids.ABSTAIN)
    prompt = stack.prompt(rid)
    stack.people.choose_overflow("U0LEGAL1", channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_RETRACT}:{rid}")
    stack.settle()
    vote = stack.all(Vote)[0]
    assert vote.retracted is True and vote.kind is VoteKind.ABSTAIN
    kinds = [e.kind for e in stack.all(AuditEvent, AuditEvent.actor == "U0LEGAL1", order_by=AuditEvent.id)]
    assert kinds == ["voted", "vote_changed", "vote_retracted"]
    # A second retract changes nothing: the vote stays retracted.
    stack.people.choose_overflow("U0LEGAL1", channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_RETRACT}:{rid}")
    assert stack.count(AuditEvent, AuditEvent.kind == "vote_retracted") == 1
    assert "outstanding" in texts(stack.parent(rid)) or "waiting for *Legal*" in texts(stack.parent(rid))


def test_approve_with_a_condition(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    prompt = stack.prompt(rid)
    stack.people.choose_overflow("U0LEGAL1", channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_APPROVE_NOTE}:{rid}")
    stack.slack.wait_for(lambda: stack.slack.open_views("U0LEGAL1"))
    stack.people.submit_view("U0LEGAL1", {"note": "only with a help-centre article"})
    vote = stack.all(Vote)[0]
    assert vote.kind is VoteKind.APPROVE and vote.note == "only with a help-centre article"


def test_objection_needs_a_reason(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0SUP1", rid, ids.OBJECT)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0SUP1"))
    result = stack.people.submit_view("U0SUP1", {"note": "   "})
    assert result.json()["response_action"] == "errors" and "why you object" in result.json()["errors"]["note"]
    assert stack.count(Vote) == 0


def test_object_button_refused_before_the_modal_opens(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0BILL1", rid, ids.OBJECT)
    stack.settle()
    assert stack.slack.open_views("U0BILL1") == []
    assert "Your department filed" in stack.slack.ephemerals("U0BILL1")[-1].text


def test_withdraw_closes_voting_and_only_the_filer_may(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0LEGAL1", rid, ids.WITHDRAW, where="parent")
    stack.settle()
    assert stack.request(rid).status is Status.OPEN
    assert "Only the person who filed" in stack.slack.ephemerals("U0LEGAL1")[-1].text

    dm = stack.slack.dms("U0BILLLEAD")[-1]
    result = stack.people.press_button("U0BILLLEAD", channel=dm.channel, ts=dm.ts, action_id=ids.WITHDRAW)
    assert result.status == 200
    stack.settle()
    assert stack.request(rid).status is Status.WITHDRAWN
    assert any("withdrew this request" in m.text for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts))
    assert all(b["type"] != "actions" for b in stack.prompt(rid).blocks)
    assert action_ids(stack.slack.message(dm.channel, dm.ts)) == [ids.REOPEN, ids.REVISE]
    assert action_ids(stack.parent(rid)) == [ids.REOPEN, ids.REVISE, ids.VIEW_RECORD]

    # A stale button press after withdrawal records nothing.
    assert stack.count(Vote) == 0


def test_thread_replies_become_comments_once(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    parent = stack.parent(rid)
    result = stack.people.post_in_thread("U0SUP1", channel=CHANNEL, thread_ts=parent.ts, text="What about refunds?")
    assert result.status == 200
    envelope = stack.people.last_event
    retry = stack.people.send_event(envelope, retry_num=1)
    assert retry.status == 200
    comments = stack.all(Comment)
    assert [(c.request_id, c.user_id, c.text) for c in comments] == [(rid, "U0SUP1", "What about refunds?")]
    # Other channels, top-level messages and outsiders are not comments.
    elsewhere = stack.slack.record_user_message("U0LEGAL1", "C0GENERAL", "lunch?")
    stack.people.post_in_thread("U0SUP1", channel="C0GENERAL", thread_ts=elsewhere.ts, text="elsewhere")
    stack.people.post_message("U0SUP1", channel=CHANNEL, text="top-level chatter")
    stack.people.post_in_thread("U0OUTSIDER", channel=CHANNEL, thread_ts=parent.ts, text="drive-by")
    assert stack.count(Comment) == 1
