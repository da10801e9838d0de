"""Amendments that change what the review is about (magnitude, stages): routing is worked out
again, and the answers given under the old terms count only once their authors confirm
them ("Still approve" in a DM), so an amendment never settles a request by itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cxbot.domain.model import Status
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Routing, Vote
from tests.harness import CHANNEL, COUNCIL_FILE, Stack
from tests.test_lifecycle import dms_to, object_, press_in, texts

MAJOR_TWO = COUNCIL_FILE.read_text() + """
[policies.major]
approvals = 2

[policies.minor]
approvals = 1
"""

MARKETING = COUNCIL_FILE.read_text().replace('advocates = ["U0SUP1"]', '''advocates = ["U0SUP1"]

[[departments]]
key = "marketing"
name = "Marketing"
advocates = ["U0MKT1"]''') + """
[[routing]]
remove = ["marketing"]

[[routing]]
stages = ["Discover"]
add = ["marketing"]
"""


def amend(stack: Stack, request_id: int, values: dict[str, Any], user: str = "U0BILLLEAD") -> None:
    press_in(stack, user, stack.parent(request_id), ids.AMEND)
    stack.slack.wait_for(lambda: stack.slack.open_views(user))
    result = stack.people.submit_view(user, values)
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()


def thread_text(stack: Stack, request_id: int) -> str:
    return "\n".join(texts(m) for m in stack.slack.thread(CHANNEL, stack.parent(request_id).ts))


def kinds(stack: Stack, request_id: int) -> list[str]:
    return [e.kind for e in stack.all(AuditEvent, AuditEvent.request_id == request_id, order_by=AuditEvent.id)]


def routed(stack: Stack, request_id: int) -> list[str]:
    with stack.session() as s:
        return [r.department.key for r in s.scalars(select(Routing).where(Routing.request_id == request_id)
                                                     .order_by(Routing.position))]


def test_lowering_the_magnitude_does_not_approve_until_the_approvers_confirm(stack: Stack) -> None:
    stack.load_council(MAJOR_TWO)
    rid = stack.file(magnitude="major")
    stack.press("U0LEGAL1", rid, ids.APPROVE)           # Legal needs two approvals for a major change
    stack.press("U0SUP1", rid, ids.APPROVE)             # Support has one advocate: one is enough
    assert stack.request(rid).status is Status.OPEN

    amend(stack, rid, {"magnitude": "minor"})
    assert stack.request(rid).status is Status.OPEN, "the filer's amendment alone settles nothing"
    assert [v.retracted for v in stack.all(Vote, order_by=Vote.id)] == [True, True]
    assert kinds(stack, rid)[-2:] == ["amended", "approvals_set_aside"]
    assert "no longer count until they confirm them" in thread_text(stack, rid)

    [dm] = dms_to(stack, "U0LEGAL1", "Still approve")
    assert "Magnitude: Major → Minor" in texts(dm)
    assert dms_to(stack, "U0SUP1", "Still approve")
    press_in(stack, "U0LEGAL1", dm, ids.STILL_APPROVE)
    assert "counts again" in stack.slack.ephemerals("U0LEGAL1")[-1].text
    assert stack.request(rid).status is Status.OPEN      # Support has not confirmed yet
    press_in(stack, "U0LEGAL1", dm, ids.STILL_APPROVE)   # twice: nothing more
    assert "already counts" in stack.slack.ephemerals("U0LEGAL1")[-1].text

    press_in(stack, "U0SUP1", dms_to(stack, "U0SUP1", "Still approve")[0], ids.STILL_APPROVE)
    assert stack.request(rid).status is Status.APPROVED
    assert kinds(stack, rid).count("approval_confirmed") == 2

    # The button is a vote like any other: refused once the request is decided.
    press_in(stack, "U0LEGAL1", dm, ids.STILL_APPROVE)
    assert "it takes no more votes" in stack.slack.ephemerals("U0LEGAL1")[-1].text


def test_a_standing_objection_stays_and_text_only_amendments_keep_approvals(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    object_(stack, "U0SUP1", rid, "Refunds are not covered")
    amend(stack, rid, {"summary": "Refunds are pro rata."})
    assert [v.retracted for v in stack.all(Vote, order_by=Vote.id)] == [False, False]
    amend(stack, rid, {"magnitude": "minor"})
    votes = {v.user_id: v.retracted for v in stack.all(Vote)}
    assert votes == {"U0LEGAL1": True, "U0SUP1": False}     # the blocking objection still asks for changes
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    assert dms_to(stack, "U0SUP1", "Still approve") == []


def test_amending_the_stages_routes_and_releases_departments(stack: Stack) -> None:
    stack.slack.add_user("U0MKT1", "mia", real_name="Mia (Marketing)")
    stack.slack.invite(CHANNEL, "U0MKT1")
    stack.load_council(MARKETING)
    rid = stack.file(stages=["Pay", "Leave"])
    assert routed(stack, rid) == ["legal", "support"]
    stack.press("U0MKT1", rid, ids.APPROVE)
    stack.settle()
    assert "Your department was not asked" in stack.slack.ephemerals("U0MKT1")[-1].text

    amend(stack, rid, {"stages": ["Pay", "Leave", "Discover"]})
    assert routed(stack, rid) == ["legal", "support", "marketing"]
    assert "rerouted" in kinds(stack, rid)
    assert "*Marketing* is now asked" in thread_text(stack, rid)
    assert "<@U0MKT1>" in stack.prompt(rid).mentions
    stack.press("U0MKT1", rid, ids.APPROVE)
    assert [v.user_id for v in stack.all(Vote)] == ["U0MKT1"]

    stack.press("U0LEGAL1", rid, ids.APPROVE)
    amend(stack, rid, {"stages": ["Pay", "Leave"]})
    assert routed(stack, rid) == ["legal", "support"]
    assert "*Marketing* is released" in thread_text(stack, rid)
    assert "<@U0MKT1>" not in stack.prompt(rid).mentions
    assert dms_to(stack, "U0MKT1", "Still approve") == []   # a released department has nothing to confirm
    assert stack.count(Routing) == 2


def test_a_concern_set_aside_by_an_amendment_says_so_and_one_withdrawn_says_that(stack: Stack) -> None:
    stack.load_council(MAJOR_TWO)
    rid = stack.file(magnitude="major")                 # Legal's answer keeps it open
    object_(stack, "U0LEGAL1", rid, "The terms need a lawyer", blocking=False)
    stack.people.choose_overflow("U0LEGAL1", channel=CHANNEL, ts=stack.prompt(rid).ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_RETRACT}:{rid}")   # withdrawn by its author
    stack.settle()
    object_(stack, "U0SUP1", rid, "Refunds are not covered", blocking=False)
    amend(stack, rid, {"magnitude": "minor"})            # Support's concern is set aside by the terms
    assert stack.request(rid).status is Status.OPEN

    def note_of(text: str) -> str:
        [note] = [m for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts) if text in texts(m)]
        return texts(note)

    support, legal = note_of("Refunds are not covered"), note_of("The terms need a lawyer")
    assert "Set aside when the request was amended" in support and "<@U0SUP1> objects again" in support
    assert "Withdrawn by its author" not in support
    assert "Withdrawn by its author" in legal and "Set aside" not in legal
