"""The journal of presses beside a SQLite database (cxbot.store.journal): a press is stored
there while the database's write lock is held elsewhere, is applied once even when its
deletion after the round is lost, survives a lost journal without being taken for applied,
and presses an earlier cxbot left in the database's own table are not forgotten."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from cxbot.services import rounds
from cxbot.slack.blocks import ids
from cxbot.store.journal import SUFFIX, close_journal, journal_of
from cxbot.store.models import AuditEvent, Press, Vote
from tests.harness import Stack

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def database_path(stack: Stack) -> Path:
    return Path(str(stack.runtime.engine.url.database))


def votes_of(stack: Stack) -> list[tuple[str, str]]:
    return sorted((v.user_id, v.kind.value) for v in stack.all(Vote, Vote.retracted.is_(False)))


def journal_rows(stack: Stack) -> list[tuple[int, int, str, str]]:
    journal = journal_of(stack.runtime.engine)
    assert journal is not None
    with journal.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Press.id, Press.request_id, Press.user_id, Press.kind)
                                                .order_by(Press.id))]


def test_a_press_is_stored_and_acknowledged_while_the_database_is_locked_for_writing(stack: Stack) -> None:
    rid = stack.file()
    prompt = stack.prompt(rid)
    holder = sqlite3.connect(database_path(stack), timeout=0)
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")  # another process's long write: the round has to wait for it
    try:
        # Answered while the lock is held (a write to the database would wait until after the ROLLBACK below).
        pressed = stack.people.press_button("U0LEGAL1", channel=prompt.channel, ts=prompt.ts, action_id=ids.APPROVE)
        assert pressed.status == 200
        assert journal_rows(stack) == [(1, rid, "U0LEGAL1", "approve")], "stored before the acknowledgement"
        stack.runtime.presses.kick()
        time.sleep(0.3)
        with stack.runtime.readers() as s:
            assert s.scalar(select(func.count()).select_from(Vote)) == 0, "not applied while the database is locked"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    stack.applied()
    assert votes_of(stack) == [("U0LEGAL1", "approve")]
    assert stack.request(rid).applied_press_id == 1
    assert journal_rows(stack) == []


def test_a_press_waits_for_another_writer_of_the_journal_and_is_stored_whole(stack: Stack) -> None:
    """Presses are stored in one statement that queues on SQLite's busy timeout behind
    another process writing the journal (the jobs worker deleting applied presses)."""
    rid = stack.file()
    prompt = stack.prompt(rid)
    holder = sqlite3.connect(f"{database_path(stack)}{SUFFIX}", timeout=0, check_same_thread=False)
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")
    released = []

    def release() -> None:
        time.sleep(0.3)
        released.append(time.monotonic())
        holder.execute("ROLLBACK")

    thread = threading.Thread(target=release)
    thread.start()
    try:
        pressed = stack.people.press_button("U0LEGAL1", channel=prompt.channel, ts=prompt.ts, action_id=ids.APPROVE)
        answered = time.monotonic()
    finally:
        thread.join()
        holder.close()
    assert pressed.status == 200 and released and answered >= released[0], "acknowledged once stored"
    with journal_of(stack.runtime.engine).connect() as conn:  # type: ignore[union-attr]
        row = conn.execute(select(Press)).one()
    assert (row.request_id, row.user_id, row.kind, row.channel, row.thread_ts, row.attempts) == (
        rid, "U0LEGAL1", "approve", prompt.channel, prompt.thread_ts, 0)
    assert row.received_at == stack.clock.now()
    stack.applied()
    assert votes_of(stack) == [("U0LEGAL1", "approve")]
    assert journal_rows(stack) == []


def test_a_press_on_no_request_is_refused_and_not_stored(stack: Stack) -> None:
    rid = stack.file()
    prompt = stack.prompt(rid)
    pressed = stack.people.press_button("U0LEGAL1", channel=prompt.channel, ts=prompt.ts, action_id=ids.APPROVE,
                                        value=str(rid + 100))
    assert pressed.status == 200
    stack.slack.wait_for(lambda: stack.slack.ephemerals("U0LEGAL1"))
    assert f"There is no CX review #{rid + 100}" in stack.slack.ephemerals("U0LEGAL1")[-1].text
    assert journal_rows(stack) == [] and stack.count(Vote) == 0


def test_a_press_applied_whose_deletion_was_lost_is_not_applied_again(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    mark = stack.request(rid).applied_press_id
    events = stack.count(AuditEvent)
    # As if the process died between the round's commit and the journal's deletion: the row is
    # back, with the id it had (and, to tell, another kind).
    journal = journal_of(stack.runtime.engine)
    assert journal is not None
    with journal.begin() as conn:
        conn.execute(insert(Press.__table__).values(id=mark, request_id=rid, user_id="U0LEGAL1", kind="abstain",
                                                    channel="C", thread_ts=None, received_at=stack.clock.now(),
                                                    attempts=0))
    stack.applied()
    assert journal_rows(stack) == [], "deleted by the next round"
    assert votes_of(stack) == [("U0LEGAL1", "approve")]
    assert stack.count(AuditEvent) == events


def test_after_the_journal_is_lost_new_presses_are_not_taken_for_applied(stack: Stack) -> None:
    rid = stack.file()
    for action in (ids.APPROVE, ids.ABSTAIN, ids.APPROVE):
        stack.press("U0LEGAL1", rid, action)
    mark = stack.request(rid).applied_press_id
    assert mark == 3
    close_journal(stack.runtime.engine)
    for leftover in database_path(stack).parent.glob(f"*{SUFFIX}*"):
        if not leftover.name.endswith(".lock") and not leftover.name.endswith(".urgent"):
            leftover.unlink()
    stack.press("U0LEGAL1", rid, ids.ABSTAIN)  # the journal opens again, empty, its ids above every mark
    assert stack.request(rid).applied_press_id > mark
    assert votes_of(stack) == [("U0LEGAL1", "abstain")]


OLD_PRESSES = [("U0LEGAL1", "approve"), ("U0SUP1", "approve"), ("U0LEGAL1", "abstain")]


def store_in_the_database_table(stack: Stack, rid: int) -> list[int]:
    """Presses as a cxbot from before the journal stored them; their ids."""
    with stack.runtime.engine.begin() as conn:
        conn.execute(insert(Press.__table__), [
            {"request_id": rid, "user_id": user, "kind": kind, "channel": "C", "thread_ts": None,
             "received_at": stack.clock.now() + timedelta(seconds=i), "attempts": 0}
            for i, (user, kind) in enumerate(OLD_PRESSES)])
        return list(conn.scalars(select(Press.id).order_by(Press.id)))


def left_in_the_database_table(stack: Stack) -> int:
    with stack.runtime.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Press)) or 0


def test_presses_left_in_the_database_table_move_to_the_journal_and_are_applied_in_order(stack: Stack) -> None:
    rid = stack.file()
    stack.runtime.presses.stop()
    store_in_the_database_table(stack, rid)
    done = rounds.apply_round(stack.runtime.services.uow(), clock=stack.clock)
    assert done.applied == 3
    assert left_in_the_database_table(stack) == 0 and journal_rows(stack) == []
    assert votes_of(stack) == [("U0LEGAL1", "abstain"), ("U0SUP1", "approve")]
    assert stack.count(AuditEvent, AuditEvent.kind.in_(["voted", "vote_changed"])) == 3


def test_presses_the_journal_took_before_a_crash_are_not_moved_twice(stack: Stack) -> None:
    rid = stack.file()
    stack.runtime.presses.stop()
    main_ids = store_in_the_database_table(stack, rid)
    journal = journal_of(stack.runtime.engine)
    assert journal is not None
    with journal.begin() as conn:  # the journal took them; the process died before the table's rows went
        conn.execute(insert(Press.__table__), [
            {"request_id": rid, "user_id": user, "kind": kind, "channel": "C", "thread_ts": None,
             "received_at": stack.clock.now(), "attempts": 0} for user, kind in OLD_PRESSES])
        conn.exec_driver_sql("INSERT INTO moved (main_id) VALUES " + ", ".join(f"({i})" for i in main_ids))
    assert rounds.apply_round(stack.runtime.services.uow(), clock=stack.clock).applied == 3
    assert left_in_the_database_table(stack) == 0 and journal_rows(stack) == []
    assert votes_of(stack) == [("U0LEGAL1", "abstain"), ("U0SUP1", "approve")]
    assert stack.count(AuditEvent, AuditEvent.kind.in_(["voted", "vote_changed"])) == 3, "each applied once"


def test_presses_on_a_request_the_database_does_not_have_are_dropped_not_retried(stack: Stack) -> None:
    rid = stack.file()
    stack.runtime.presses.stop()
    journal = journal_of(stack.runtime.engine)
    assert journal is not None
    with journal.begin() as conn:  # the journal outlived a restore of an older database
        conn.execute(insert(Press.__table__), [
            {"request_id": request_id, "user_id": "U0LEGAL1", "kind": "approve", "channel": "C",
             "thread_ts": None, "received_at": stack.clock.now(), "attempts": 0} for request_id in (rid + 7, rid)])
    done = rounds.apply_round(stack.runtime.services.uow(), clock=stack.clock)
    assert (done.applied, done.left) == (1, False)
    assert journal_rows(stack) == [] and votes_of(stack) == [("U0LEGAL1", "approve")]
