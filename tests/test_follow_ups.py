"""Follow-up: did it happen? The filer says when an approved change went live; the council's
`follow_up_days` later, on a working day, the filer is asked whether the impact came as
predicted and each objector whether their concern came true; unanswered, they are asked once
more; an answer replaces an earlier one (both audited); only the person asked may answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxbot.domain.errors import NotAllowed
from cxbot.domain.model import Status
from cxbot.services import followups
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, FollowUp
from tests.harness import CHANNEL, Stack, day, local
from tests.test_lifecycle import action_ids, object_, objection_note, press_in, texts
from tests.test_moments import WITH_MOMENTS

BEA = "U0BILLLEAD"


def _approved_with_an_objection(stack: Stack) -> int:
    stack.load_council(WITH_MOMENTS)              # the change touches the first invoice, which Support owns
    rid = stack.file(moments=["first-invoice"])
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    object_(stack, "U0SUP1", rid, "Customers will call us about the fee")
    press_in(stack, "U0SUP1", objection_note(stack, rid), ids.RESOLVE)
    assert stack.request(rid).status is Status.APPROVED
    return rid


def _button(stack: Stack, user: str, action_id: str):  # type: ignore[no-untyped-def]
    return stack.slack.wait_for(lambda: [m for m in stack.slack.dms(user) if action_id in action_ids(m)])[-1]


def _go_live(stack: Stack, rid: int, on: str) -> None:
    press_in(stack, BEA, _button(stack, BEA, ids.GO_LIVE), ids.GO_LIVE)
    stack.slack.wait_for(lambda: stack.slack.open_views(BEA))
    result = stack.people.submit_view(BEA, {"go_live": on})
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()


def test_the_filer_and_the_objector_are_asked_on_the_right_working_day(stack: Stack) -> None:
    rid = _approved_with_an_objection(stack)
    outcome = _button(stack, BEA, ids.GO_LIVE)
    assert "30 days later" in texts(outcome)
    _go_live(stack, rid, day(3).isoformat())                 # Thursday of the first week
    assert stack.request(rid).go_live == day(3)
    asked = {(f.user_id, f.role) for f in stack.all(FollowUp)}
    assert asked == {(BEA, "filer"), ("U0SUP1", "objector")}
    # 30 days after Thursday is a Saturday: the questions go out on Monday morning, Oslo time.
    due = stack.all(FollowUp)[0].due_at
    assert due.astimezone(local(0, 9).tzinfo).date() == day(35) and due == local(35, 9)

    stack.clock.set(local(33, 12))
    assert stack.runtime.send_due_follow_ups() == 0
    stack.clock.set(local(35, 9, 5))
    assert stack.runtime.send_due_follow_ups() == 2
    stack.settle()
    filer_dm = _button(stack, BEA, f"{ids.FOLLOW_UP}worse")
    assert "Did its impact on customers come as you predicted?" in texts(filer_dm)
    assert action_ids(filer_dm) == [f"{ids.FOLLOW_UP}as_predicted", f"{ids.FOLLOW_UP}better", f"{ids.FOLLOW_UP}worse"]
    objector_dm = _button(stack, "U0SUP1", f"{ids.FOLLOW_UP}came_true")
    assert "did your concern come true?" in texts(objector_dm) and "Customers will call us" in texts(objector_dm)
    assert stack.runtime.send_due_follow_ups() == 0           # asked once

    # The filer answers "worse", then thinks better of it: the second answer replaces the first.
    for answer, note in (("worse", "Twice the calls we expected"), ("as_predicted", "Calls settled in week two")):
        press_in(stack, BEA, filer_dm, f"{ids.FOLLOW_UP}{answer}")
        stack.slack.wait_for(lambda: stack.slack.open_views(BEA))
        result = stack.people.submit_view(BEA, {"note": note, "measured": "40 calls a week"})
        assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
        stack.settle()
    mine = stack.all(FollowUp, FollowUp.user_id == BEA)[0]
    assert (mine.answer, mine.note, mine.measured, mine.next_at) == ("as_predicted", "Calls settled in week two",
                                                                     "40 calls a week", None)
    answers = [(e.data["answer"], e.data["previous"]) for e in stack.all(
        AuditEvent, AuditEvent.kind == "follow_up_answered", order_by=AuditEvent.id)]
    assert answers == [("worse", None), ("as_predicted", "worse")]
    # "Worse" reopened the conversation in the thread, once, mentioning the moment's owner (Support's lead).
    notes = [m for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts) if "turned out worse" in texts(m)]
    assert len(notes) == 1
    assert "Twice the calls we expected" in texts(notes[0]) and "<@U0SUPLEAD>" in texts(notes[0])
    assert "Measured: 40 calls a week" in texts(notes[0])

    # Unanswered for five working days, the objector is asked once more; then no more.
    stack.clock.set(local(42, 16))
    assert stack.runtime.send_due_follow_ups() == 0
    stack.clock.set(local(43, 9))
    assert stack.runtime.send_due_follow_ups() == 1
    stack.settle()
    assert "Asking once more" in texts(stack.slack.dms("U0SUP1")[-1])
    stack.clock.set(local(60, 10))
    assert stack.runtime.send_due_follow_ups() == 0
    # Still unanswered: the chair's Home says whose answer it waits on.
    from tests.test_home import open_home, text_of

    chair = text_of(open_home(stack, "U0CHAIR"))
    assert "Follow-ups asked twice, still unanswered" in chair and "<@U0SUP1>" in chair and f"#{rid}" in chair


def test_only_the_person_asked_may_answer(stack: Stack) -> None:
    rid = _approved_with_an_objection(stack)
    _go_live(stack, rid, day(3).isoformat())
    stack.clock.set(local(35, 9, 5))
    stack.runtime.send_due_follow_ups()
    stack.settle()
    filer_follow_up = stack.all(FollowUp, FollowUp.user_id == BEA)[0].id
    objector_dm = _button(stack, "U0SUP1", f"{ids.FOLLOW_UP}did_not")
    # The objector's own button, carrying the filer's follow-up: refused, nothing opens, nothing stored.
    result = stack.people.press_button("U0SUP1", channel=objector_dm.channel, ts=objector_dm.ts,
                                       action_id=f"{ids.FOLLOW_UP}did_not", value=str(filer_follow_up))
    assert result.status == 200
    stack.settle()
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0SUP1"))
    assert "only they can answer it" in told[-1].text
    assert stack.slack.open_views("U0SUP1") == []
    assert stack.all(FollowUp, FollowUp.id == filer_follow_up)[0].answer is None


def test_only_the_filing_side_says_when_it_went_live_and_only_once_approved(stack: Stack) -> None:
    rid = _approved_with_an_objection(stack)
    uow, clock = stack.runtime.services.uow, stack.clock
    with pytest.raises(NotAllowed):
        followups.set_go_live(uow(), actor="U0LEGAL1", request_id=rid, go_live=day(3), clock=clock)
    followups.set_go_live(uow(), actor="U0CHAIR", request_id=rid, go_live=day(3), clock=clock)
    moved = followups.set_go_live(uow(), actor=BEA, request_id=rid, go_live=day(10), clock=clock)
    assert moved - stack.all(FollowUp)[0].due_at == timedelta(0) and moved.date() >= day(40)
    assert stack.count(FollowUp) == 2                           # moved, not doubled


def test_a_concern_that_came_true_is_on_the_chairs_home(stack: Stack) -> None:
    from tests.test_home import open_home, text_of

    rid = _approved_with_an_objection(stack)
    _go_live(stack, rid, day(3).isoformat())
    stack.clock.set(local(35, 9, 5))
    stack.runtime.send_due_follow_ups()
    stack.settle()
    assert "Turned out worse" not in text_of(open_home(stack, "U0CHAIR"))
    press_in(stack, "U0SUP1", _button(stack, "U0SUP1", f"{ids.FOLLOW_UP}came_true"), f"{ids.FOLLOW_UP}came_true")
    stack.slack.wait_for(lambda: stack.slack.open_views("U0SUP1"))
    assert stack.people.submit_view("U0SUP1", {"note": "The calls doubled."}).status == 200
    stack.settle()
    home = text_of(open_home(stack, "U0CHAIR"))
    assert "Turned out worse than predicted (last 30 days)" in home and f"#{rid}" in home and "<@U0SUP1>" in home
    assert "came true" in "\n".join(texts(m) for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts))


def test_an_unanswered_follow_up_is_chased_in_the_daily_reminder_like_a_vote(stack: Stack) -> None:
    rid = _approved_with_an_objection(stack)
    _go_live(stack, rid, day(3).isoformat())
    stack.clock.set(local(35, 9, 5))
    assert stack.runtime.send_due_follow_ups() == 2
    stack.settle()
    stack.clock.set(local(35, 10))
    owed = stack.file(decision_by=day(45).isoformat())   # Support owes a vote on it: Sam's daily reminder comes
    stack.sweep(local(36, 9, 30))
    daily = stack.slack.wait_for(lambda: [m for m in stack.slack.dms("U0SUP1")
                                          if "Still waiting for your follow-up" in texts(m)])[-1]
    assert f"#{rid}" in texts(daily) and f"#{owed}" in texts(daily)
    assert f"{ids.FOLLOW_UP}came_true" in action_ids(daily) and ids.APPROVE in action_ids(daily)
    press_in(stack, "U0SUP1", daily, f"{ids.FOLLOW_UP}did_not")
    stack.slack.wait_for(lambda: stack.slack.open_views("U0SUP1"))
    assert stack.people.submit_view("U0SUP1", {"note": "It went fine."}).status == 200
    stack.settle()
    updated = stack.slack.message(daily.channel, daily.ts)        # the same DM, brought up to date
    assert "Still waiting for your follow-up" not in texts(updated) and ids.APPROVE in action_ids(updated)
    assert stack.all(FollowUp, FollowUp.user_id == "U0SUP1")[0].answer == "did_not"
