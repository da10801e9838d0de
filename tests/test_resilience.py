"""Nothing lost, nothing sent twice: Slack failing (429, 5xx, ok:false, down for a while),
bursts and concurrent voters, malformed payloads, and what the logs and metrics show."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import event

from cxbot.domain.model import Status, VoteKind
from cxbot.services.outbox import DEAD, DONE, PENDING
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, OutboxItem, Vote
from tests.harness import BOT_TOKEN, CHANNEL, COUNCIL_FILE, SIGNING_SECRET, Stack

BIG_SUPPORT = COUNCIL_FILE.read_text().replace(
    'advocates = ["U0SUP1"]', "advocates = [" + ", ".join(f'"U0SUPP{i:02d}"' for i in range(50)) + "]")


def big_support(stack: Stack) -> list[str]:
    """Support with 50 advocates, each a person in the workspace."""
    stack.load_council(BIG_SUPPORT)
    voters = [f"U0SUPP{i:02d}" for i in range(50)]
    for user in voters:
        stack.slack.add_user(user, f"Support advocate {user[-2:]}")
    return voters


def later(stack: Stack, minutes: float) -> None:
    """Let time pass (for retries), then wait until everything due is delivered."""
    stack.clock.set(stack.clock.now() + timedelta(minutes=minutes))
    stack.runtime.worker.kick()
    stack.settle()


def test_rate_limited_and_failing_slack_delays_but_loses_nothing(stack: Stack) -> None:
    stack.slack.fail("chat.postMessage", status=429, retry_after=30)
    stack.slack.fail("chat.postMessage", status=500, times=2)
    stack.open_filing_modal("U0BILLLEAD")
    from tests.harness import filing_values

    assert stack.people.submit_view("U0BILLLEAD", filing_values()).status == 200
    stack.settle()
    assert stack.slack.messages(CHANNEL) == []                 # Slack said no: the parent waits
    item = stack.all(OutboxItem, OutboxItem.kind == "post_request")[0]
    assert item.status == PENDING and item.attempts == 1 and "rate limited" in item.last_error
    assert (item.next_attempt_at - stack.clock.now()).total_seconds() >= 30   # Retry-After honoured
    for _ in range(3):
        later(stack, 15)
    parents = [m for m in stack.slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(parents) == 1, "posted once, after the failures"
    thread = stack.slack.thread(CHANNEL, parents[0].ts)
    assert len(thread) == 1 and thread[0].ts > parents[0].ts   # the prompt after its parent
    assert stack.count(OutboxItem, OutboxItem.status != DONE) == 0


def test_slack_down_for_an_hour_then_everything_arrives_in_order(stack: Stack) -> None:
    rid = stack.file()
    # People still vote while Slack cannot be reached: the votes are acknowledged and stored.
    prompt = stack.prompt(rid)
    stack.slack.go_down()
    votes_sent = []
    for user in ("U0LEGAL1", "U0SUP1"):
        votes_sent.append(stack.people.press_button(user, channel=prompt.channel, ts=prompt.ts,
                                                    action_id=ids.APPROVE).status)
    assert votes_sent == [200, 200]
    stack.applied()
    assert stack.request(rid).status is Status.APPROVED
    for _ in range(6):                                         # an hour of failed attempts
        stack.clock.set(stack.clock.now() + timedelta(minutes=10))
        stack.runtime.worker.drain()
    stack.slack.come_back()
    later(stack, 30)
    parent = stack.parent(rid)
    assert "✅ *Approved*" in json.dumps(parent.blocks, ensure_ascii=False)
    notes = [m.text for m in stack.slack.thread(CHANNEL, parent.ts)]
    assert sum("Approved." in n for n in notes) == 1, "the outcome is posted once"
    dms = [m for m in stack.slack.dms("U0BILLLEAD") if "approved" in m.text.lower()
           and not m.text.startswith("Your CX review")]     # the receipt, updated in place, says so too
    assert len(dms) == 1
    assert stack.count(OutboxItem, OutboxItem.status != DONE) == 0


def test_a_permanent_error_stops_and_tells_the_admins_once(stack: Stack) -> None:
    stack.slack.fail("chat.postMessage", error="channel_not_found")
    stack.open_filing_modal("U0BILLLEAD")
    from tests.harness import filing_values

    stack.people.submit_view("U0BILLLEAD", filing_values())
    stack.settle()
    later(stack, 5)
    dead = stack.all(OutboxItem, OutboxItem.status == DEAD, order_by=OutboxItem.id)
    # The vote prompt belongs in the parent's thread: it goes with it, and nobody hears twice.
    assert [d.kind for d in dead] == ["post_request", "post_prompt"] and "channel_not_found" in dead[0].last_error
    assert stack.count(OutboxItem, OutboxItem.status == PENDING) == 0
    assert [m for m in stack.slack.dms("U0BILLLEAD") if m.user != "U0BILLLEAD"], "the filer's receipt still arrives"
    alerts = [m for m in stack.slack.dms("U0ADMIN") if "could not deliver" in m.text]
    assert len(alerts) == 1 and "CX review #1" in alerts[0].text
    later(stack, 60)
    assert len([m for m in stack.slack.dms("U0ADMIN") if "could not deliver" in m.text]) == 1


def test_a_burst_of_fifty_votes_ends_in_a_handful_of_updates_showing_all(stack: Stack) -> None:
    voters = big_support(stack)
    stack.runtime.worker.min_update_interval = 1.0         # the production interval
    rid = stack.file()
    prompt = stack.prompt(rid)
    updates_before = len([c for c in stack.slack.calls("chat.update") if c.params.get("ts") == stack.parent(rid).ts])

    def vote(user: str) -> int:
        return stack.people.press_button(user, channel=prompt.channel, ts=prompt.ts, action_id=ids.ABSTAIN).status

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(vote, voters))
    assert statuses == [200] * 50 and time.monotonic() - started < 10
    stack.settle()
    time.sleep(1.2)
    stack.runtime.worker.kick()
    stack.settle()
    parent = stack.parent(rid)
    assert all(f"<@{u}>" in json.dumps(parent.blocks) for u in voters), "the last update shows every vote"
    updates = [c for c in stack.slack.calls("chat.update") if c.params.get("ts") == parent.ts]
    assert 1 <= len(updates) - updates_before <= 8, len(updates) - updates_before


def test_while_the_update_budget_is_spent_no_lane_is_claimed_only_to_wait(stack: Stack) -> None:
    """At Slack's pace (50 updates a minute, a burst of 8), one vote on each of 16 requests
    leaves updates waiting for the budget (all 16 could go after 9 s). The worker sends what
    the budget allows, and claims (a write) only lanes it can deliver something on: claiming
    every waiting lane only to release it again was most of its work under load."""
    rids = [stack.file() for _ in range(16)]
    worker = stack.runtime.worker
    worker.min_update_interval = 1.0                 # the production pace
    worker.updates_per_minute = 50.0
    claims: list[str] = []

    def claim(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("UPDATE outbox_lanes SET owner") and "lease_until IS NULL" in statement:
            claims.append(statement)

    def settled() -> int:
        return stack.count(OutboxItem, OutboxItem.status == DONE)

    done_before, updates_before = settled(), len(stack.slack.calls("chat.update"))
    event.listen(stack.runtime.engine, "before_cursor_execute", claim)
    try:
        for rid in rids:
            stack.press("U0SUP1", rid, ids.APPROVE)
        time.sleep(2.5)                              # two or three more tokens
        worker.kick()
        time.sleep(0.3)
    finally:
        event.remove(stack.runtime.engine, "before_cursor_execute", claim)
    sent = len(stack.slack.calls("chat.update")) - updates_before
    assert 8 <= sent < 16, sent                     # the burst, then one about every 1.2 s
    assert stack.count(OutboxItem, OutboxItem.status == PENDING) > 0, "updates wait for the budget"
    assert 0 < len(claims) <= settled() - done_before + 1, (len(claims), settled() - done_before)
    stack.runtime.worker.updates_per_minute = 60_000
    stack.settle()
    for rid in rids:
        assert "U0SUP1" in json.dumps(stack.parent(rid).blocks), "every update arrives once the budget allows"


def test_fifty_advocates_voting_at_once_are_all_counted(stack: Stack) -> None:
    """Support's 50 advocates abstain (so Support stays outstanding and every vote is taken)
    while Legal's two approve, all at the same moment."""
    support = big_support(stack)
    rid = stack.file()
    prompt = stack.prompt(rid)

    def vote(user: str) -> int:
        action = ids.APPROVE if user.startswith("U0LEGAL") else ids.ABSTAIN
        return stack.people.press_button(user, channel=prompt.channel, ts=prompt.ts, action_id=action).status

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(vote, support[:25] + ["U0LEGAL1"] + support[25:] + ["U0LEGAL2"]))
    assert statuses == [200] * 52
    stack.settle()
    assert stack.count(Vote, Vote.request_id == rid, Vote.kind == VoteKind.ABSTAIN) == 50
    assert stack.count(Vote, Vote.request_id == rid, Vote.kind == VoteKind.APPROVE) == 2
    assert stack.count(AuditEvent, AuditEvent.kind == "voted") == 52
    assert stack.request(rid).status is Status.OPEN
    parent = json.dumps(stack.parent(rid).blocks)
    assert "waiting for *Support*" in parent and all(f"<@{u}>" in parent for u in support)
    assert not [e for e in stack.slack.ephemerals() if "went wrong" in e.text], "no 'database is locked'"


def test_a_replayed_body_with_a_new_timestamp_is_refused(stack: Stack) -> None:
    body = b"command=%2Fcx-review&text=help&user_id=U0BILLLEAD&trigger_id=t&channel_id=C0COUNCIL"
    old = str(int(time.time()) - 60)
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=old, body=body)
    ok = stack.people.post_raw(body, content_type="application/x-www-form-urlencoded", timestamp=old,
                               signature=signature)
    assert ok.status == 200
    replay = stack.people.post_raw(body, content_type="application/x-www-form-urlencoded",
                                   timestamp=str(int(time.time())), signature=signature)
    assert replay.status == 401


def _snapshot(stack: Stack) -> str:
    """Every row but the people directory: whoever sends a request, even a malformed one, is
    looked up in the background for their language (cxbot.slack.languages), a cache of
    Slack's directory, not a record."""
    from tests.test_council_file import snapshot

    return snapshot(stack.runtime.engine, skip={"people"})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
action_ids = st.sampled_from([ids.APPROVE, ids.OBJECT, ids.ABSTAIN, ids.MORE, ids.WITHDRAW, ids.AMEND,
                              ids.RESOLVE, ids.OVERRULE, ids.DECIDE_APPROVE, ids.REOPEN, "nope", ""])
weird_text = st.one_of(st.text(max_size=50), st.just("x" * 100_000), st.just("\u202e\u0000\ud7ff"),
                       st.just("<!channel> <@U0CHAIR> <https://evil|x>"))


@st.composite
def malformed(draw: st.DrawFn) -> tuple[bytes, str]:
    """A signed body that is broken somewhere: bytes, JSON, or a Slack shape with wrong types."""
    kind = draw(st.sampled_from(["bytes", "json", "event", "action", "view", "command", "payload-json"]))
    user = draw(st.one_of(st.just({"id": "U0NOBODY"}), json_values))
    if kind == "bytes":
        return draw(st.binary(max_size=200)), draw(st.sampled_from(["application/json",
                                                                    "application/x-www-form-urlencoded"]))
    if kind == "json":
        return json.dumps(draw(json_values)).encode(), "application/json"
    if kind == "event":
        event = draw(st.fixed_dictionaries({"type": st.one_of(st.just("message"), json_values)},
                                           optional={"user": json_values, "text": weird_text,
                                                     "channel": json_values, "ts": json_values,
                                                     "thread_ts": json_values}))
        envelope = {"type": "event_callback", "event_id": draw(st.one_of(st.text(max_size=8), json_values)),
                    "event": draw(st.one_of(st.just(event), json_values))}
        return json.dumps(envelope).encode(), "application/json"
    if kind == "action":
        payload = {"type": "block_actions", "user": user, "trigger_id": "t",
                   "actions": draw(st.one_of(json_values, st.lists(st.fixed_dictionaries(
                       {"action_id": st.one_of(action_ids, json_values)},
                       optional={"value": st.one_of(weird_text, json_values),
                                 "selected_option": json_values}), max_size=2)))}
    elif kind == "view":
        payload = {"type": "view_submission", "user": user, "view": draw(st.one_of(json_values, st.fixed_dictionaries(
            {"type": st.just("modal"), "callback_id": st.sampled_from(["cx_file", "cx_vote", "cx_hold", "x"])},
            optional={"private_metadata": st.one_of(weird_text, json_values), "state": json_values,
                      "id": json_values})))}
    elif kind == "command":
        fields = draw(st.dictionaries(st.sampled_from(["command", "user_id", "trigger_id", "text", "channel_id"]),
                                      weird_text, max_size=5))
        from urllib.parse import urlencode

        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        payload = draw(json_values)
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=malformed())
def test_malformed_payloads_get_a_clear_4xx_or_2xx_and_change_nothing(stack: Stack, case: tuple[bytes, str]) -> None:
    body, content_type = case
    before = _snapshot(stack)
    result = stack.people.post_raw(body, content_type=content_type)
    assert result.status < 500, (result.status, result.body[:300])
    assert b"Traceback" not in result.body
    stack.settle()
    assert _snapshot(stack) == before


def test_logs_of_a_full_run_never_show_tokens_or_secrets(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    from cxbot.logs import ContextFilter, JsonFormatter

    handler = logging.StreamHandler()
    lines: list[str] = []
    handler.emit = lambda record: lines.append(JsonFormatter().format(record))  # type: ignore[method-assign]
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        rid = stack.file()
        stack.press("U0LEGAL1", rid, ids.APPROVE)
        stack.press("U0BILL1", rid, ids.APPROVE)              # refused: logged
        stack.slack.fail("chat.update", status=500)
        stack.press("U0SUP1", rid, ids.APPROVE)
        stack.settle()
        later(stack, 5)
        stack.people.post_raw(b"{}", content_type="application/json", signature="v0=forged")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    log = "\n".join(lines)
    assert lines and BOT_TOKEN not in log and SIGNING_SECRET not in log and "xoxb-" not in log
    assert any('"request_id"' in line for line in lines)


def test_metrics_show_requests_latency_and_the_outbox(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.slack.fail("chat.update", status=500, times=3)
    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.settle()
    body = stack.metrics()
    assert 'cxbot_slack_requests_total{kind="block_actions",status="200"} 2.0' in body
    assert 'cxbot_ack_seconds_bucket{kind="command",le="0.1"}' in body
    import re

    depth = float(re.search(r"^cxbot_outbox_depth (\S+)$", body, re.M)[1])  # type: ignore[index]
    assert depth == stack.count(OutboxItem, OutboxItem.status == PENDING) and depth >= 1
    assert 'cxbot_outbox_deliveries_total{kind="refresh_request",result="retry"}' in body
    assert "cxbot_outbox_oldest_pending_seconds" in body
