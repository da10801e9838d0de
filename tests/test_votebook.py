"""The press worker's memory of each request's votes (cxbot.services.votebook): a round
takes it only while no vote of the request has changed since, whoever changed it, and
reads again what changed."""

from __future__ import annotations

from cxbot.domain.model import Status
from cxbot.services.votebook import VoteBook
from cxbot.slack.blocks import ids
from cxbot.store.models import Vote
from tests.harness import Stack


def book_of(stack: Stack) -> VoteBook:
    return stack.runtime.presses.book


def revision(stack: Stack, rid: int) -> int:
    return stack.request(rid).votes_revision


def votes_in_database(stack: Stack, rid: int) -> dict[str, tuple[str, bool]]:
    return {v.user_id: (v.kind.value, v.retracted) for v in stack.all(Vote, Vote.request_id == rid)}


def retract(stack: Stack, user: str, rid: int) -> None:
    prompt = stack.prompt(rid)
    result = stack.people.choose_overflow(user, channel=prompt.channel, ts=prompt.ts, action_id=ids.MORE,
                                          option_value=f"{ids.MORE_RETRACT}:{rid}")
    assert result.status == 200
    stack.settle()


def test_every_change_to_a_vote_raises_its_requests_revision_and_nothing_else_does(stack: Stack) -> None:
    rid = stack.file()
    other = stack.file(title="A second change")
    assert revision(stack, rid) == 0

    stack.press("U0LEGAL1", rid, ids.APPROVE)                   # a round of presses
    first = revision(stack, rid)
    assert first > 0 and revision(stack, other) == 0

    stack.press("U0LEGAL1", rid, ids.APPROVE)                   # the same vote again changes nothing
    assert revision(stack, rid) == first

    stack.press("U0BILL1", rid, ids.APPROVE)                    # refused: the filing department's advocate
    assert revision(stack, rid) == first

    stack.vote_with_note("U0SUP1", rid, ids.OBJECT, "Customers are not told.")  # a vote with a note
    second = revision(stack, rid)
    assert second > first

    retract(stack, "U0SUP1", rid)                               # retracting
    assert revision(stack, rid) > second
    assert revision(stack, other) == 0


def test_a_round_counts_a_vote_cast_elsewhere_since_the_last_round(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    book = book_of(stack)
    page = book.page(stack.request(rid))
    assert page is not None and set(page) == {"U0LEGAL1"}, "the round kept the request's votes"

    # An objection through the form is not a round: the page no longer stands for the votes.
    stack.vote_with_note("U0SUP1", rid, ids.OBJECT, "Customers are not told.")
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    assert book.page(stack.request(rid)) is None

    # The next round reads the votes again: the objection still stands (counted from the old
    # page, Legal's two approvals would leave the request open).
    stack.press("U0LEGAL2", rid, ids.APPROVE)
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    page = book.page(stack.request(rid))
    assert page is not None
    assert {u: (v.kind.value, v.retracted) for u, v in page.items()} == votes_in_database(stack, rid)

    # A round after that takes the votes nobody pressed on from the page, as they were.
    objection = page["U0SUP1"]
    stack.press("U0LEGAL1", rid, ids.ABSTAIN)
    page = book.page(stack.request(rid))
    assert page is not None and page["U0SUP1"] is objection
    assert {u: (v.kind.value, v.retracted) for u, v in page.items()} == votes_in_database(stack, rid)
    assert votes_in_database(stack, rid)["U0LEGAL1"] == ("abstain", False)

    # Retracting the objection (a round) opens the request again: Support owes an answer.
    retract(stack, "U0SUP1", rid)
    assert stack.request(rid).status is Status.OPEN
    assert votes_in_database(stack, rid)["U0SUP1"] == ("object", True)
