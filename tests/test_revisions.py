"""A withdrawn request refiled as its revision links both ways: "Revises #1" on the new one,
"Revised by #2" on the old one, like a re-requested review."""

from __future__ import annotations

import json
from typing import Any

from cxbot.domain.model import Status
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, ReviewRequest, SlackMessage
from tests.harness import CHANNEL, Stack


def texts(message: Any) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def action_ids(message: Any) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def filer_dm(stack: Stack, rid: int, filer: str = "U0BILLLEAD") -> Any:
    (row,) = stack.all(SlackMessage, SlackMessage.request_id == rid, SlackMessage.role == f"dm:{filer}")
    return stack.slack.message(row.channel, row.ts)


def press(stack: Stack, user: str, message: Any, action_id: str) -> None:
    result = stack.people.press_button(user, channel=message.channel, ts=message.ts, action_id=action_id)
    assert result.status == 200, result.body
    stack.settle()


def crafted_press(stack: Stack, user: str, message: Any, action_id: str, rid: int) -> None:
    """A press of a button the message no longer shows, as a client holding an older copy sends it."""
    result = stack.people._block_action(user, message, {  # noqa: SLF001
        "type": "button", "action_id": action_id, "block_id": "request_actions", "value": str(rid)})
    assert result.status == 200, result.body
    stack.settle()


def withdrawn(stack: Stack) -> int:
    rid = stack.file("U0BILLLEAD", title="Paper invoices go")
    press(stack, "U0BILLLEAD", filer_dm(stack, rid), ids.WITHDRAW)
    assert stack.request(rid).status is Status.WITHDRAWN
    return rid


def test_a_revision_of_a_withdrawn_request_links_both_ways(stack: Stack) -> None:
    old = withdrawn(stack)
    assert action_ids(stack.parent(old)) == [ids.REOPEN, ids.REVISE, ids.VIEW_RECORD]
    assert action_ids(filer_dm(stack, old)) == [ids.REOPEN, ids.REVISE]

    press(stack, "U0BILLLEAD", filer_dm(stack, old), ids.REVISE)
    form = stack.slack.wait_for(lambda: stack.slack.open_views("U0BILLLEAD"))[-1]
    assert form["callback_id"] == ids.REVISE_VIEW and form["title"]["text"] == f"Revise #{old}"
    title = next(b for b in form["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Paper invoices go"
    result = stack.people.submit_view("U0BILLLEAD", {"title": "Paper invoices go, kept for customers without e-mail"})
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()

    (new,) = [r.id for r in stack.all(ReviewRequest) if r.id != old]
    assert stack.request(new).revises_id == old and stack.request(new).status is Status.OPEN
    old_parent, new_parent = stack.parent(old), stack.parent(new)
    old_link = stack.all(SlackMessage, SlackMessage.request_id == old, SlackMessage.role == "parent")[0].permalink
    new_link = stack.all(SlackMessage, SlackMessage.request_id == new, SlackMessage.role == "parent")[0].permalink
    assert old_link and new_link
    assert f"🔁 Revises <{old_link}|#{old}> Paper invoices go" in texts(new_parent)
    assert f"🔁 Revised by <{new_link}|#{new}> Paper invoices go, kept for customers" in texts(old_parent)
    assert f"Revises <{old_link}|#{old}>" in texts(filer_dm(stack, new))
    assert f"Revised by <{new_link}|#{new}>" in texts(filer_dm(stack, old))
    assert action_ids(old_parent) == [ids.VIEW_RECORD] and action_ids(filer_dm(stack, old)) == [], \
        "the revision is under review now: the old one is neither reopened nor revised again"
    note = stack.slack.thread(CHANNEL, old_parent.ts)[-1].text
    assert note.startswith(f"🔁 <@U0BILLLEAD> filed a revision of this request: *CX review #{new}*")
    (event,) = stack.all(AuditEvent, AuditEvent.kind == "revised")
    assert (event.request_id, event.actor, event.data["revised_by"]) == (old, "U0BILLLEAD", new)
    filed = stack.all(AuditEvent, AuditEvent.kind == "filed", AuditEvent.request_id == new)[0]
    assert filed.data["revises"] == old

    # From an older copy of the message: no second revision, and no reopening.
    crafted_press(stack, "U0BILLLEAD", old_parent, ids.REVISE, old)
    assert f"revised already: CX review #{new}" in stack.slack.ephemerals("U0BILLLEAD")[-1].text
    crafted_press(stack, "U0BILLLEAD", old_parent, ids.REOPEN, old)
    assert f"revised by CX review #{new}" in stack.slack.ephemerals("U0BILLLEAD")[-1].text
    assert stack.request(old).status is Status.WITHDRAWN and stack.count(ReviewRequest) == 2


def test_only_the_filer_revises_and_only_a_withdrawn_request(stack: Stack) -> None:
    old = withdrawn(stack)
    press(stack, "U0LEGAL1", stack.parent(old), ids.REVISE)
    assert "Only the person who filed this request can file a revision" in stack.slack.ephemerals("U0LEGAL1")[-1].text
    assert stack.slack.open_views("U0LEGAL1") == []

    rid = stack.file("U0BILLLEAD")
    crafted_press(stack, "U0BILLLEAD", stack.parent(rid), ids.REVISE, rid)
    assert "Only a withdrawn request can be revised" in stack.slack.ephemerals("U0BILLLEAD")[-1].text
    assert stack.count(ReviewRequest) == 2 and stack.all(ReviewRequest, ReviewRequest.revises_id.is_not(None)) == []
