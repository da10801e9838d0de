"""Who an escalation reaches: the "leads" step goes to the leads of the departments that still
owe an answer, the filing department's leads get a copy worded as one, the chair comes next."""

from __future__ import annotations

import json

from cxbot.domain.model import Status
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Escalation
from tests.harness import CHANNEL, COUNCIL_FILE, Stack, local


def texts(message) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def dms(stack: Stack, user: str, rid: int) -> list:  # type: ignore[type-arg]
    return [m for m in stack.slack.dms(user) if f"#{rid}" in texts(m)]


def escalation_dms(stack: Stack, user: str, rid: int) -> list:  # type: ignore[type-arg]
    return [m for m in dms(stack, user, rid) if "escalated" in m.text]


def thread_texts(stack: Stack, rid: int) -> list[str]:
    return [m.text for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts)]


def test_the_leads_step_reaches_the_leads_of_the_departments_that_owe_the_answer(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0LEGAL1", rid, ids.APPROVE)          # Legal answered; Support owes its answer
    report = stack.sweep(local(10, 9))                 # the deadline has passed
    assert report.escalations == 1 and stack.request(rid).status is Status.ESCALATED

    told = escalation_dms(stack, "U0SUPLEAD", rid)
    assert len(told) == 1 and told[0].text == f"CX review #{rid} is escalated to you"
    assert "still owes its answer (*Support*)" in texts(told[0])
    assert "Support still outstanding" in texts(told[0])

    copy = escalation_dms(stack, "U0BILLLEAD", rid)
    assert len(copy) == 1 and copy[0].text.startswith("For your information")
    assert "is escalated to you" not in texts(copy[0]) and "Please help" not in texts(copy[0])
    assert "filed by your department" in texts(copy[0]) and "leads of *Support*" in texts(copy[0])
    assert escalation_dms(stack, "U0LEGALLEAD", rid) == [], "Legal answered: its lead is not chased"
    assert escalation_dms(stack, "U0CHAIR", rid) == [], "the chair is the next step, not this one"

    (row,) = stack.all(Escalation)
    assert (row.step, row.target, row.recipients) == (1, "leads", ["U0SUPLEAD"])
    event = stack.all(AuditEvent, AuditEvent.kind == "escalated")[-1]
    assert event.data["departments"] == ["support"] and event.data["copies"] == ["U0BILLLEAD"]
    assert thread_texts(stack, rid)[-1].startswith(
        "⏫ Escalated to the leads of *Support* (Billing's leads have a copy): the deadline passed")

    stack.sweep(local(14, 9))                          # two working days later: the chair decides
    chair = escalation_dms(stack, "U0CHAIR", rid)
    assert len(chair) == 1 and "is escalated to you" in chair[0].text
    assert [(e.step, e.target) for e in stack.all(Escalation, order_by=Escalation.step)] == [
        (1, "leads"), (2, "chair")]


def test_a_standing_blocking_objection_escalates_to_the_objecting_departments_leads(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.vote_with_note("U0SUP1", rid, ids.OBJECT, "Refunds are not covered")
    stack.settle()
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    report = stack.sweep(local(7, 11))                 # the objection has stood five working days
    assert report.escalations == 1
    assert len(escalation_dms(stack, "U0SUPLEAD", rid)) == 1
    assert escalation_dms(stack, "U0BILLLEAD", rid)[0].text.startswith("For your information")
    assert escalation_dms(stack, "U0LEGALLEAD", rid) == []
    assert stack.all(Escalation)[0].recipients == ["U0SUPLEAD"]


def test_without_leads_in_the_owing_departments_the_step_passes_to_the_chair(stack: Stack) -> None:
    stack.load_council(COUNCIL_FILE.read_text().replace('leads = ["U0SUPLEAD"]', "leads = []"))
    rid = stack.file("U0BILLLEAD")
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.sweep(local(10, 9))
    assert [(e.step, e.target, e.recipients) for e in stack.all(Escalation)] == [(2, "chair", ["U0CHAIR"])]
    assert escalation_dms(stack, "U0BILLLEAD", rid) == [] and escalation_dms(stack, "U0LEGALLEAD", rid) == []
    assert len(escalation_dms(stack, "U0CHAIR", rid)) == 1
