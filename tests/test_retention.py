"""Retention: delivered outbox items go after `[outbox] retention_days`; the council's record
(votes, comments, the audit trail) stays; the due-lanes query keeps to its index however
many delivered items there are."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, text

from cxbot.council_file import CouncilFileError, parse_council
from cxbot.services import outbox
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Comment, OutboxItem, Vote
from tests.harness import CHANNEL, COUNCIL_FILE, START, Stack
from tests.test_council_file import cli, snapshot

GOOD = COUNCIL_FILE.read_text()


def with_retention(days: Any) -> str:
    return GOOD + f"\n[outbox]\nretention_days = {days}\n"


def test_delivered_items_older_than_the_retention_are_pruned_and_nothing_else(stack: Stack) -> None:
    stack.load_council(with_retention(7))
    old = stack.file("U0BILLLEAD")
    stack.press("U0SUP1", old, ids.APPROVE)
    assert stack.people.post_in_thread("U0LEGAL1", channel=CHANNEL, thread_ts=stack.parent(old).ts,
                                       text="Legal reads it this week").status == 200
    stack.settle()
    delivered_then = stack.count(OutboxItem, OutboxItem.status == outbox.DONE)
    assert delivered_then > 0
    # A pending item as old as the rest (its lane waits on a retry): still to be delivered, kept.
    with stack.session() as s:
        waiting = outbox.enqueue(s, lane="request:999", kind="post_request", payload={}, now=START)
        waiting.next_attempt_at = START + timedelta(days=365)
        s.commit()
        waiting_id = waiting.id

    stack.clock.set(START + timedelta(days=6))
    # Delivered one day before the old ones' eighth day; needed a month later than the old one, so
    # the two are no possible clash (which would write into the old one's thread today).
    newer = stack.file("U0BILLLEAD", decision_by=(START.date() + timedelta(days=40)).isoformat())
    stack.settle()
    delivered_newer = stack.count(OutboxItem, OutboxItem.status == outbox.DONE) - delivered_then
    assert delivered_newer > 0
    votes, comments, events = stack.count(Vote), stack.count(Comment), stack.count(AuditEvent)
    assert stack.runtime.retention() is None   # nothing is 7 days old yet

    stack.clock.set(START + timedelta(days=7, minutes=1))
    stack.runtime.retention.batch = 2          # several small batches, each its own transaction
    assert stack.runtime.retention() == (f"pruned {delivered_then} delivered outbox item(s) older than "
                                         f"{(START + timedelta(minutes=1)).isoformat()}")
    assert stack.count(OutboxItem, OutboxItem.status == outbox.DONE) == delivered_newer
    assert stack.count(OutboxItem, OutboxItem.lane == outbox.request_lane(old)) == 0
    assert stack.count(OutboxItem, OutboxItem.lane == outbox.request_lane(newer)) == delivered_newer
    assert stack.count(OutboxItem, OutboxItem.id == waiting_id, OutboxItem.status == outbox.PENDING) == 1
    assert (stack.count(Vote), stack.count(Comment), stack.count(AuditEvent)) == (votes, comments, events)
    assert stack.runtime.retention() is None   # pruned once


def test_the_retention_defaults_to_14_days() -> None:
    assert parse_council(GOOD).policy.retention_days == 14
    assert parse_council(with_retention(3650)).policy.retention_days == 3650


@pytest.mark.parametrize("value", ["0", "3651", "-1", '"14"', "14.5", "true"])
def test_bad_retention_is_refused_with_file_line_and_key(value: str) -> None:
    source = with_retention(value)
    line = source.splitlines().index(f"retention_days = {value}") + 1
    with pytest.raises(CouncilFileError) as err:
        parse_council(source, source="council.toml")
    assert str(err.value) == f"council.toml:{line}: outbox.retention_days: must be a whole number from 1 to 3650"


def test_an_unknown_outbox_key_is_refused() -> None:
    with pytest.raises(CouncilFileError, match=r"^council.toml:\d+: outbox.keep_days: unknown key"):
        parse_council(GOOD + "\n[outbox]\nkeep_days = 3\n", source="council.toml")


def test_cli_load_with_bad_retention_exits_2_and_changes_nothing(database_url: str, engine: Engine,
                                                                  tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(with_retention(30))
    assert cli("council", "load", str(good), db=database_url).returncode == 0
    before = snapshot(engine)
    bad = tmp_path / "bad.toml"
    bad.write_text(with_retention(0).replace('name = "Billing"', 'name = "Billing & Co"'))
    line = bad.read_text().splitlines().index("retention_days = 0") + 1
    result = cli("council", "load", str(bad), db=database_url)
    assert result.returncode == 2
    assert result.stderr.strip() == f"cxbot: {bad}:{line}: outbox.retention_days: must be a whole number from 1 to 3650"
    assert snapshot(engine) == before


def _captured_due_lanes(stack: Stack, **kwargs: Any) -> tuple[str, Any]:
    """The SQL and parameters `due_lanes` sends, as the worker sends it."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "outbox" in statement and "GROUP BY" in statement:
            seen.append((statement, parameters))

    event.listen(stack.runtime.engine, "before_cursor_execute", capture)
    try:
        with stack.runtime.readers() as s:
            outbox.due_lanes(s, stack.clock.now(), **kwargs)
    finally:
        event.remove(stack.runtime.engine, "before_cursor_execute", capture)
    [query] = seen
    return query


@pytest.mark.parametrize("kwargs", [{}, {"skip_updates": True, "skip": (1, 2)}, {"include_held": True}])
def test_due_lanes_reads_the_pending_index_with_many_delivered_items(stack: Stack, kwargs: dict[str, Any]) -> None:
    now = stack.clock.now()
    rows = [{"lane": f"request:{n % 400}", "kind": "post_reply", "payload": {}, "coalesce_key": None,
             "status": outbox.DONE, "attempts": 1, "next_attempt_at": now, "created_at": now,
             "delivered_at": now, "last_error": "", "revision": 0} for n in range(6000)]
    rows += [{**r, "status": outbox.PENDING, "delivered_at": None} for r in rows[:5]]
    with stack.session() as s:
        s.execute(insert(OutboxItem), rows)
        s.commit()
    statement, parameters = _captured_due_lanes(stack, **kwargs)
    with stack.runtime.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "ix_outbox_pending_lane_id" in plan, plan
            assert not any(line.strip().startswith("SCAN outbox") and "USING" not in line
                           for line in plan.splitlines()), plan
        else:
            conn.execute(text("ANALYZE outbox"))
            conn.commit()
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            # Either index reaches the pending rows without visiting delivered ones (the
            # second serves the query that leaves coalesced updates out).
            assert "ix_outbox_pending_lane_id" in plan or "ix_outbox_coalesce_key_status" in plan, plan
            assert not re.search(r"Seq Scan on outbox\s", plan), plan   # outbox_lanes is another table
        conn.rollback()
