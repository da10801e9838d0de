"""Across silos at filing: a new request is shown the open (or lately decided) requests of other
departments that touch the same stages and share its words, in its thread, its request message
and its filer's DM; and two requests under review touching a stage with decision dates within
two weeks are told of each other, in both threads, once. An unrelated filing hears of neither."""

from __future__ import annotations

import json

from cxbot.services.related import significant
from cxbot.store.models import AuditEvent, ReviewRequest
from tests.harness import CHANNEL, Stack, day
from tests.test_lifecycle import texts


def _thread(stack: Stack, rid: int) -> str:
    return "\n".join(texts(m) for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts))


def test_significant_words_leave_out_the_small_and_the_common() -> None:
    assert significant("The new Invoice layout for customers: invoices get a QR code, 2027") == [
        "invoice", "layout", "invoices", "code"]


def test_a_filing_is_shown_related_requests_of_other_departments(stack: Stack) -> None:
    support = stack.file("U0SUPLEAD", title="Invoice questions go to a new support queue",
                         summary="Customers asking about their invoice layout reach the billing queue.",
                         stages=["Pay", "Get help"], decision_by=day(40).isoformat())
    own = stack.file("U0BILLLEAD", title="Invoice reminders by SMS", summary="Reminders for unpaid invoices.",
                     stages=["Pay"], decision_by=day(45).isoformat())
    unrelated_stage = stack.file("U0LEGALLEAD", title="Invoice layout for contracts",
                                 summary="The invoice layout of contract documents changes.", stages=["Buy"],
                                 decision_by=day(60).isoformat())
    rid = stack.file("U0BILLLEAD", title="New invoice layout", summary="The invoice layout changes: totals first.",
                     stages=["Pay"], decision_by=day(70).isoformat())
    assert stack.request(rid).related == [support]      # not Billing's own, not one touching another stage
    assert own not in stack.request(rid).related and unrelated_stage not in stack.request(rid).related
    assert "Other departments are changing something close to this:" in _thread(stack, rid)
    assert f"#{support}" in _thread(stack, rid) and "Support, Open" in _thread(stack, rid)
    parent = json.dumps(stack.parent(rid).blocks)
    assert "Related:" in parent and "Support, Open" in parent
    filer_dm = [m for m in stack.slack.dms("U0BILLLEAD") if f"#{rid}" in texts(m) and "Related:" in texts(m)]
    assert filer_dm


def test_an_unrelated_filing_hears_of_neither(stack: Stack) -> None:
    stack.file("U0SUPLEAD", title="Chat opens at seven", summary="Chat support opens earlier in the morning.",
               stages=["Get help"], decision_by=day(30).isoformat())
    rid = stack.file("U0BILLLEAD", title="Card fees", summary="A fee for paying by credit card.", stages=["Pay"],
                     decision_by=day(60).isoformat())
    assert stack.request(rid).related == []
    assert stack.count(AuditEvent, AuditEvent.kind.in_(["related_found", "clash_noted"])) == 0
    assert "Related:" not in json.dumps(stack.parent(rid).blocks)


def test_two_requests_due_close_together_on_one_stage_are_told_of_each_other_once(stack: Stack) -> None:
    first = stack.file("U0SUPLEAD", title="Refunds by phone only", summary="Refunds move to the phone line.",
                       stages=["Pay", "Leave"], decision_by=day(20).isoformat())
    second = stack.file("U0BILLLEAD", title="Card fees", summary="A fee for paying by credit card.", stages=["Pay"],
                        decision_by=day(28).isoformat())
    far = stack.file("U0LEGALLEAD", title="Terms renewal", summary="New renewal terms.", stages=["Pay"],
                     decision_by=day(60).isoformat())
    for rid, other in ((first, second), (second, first)):
        assert "Possible clash:" in _thread(stack, rid) and f"#{other}" in _thread(stack, rid)
    assert "Possible clash:" not in _thread(stack, far)
    noted = [(e.request_id, e.data["other"]) for e in stack.all(AuditEvent, AuditEvent.kind == "clash_noted")]
    assert sorted(noted) == sorted([(second, first), (first, second)])
    assert stack.count(ReviewRequest) == 3
