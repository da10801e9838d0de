"""Approval conditions are part of the approval wherever it shows, and open items once approved:
the filing side marks each one met (audited), anyone else is refused, the digest lists the rest."""

from __future__ import annotations

import json
from typing import Any

from cxbot.domain.model import Status
from cxbot.services import digests
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Vote
from tests.harness import CHANNEL, Stack, iso_week, local

CONDITION = "only if the T&Cs page is updated first <!channel> <https://evil.example|click>"
ESCAPED = "only if the T&amp;Cs page is updated first &lt;!channel&gt; &lt;https://evil.example|click&gt;"


def texts(message: Any) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def buttons(message: Any, action_id: str) -> list[dict[str, Any]]:
    found = []
    for block in message.blocks:
        elements = list(block.get("elements") or []) if block["type"] == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        found += [e for e in elements if e.get("action_id") == action_id]
    return found


def approve_with_condition(stack: Stack, user: str, rid: int, condition: str) -> None:
    prompt = stack.prompt(rid)
    stack.people.choose_overflow(user, channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_APPROVE_NOTE}:{rid}")
    stack.slack.wait_for(lambda: stack.slack.open_views(user))
    result = stack.people.submit_view(user, {"note": condition})
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()


def filer_dm(stack: Stack, rid: int) -> Any:
    from cxbot.store.models import SlackMessage

    (row,) = stack.all(SlackMessage, SlackMessage.request_id == rid, SlackMessage.role == "dm:U0BILLLEAD")
    return stack.slack.message(row.channel, row.ts)


def mark_met(stack: Stack, user: str, message: Any, vote_id: int) -> None:
    result = stack.people.press_button(user, channel=message.channel, ts=message.ts, action_id=ids.CONDITION_MET,
                                       value=f"{stack_request_of(message)}:{vote_id}")
    assert result.status == 200, result.body
    stack.settle()


def stale_press(stack: Stack, user: str, message: Any, rid: int, vote_id: int) -> None:
    """A press of a "Mark met" button the message no longer (or not yet) shows, as a client
    holding an older copy of it would send."""
    result = stack.people._block_action(user, message, {  # noqa: SLF001
        "type": "button", "action_id": ids.CONDITION_MET, "block_id": f"condition_{vote_id}",
        "value": f"{rid}:{vote_id}"})
    assert result.status == 200, result.body
    stack.settle()


def stack_request_of(message: Any) -> int:
    return int(buttons(message, ids.CONDITION_MET)[0]["value"].split(":")[0])


def test_a_condition_shows_with_the_approval_everywhere_and_the_filer_marks_it_met(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    approve_with_condition(stack, "U0LEGAL1", rid, CONDITION)
    (vote,) = stack.all(Vote)

    # Under review: the request message shows the condition with the approval, escaped, no button yet.
    parent = stack.parent(rid)
    assert "Approvals with conditions" in texts(parent) and ESCAPED in texts(parent)
    assert "<!channel>" not in texts(parent) and "<https://evil.example" not in texts(parent)
    assert buttons(parent, ids.CONDITION_MET) == []
    status = stack.people.slash_command("U0SUP1", "/cx-review", f"status {rid}").json()
    assert ESCAPED in json.dumps(status["blocks"], ensure_ascii=False)

    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.settle()
    assert stack.request(rid).status is Status.APPROVED

    # Approved: an open item with its button, in the request message and the filer's DM.
    parent = stack.parent(rid)
    assert "Approved with conditions* · 1 of 1 open" in texts(parent) and ESCAPED in texts(parent)
    assert [b["value"] for b in buttons(parent, ids.CONDITION_MET)] == [f"{rid}:{vote.id}"]
    dm = filer_dm(stack, rid)
    assert ESCAPED in texts(dm) and buttons(dm, ids.CONDITION_MET)
    outcome = [m for m in stack.slack.dms("U0BILLLEAD")   # the receipt, kept current, is not the outcome DM
               if "was approved" in texts(m) and not m.text.startswith("Your CX review")]
    assert len(outcome) == 1 and "comes with conditions" in texts(outcome[0]) and ESCAPED in texts(outcome[0])
    thread = stack.slack.thread(CHANNEL, parent.ts)
    approved_note = next(m for m in thread if "*Approved.*" in m.text)
    assert "Conditions of the approval" in approved_note.text and ESCAPED in approved_note.text
    assert "<!channel>" not in approved_note.text

    # Anyone but the filing side is refused, ephemerally, and nothing changes.
    for someone in ("U0LEGAL1", "U0SUPLEAD", "U0BILL1", "U0OUTSIDER"):
        mark_met(stack, someone, parent, vote.id)
        refusal = stack.slack.ephemerals(someone)[-1].text
        assert "Only the person who filed this request, a lead of the department that filed it, or the " \
               "council chair can mark its conditions met." == refusal, refusal
    assert stack.all(Vote, Vote.id == vote.id)[0].condition_met_at is None
    assert stack.count(AuditEvent, AuditEvent.kind == "condition_met") == 0

    # The filer marks it met from their DM: stored, audited, announced, and the button goes.
    mark_met(stack, "U0BILLLEAD", dm, vote.id)
    (met,) = stack.all(Vote, Vote.id == vote.id)
    assert met.condition_met_at == stack.clock.now() and met.condition_met_by == "U0BILLLEAD"
    (event,) = stack.all(AuditEvent, AuditEvent.kind == "condition_met")
    assert (event.actor, event.data["vote_id"], event.data["condition"], event.data["still_open"]) == (
        "U0BILLLEAD", vote.id, CONDITION, 0)
    parent = stack.parent(rid)
    assert "Approved with conditions* · all met" in texts(parent) and "marked by <@U0BILLLEAD>" in texts(parent)
    assert buttons(parent, ids.CONDITION_MET) == [] and buttons(filer_dm(stack, rid), ids.CONDITION_MET) == []
    note = stack.slack.thread(CHANNEL, parent.ts)[-1].text
    assert note.startswith("☑️ <@U0BILLLEAD> marked a condition of <@U0LEGAL1> (Legal) met:")
    assert "Every condition of the approval is met." in note and "<!channel>" not in note

    # A second press (from a copy of the message not updated yet) records nothing more.
    stale_press(stack, "U0BILLLEAD", dm, rid, vote.id)
    assert stack.count(AuditEvent, AuditEvent.kind == "condition_met") == 1


def test_the_chair_and_a_lead_of_the_filing_department_may_mark_conditions_met(stack: Stack) -> None:
    rid = stack.file("U0BILL1")                      # filed by Billing's advocate; Billing's lead is not the filer
    approve_with_condition(stack, "U0LEGAL1", rid, "Legal reviews the letter")
    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.settle()
    assert stack.request(rid).status is Status.APPROVED
    (vote,) = [v for v in stack.all(Vote) if v.note]

    parent = stack.parent(rid)
    mark_met(stack, "U0BILLLEAD", parent, vote.id)   # a current lead of the filing department
    assert stack.all(Vote, Vote.id == vote.id)[0].condition_met_by == "U0BILLLEAD"

    rid2 = stack.file("U0BILLLEAD")
    approve_with_condition(stack, "U0LEGAL2", rid2, "Support gets a macro")
    stack.press("U0SUP1", rid2, ids.APPROVE)
    stack.settle()
    (vote2,) = [v for v in stack.all(Vote, Vote.request_id == rid2) if v.note]
    mark_met(stack, "U0CHAIR", stack.parent(rid2), vote2.id)
    assert stack.all(Vote, Vote.id == vote2.id)[0].condition_met_by == "U0CHAIR"


def test_conditions_are_open_items_only_once_approved(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    approve_with_condition(stack, "U0LEGAL1", rid, "Publish the FAQ first")
    (vote,) = stack.all(Vote)
    # A crafted press before approval is refused: the condition is not an open item yet.
    stale_press(stack, "U0BILLLEAD", stack.parent(rid), rid, vote.id)
    assert "once the request is approved" in stack.slack.ephemerals("U0BILLLEAD")[-1].text
    assert stack.all(Vote, Vote.id == vote.id)[0].condition_met_at is None
    # Changing the approval into a plain one drops the condition from the request message.
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.settle()
    assert "Publish the FAQ first" not in texts(stack.parent(rid))


def test_the_digest_lists_approvals_with_unmet_conditions_and_their_age(stack: Stack) -> None:
    from cxbot.reports.render import render_html, render_text

    rid = stack.file("U0BILLLEAD")
    approve_with_condition(stack, "U0LEGAL1", rid, "<b>Refund</b> page & FAQ first")
    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.settle()
    approved_at = stack.request(rid).decided_at
    assert approved_at is not None

    stack.clock.set(local(7, 9))                     # the Monday after: last week's digest goes to the chair
    assert digests.send(stack.runtime.services.uow(), week=iso_week(0), clock=stack.clock)
    stack.settle()
    chair_dm = [m for m in stack.slack.dms("U0CHAIR") if "digest" in m.text.lower()][-1]
    blocks = texts(chair_dm)
    assert "Approved with conditions still open" in blocks
    assert f"*#{rid}*" in blocks and "&lt;b&gt;Refund&lt;/b&gt; page &amp; FAQ first" in blocks
    assert "<b>" not in blocks
    digest = digests.digest(stack.runtime.services.uow(), week=iso_week(0), clock=stack.clock)
    (item,) = digest.unmet_conditions
    assert item.request_id == rid and item.age_hours == round((local(7, 0) - approved_at).total_seconds() / 3600, 1)
    assert [(c.user, c.department, c.met) for c in item.conditions] == [("U0LEGAL1", "Legal", False)]
    (decided,) = digest.decided
    assert [c.text for c in decided.conditions] == ["<b>Refund</b> page & FAQ first"]
    html = [f for f in stack.slack.files if f.name.endswith(".html")][-1].content.decode()
    assert html.count("&lt;b&gt;Refund&lt;/b&gt; page &amp; FAQ first") == 2, "with the decision, and as open"
    assert "<b>Refund</b>" not in html and "<b>Refund</b>" not in render_html(digest)
    assert "Approved with conditions still open (1)" in render_text(digest)

    # Met this week: gone from next week's list, and shown as met with this week's decision.
    mark_met(stack, "U0BILLLEAD", stack.parent(rid), stack.all(Vote, Vote.note != "")[0].id)
    assert digests.digest(stack.runtime.services.uow(), week=iso_week(1), clock=stack.clock).unmet_conditions == ()
    later = digests.digest(stack.runtime.services.uow(), week=iso_week(0), clock=stack.clock)
    assert len(later.unmet_conditions) == 1, "as at the end of its week, the condition was still open"
