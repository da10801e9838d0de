"""Vote button presses: stored before the acknowledgement, applied after it, in order, once;
and the one pending update a message has while votes keep coming."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from cxbot.services import outbox
from cxbot.services.outbox import PENDING, enqueue_coalesced, settle_delivered
from cxbot.slack.blocks import ids
from cxbot.store.journal import Waiting
from cxbot.store.models import AuditEvent, OutboxItem, Press, Vote
from tests.conftest import BACKENDS
from tests.harness import CHANNEL, Stack
from tests.test_resilience import big_support


def test_a_waiting_press_is_applied_before_a_later_vote_of_the_same_person(stack: Stack) -> None:
    rid = stack.file()
    stack.runtime.presses.stop()  # presses wait, as they would behind a busy worker
    prompt = stack.prompt(rid)
    pressed = stack.people.press_button("U0LEGAL1", channel=prompt.channel, ts=prompt.ts, action_id=ids.APPROVE)
    assert pressed.status == 200
    assert stack.count(Press) == 1 and stack.count(Vote) == 0, "stored before the acknowledgement, not applied yet"

    # Then the same advocate objects through the form: the approval waiting is applied first.
    assert stack.people.press_button("U0LEGAL1", channel=prompt.channel, ts=prompt.ts,
                                     action_id=ids.OBJECT).status == 200
    stack.slack.wait_for(lambda: stack.slack.open_views("U0LEGAL1"))
    assert stack.people.submit_view("U0LEGAL1", {"note": "Customers are not told."}).status == 200

    assert stack.count(Press) == 0
    history = [(e.kind, e.data.get("vote")) for e in stack.all(
        AuditEvent, AuditEvent.actor == "U0LEGAL1", AuditEvent.kind.in_(["voted", "vote_changed"]),
        order_by=AuditEvent.id)]
    assert history == [("voted", "approve"), ("vote_changed", "object")]
    assert [v.kind.value for v in stack.all(Vote)] == ["object"]


def test_presses_from_many_threads_at_once_are_each_stored_once_in_the_order_each_caller_made_them(
        stack: Stack) -> None:
    """Group commit under contention: callers join a write under way, are woken once theirs
    is stored, and one of those who came meanwhile leads the next write; nobody is left
    waiting and nothing is stored twice or out of a caller's order."""
    rids = [stack.file(), stack.file()]
    stack.runtime.presses.stop()  # presses stay where they were stored
    intake = stack.runtime.services.presses
    callers = [(rid, user) for rid in rids for user in ("U0LEGAL1", "U0LEGAL2", "U0SUP1", "U0LEGALLEAD", "U0SUPLEAD")]
    rounds = 30
    start = threading.Barrier(len(callers))

    def press(caller: tuple[int, str]) -> None:
        start.wait()
        for i in range(rounds):
            intake.receive(actor=caller[1], request_id=caller[0], kind=("approve", "abstain")[i % 2],
                           channel=CHANNEL, thread_ts=str(i))

    threads = [threading.Thread(target=press, args=(c,), daemon=True) for c in callers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a caller was never woken"

    with stack.session() as s:
        stored = Waiting(s).read(select(Press).order_by(Press.id))
    assert len(stored) == len(callers) * rounds
    for rid, user in callers:
        mine = [p for p in stored if (p.request_id, p.user_id) == (rid, user)]
        assert [p.thread_ts for p in mine] == [str(i) for i in range(rounds)]
        assert [p.kind for p in mine] == [("approve", "abstain")[i % 2] for i in range(rounds)]


def test_a_refused_press_is_answered_where_it_was_pressed_and_records_nothing(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    stack.press("U0BILL1", rid, ids.APPROVE)  # the filing department's own advocate
    stack.settle()
    told = stack.slack.ephemerals("U0BILL1")
    assert told and "Your department filed" in told[-1].text
    assert told[-1].channel == stack.prompt(rid).channel
    assert stack.count(Vote) == 0 and stack.count(Press) == 0


def test_a_message_has_one_pending_update_however_many_votes_come(stack: Stack) -> None:
    voters = big_support(stack)
    rid = stack.file()
    stack.runtime.worker.stop()  # nothing is delivered: the updates wait
    for user in voters[:5]:
        stack.press(user, rid, ids.ABSTAIN)
    pending = stack.all(OutboxItem, OutboxItem.kind == "refresh_request", OutboxItem.status == PENDING,
                        OutboxItem.lane == outbox.request_lane(rid))
    assert len(pending) == 1, "asking again raises the revision instead of queuing a twin"
    assert pending[0].revision == 4


def test_a_delivery_of_an_older_revision_leaves_the_update_pending(stack: Stack) -> None:
    rid = stack.file()
    now = stack.clock.now()
    key = f"refresh:{rid}"
    with stack.session() as s:
        enqueue_coalesced(s, lane=outbox.request_lane(rid), kind="refresh_request", payload={"request_id": rid},
                          now=now, coalesce_key=key)
        s.commit()
        item = s.query(OutboxItem).filter_by(coalesce_key=key, status=PENDING).one()
        read = item.revision
        # A vote lands while the update is being delivered.
        enqueue_coalesced(s, lane=outbox.request_lane(rid), kind="refresh_request", payload={"request_id": rid},
                          now=now + timedelta(seconds=1), coalesce_key=key)
        s.commit()
        assert settle_delivered(s, item.id, read, [], now) is False
        s.commit()
        s.refresh(item)
        assert item.status == PENDING and item.revision == read + 1
        assert settle_delivered(s, item.id, item.revision, [], now) is True
        s.commit()
        s.refresh(item)
        assert item.status == outbox.DONE


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_after_the_database_drops_its_connections_votes_and_forms_still_go_through(stack: Stack) -> None:
    """PostgreSQL restarted (or a proxy closed idle connections): the acknowledgement path's
    pool, which does not ping before use, reconnects and sends the statement once more."""
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)          # the quick pool now holds connections
    stack.open_filing_modal("U0BILLLEAD")
    with stack.runtime.engine.connect() as conn:
        dropped = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    assert dropped >= 1

    stack.press("U0SUP1", rid, ids.APPROVE)             # asserts the 200 and waits until applied
    assert {(v.user_id, v.kind.value) for v in stack.all(Vote)} == {("U0LEGAL1", "approve"), ("U0SUP1", "approve")}
    opened = len(stack.slack.calls("views.open"))
    assert stack.people.slash_command("U0BILLLEAD", "/cx-review", "").status == 200
    stack.slack.wait_for(lambda: len(stack.slack.calls("views.open")) > opened)
    assert stack.slack.calls("views.open")[-1].ok


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_press_the_database_refuses_fails_alone_not_the_presses_stored_with_it(stack: Stack) -> None:
    rid = stack.file()
    prompt = stack.prompt(rid)
    odd = "U" + "X" * 40                      # longer than a user id column holds
    stack.slack.add_user(odd, "Odd")
    stack.slack.invite(CHANNEL, odd)          # in the channel, so Slack lets the bot answer them there
    with stack.runtime.engine.connect() as blocker, ThreadPoolExecutor(3) as pool:
        blocker.execute(text("LOCK TABLE presses IN EXCLUSIVE MODE"))   # the next write waits
        first = pool.submit(stack.people.press_button, "U0LEGAL1", channel=prompt.channel, ts=prompt.ts,
                            action_id=ids.APPROVE)
        time.sleep(0.3)                       # its write is waiting: these two queue behind it, as one group
        pressed = [pool.submit(stack.people.press_button, user, channel=prompt.channel, ts=prompt.ts,
                               action_id=ids.APPROVE) for user in (odd, "U0SUP1")]
        time.sleep(0.3)
        blocker.rollback()
        assert first.result().status == 200 and all(f.result().status == 200 for f in pressed)
    stack.applied()
    stack.settle()
    assert {(v.user_id, v.kind.value) for v in stack.all(Vote)} == {("U0LEGAL1", "approve"), ("U0SUP1", "approve")}
    assert not stack.slack.ephemerals("U0SUP1"), "stored with the odd press, and not told anything went wrong"
    assert "nothing was recorded" in stack.slack.ephemerals(odd)[-1].text
