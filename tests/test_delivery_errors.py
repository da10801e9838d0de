"""Slack's errors by what Slack says they mean: passing ones are retried, a refused token stops
all delivery until Slack takes it again, and every other `ok: false` is given up at once,
told to the admins once, and never holds up the rest of its lane."""

from __future__ import annotations

import ast
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cxbot.services.outbox import DEAD, DONE, PENDING
from cxbot.slack.blocks import ids
from cxbot.store.models import OutboxItem
from tests.harness import CHANNEL, Stack

ALERT = "could not deliver"


def later(stack: Stack, seconds: float) -> None:
    """Let time pass (for retries and token checks), then deliver whatever is due."""
    stack.clock.set(stack.clock.now() + timedelta(seconds=seconds))
    stack.runtime.worker.kick()
    stack.settle()


def health(stack: Stack) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(stack.base_url + "/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def alerts(stack: Stack) -> list[str]:
    return [m.text for m in stack.slack.dms("U0ADMIN") if ALERT in m.text]


def approve(stack: Stack, rid: int) -> None:
    """Legal and Support approve: the request is decided, which posts an outcome note in the
    thread, updates the parent and prompt, and tells the filer by DM, all in the request's lane."""
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.press("U0SUP1", rid, ids.APPROVE)


def outcome_dms(stack: Stack) -> list[str]:
    """The outcome DMs the filer was sent (their filing receipt, updated in place to say
    "Approved" too, is not one)."""
    return [m.text for m in stack.slack.dms("U0BILLLEAD")
            if "approved" in m.text.lower() and not m.text.startswith("Your CX review")]


@pytest.mark.parametrize("error", ["msg_blocks_too_long", "restricted_action_read_only_channel"])
def test_an_error_slack_does_not_call_transient_is_tried_once_and_the_lane_goes_on(
        stack: Stack, error: str, caplog: pytest.LogCaptureFixture) -> None:
    rid = stack.file()
    stack.slack.fail("chat.postMessage", error=error)       # the outcome note in the thread
    with caplog.at_level(logging.ERROR, logger="cxbot.jobs.outbox_worker"):
        approve(stack, rid)
        stack.settle()
    refused = [c for c in stack.slack.calls("chat.postMessage") if c.error == error]
    assert len(refused) == 1
    assert len(outcome_dms(stack)) == 1, "the lane's next item went out right after, without waiting"
    dead = stack.all(OutboxItem, OutboxItem.status == DEAD)
    assert [d.kind for d in dead] == ["thread_note"] and error in dead[0].last_error and dead[0].attempts == 0
    assert any(f"outbox item {dead[0].id} " in r.getMessage() and error in r.getMessage() for r in caplog.records)
    assert len(alerts(stack)) == 1 and error in alerts(stack)[0] and f"CX review #{rid}" in alerts(stack)[0]
    later(stack, 6 * 3600)                                 # nothing tries it again, nobody hears twice
    assert len([c for c in stack.slack.calls("chat.postMessage") if c.error == error]) == 1
    assert len(alerts(stack)) == 1
    assert stack.count(OutboxItem, OutboxItem.status == PENDING) == 0


def test_the_same_refusal_again_in_a_request_is_told_once(stack: Stack) -> None:
    """The bot was removed from the channel: each vote's update is refused the same way. The
    admins hear of it once (a day), not once per vote; another request is news."""
    first, second = stack.file(), stack.file()
    stack.slack.fail("chat.update", error="channel_not_found", times=3)
    stack.press("U0LEGAL1", first, ids.ABSTAIN)
    stack.settle()
    stack.press("U0LEGAL2", first, ids.ABSTAIN)
    stack.settle()
    stack.press("U0LEGAL1", second, ids.ABSTAIN)
    stack.settle()
    dead = stack.all(OutboxItem, OutboxItem.status == DEAD)
    assert [d.kind for d in dead] == ["refresh_request"] * 3
    told = alerts(stack)
    assert len(told) == 2 and f"CX review #{first}" in told[0] and f"CX review #{second}" in told[1]
    stack.slack.fail("chat.update", error="channel_not_found")
    stack.clock.set(stack.clock.now() + timedelta(days=1, minutes=1))
    stack.press("U0SUP1", first, ids.ABSTAIN)
    stack.settle()
    assert len(alerts(stack)) == 3


def test_an_alert_that_fails_does_not_raise_another(stack: Stack) -> None:
    rid = stack.file()
    stack.slack.fail("chat.postMessage", error="invalid_blocks_format")   # the outcome note
    stack.slack.fail("chat.postMessage", error="msg_too_long")            # the outcome DM to the filer
    stack.slack.fail("chat.postMessage", error="not_allowed_token_type", times=2)  # both alerts
    approve(stack, rid)
    stack.settle()
    later(stack, 3600)
    dead = stack.all(OutboxItem, OutboxItem.status == DEAD, order_by=OutboxItem.id)
    assert [d.kind for d in dead] == ["thread_note", "direct_message", "admin_alert", "admin_alert"]
    assert stack.count(OutboxItem) == stack.count(OutboxItem, OutboxItem.status.in_([DONE, DEAD]))
    assert alerts(stack) == []


@pytest.mark.parametrize("fault", [
    {"error": "internal_error"}, {"error": "fatal_error"}, {"error": "service_unavailable"},
    {"error": "request_timeout"}, {"status": 503}, {"status": 429, "retry_after": 40},
], ids=lambda f: str(f.get("error") or f["status"]))
def test_a_passing_error_is_retried_and_then_delivered(stack: Stack, fault: dict[str, Any]) -> None:
    stack.slack.fail("chat.postMessage", times=2, **fault)   # the parent message, twice
    rid = stack.file()
    parent = stack.all(OutboxItem, OutboxItem.kind == "post_request")[0]
    assert parent.status == PENDING and parent.attempts == 1
    wait = (parent.next_attempt_at - stack.clock.now()).total_seconds()
    assert wait >= fault.get("retry_after", 2), "Retry-After honoured"
    assert stack.slack.messages(CHANNEL) == [], "the lane waits: the prompt never overtakes its parent"
    later(stack, wait)
    later(stack, 600)
    parents = [m for m in stack.slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(parents) == 1 and len(stack.slack.thread(CHANNEL, parents[0].ts)) == 1
    assert stack.request(rid) and stack.count(OutboxItem, OutboxItem.status != DONE) == 0
    assert alerts(stack) == []


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
def test_a_refused_token_stops_all_delivery_until_slack_takes_it_again(stack: Stack, error: str) -> None:
    rid = stack.file()
    assert health(stack)[0] == 200
    stack.slack.fail("chat.update", error=error)              # the first delivery after the vote
    stack.slack.fail("auth.test", error=error, times=2)       # still refused at the next two checks
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.slack.wait_for(lambda: health(stack)[0] == 503)
    status, body = health(stack)
    assert status == 503 and body["delivery"] == "stopped" and error in body["slack"]
    assert "cxbot_delivery_stopped 1.0" in stack.metrics()

    calls = len(stack.slack.calls())
    stack.press("U0SUP1", rid, ids.APPROVE)                   # decided: an outcome note, a DM, updates
    stack.runtime.worker.drain()
    assert len(stack.slack.calls()) == calls, "nothing is tried while the token is refused"
    waiting = stack.all(OutboxItem, OutboxItem.status == PENDING)
    assert len(waiting) >= 3 and all(i.attempts == 0 for i in waiting), "items wait, their attempts not counted"

    for _ in range(2):                                        # checked every minute, still refused
        stack.clock.set(stack.clock.now() + timedelta(seconds=61))
        stack.runtime.worker.drain()
        assert health(stack)[0] == 503
    assert [c.error for c in stack.slack.calls("auth.test")][-2:] == [error, error]
    assert stack.count(OutboxItem, OutboxItem.status == DEAD) == 0

    later(stack, 61)                                          # Slack takes the token again
    assert health(stack) == (200, {"ok": True, "database": "reachable", "migrations": "at head"})
    assert "✅ *Approved*" in json.dumps(stack.parent(rid).blocks, ensure_ascii=False)
    assert len(outcome_dms(stack)) == 1
    assert stack.count(OutboxItem, OutboxItem.status != DONE) == 0 and alerts(stack) == []


def test_a_process_started_while_delivery_is_stopped_checks_the_token_at_once(stack: Stack) -> None:
    """A new token and a restart: the new process tries the token before anything else,
    and delivers what waited, without a minute's wait."""
    from cxbot.app import Runtime

    rid = stack.file()
    stack.slack.fail("chat.update", error="token_revoked")
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.slack.wait_for(lambda: health(stack)[0] == 503)
    restarted = Runtime(stack.runtime.settings, clock=stack.clock, scheduled=False, min_update_interval=0.1,
                        updates_per_minute=60_000)
    restarted.start()
    try:
        stack.slack.wait_for(lambda: "<@U0LEGAL1>" in json.dumps(stack.parent(rid).blocks))
        assert health(stack)[0] == 200
        assert stack.count(OutboxItem, OutboxItem.status != DONE) == 0
    finally:
        restarted.stop()
        restarted.engine.dispose()


def test_the_slack_package_reaches_the_database_only_through_services() -> None:
    """`cxbot/slack` talks to Slack; reading and recording go through `cxbot.services`, so no
    module there imports the store or the background workers."""
    package = Path(__file__).parent.parent / "cxbot" / "slack"
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [f"{path.relative_to(package)}: {n}" for n in names
                      if n.split(".")[:2] in (["cxbot", "store"], ["cxbot", "jobs"])]
    assert found == []
