"""The load generator of `bench.load`, run in its own process: `python -m bench.loadgen PLAN OUT`.

It runs apart from the benchmark's main process because that one hosts the Slack emulator,
whose Block Kit validation and rendering of every `chat.update` would otherwise hold the GIL
while a client thread waits to take its timestamp. It stays cheap: every body is built
before the clock starts; during the run a thread only signs (one HMAC), sends over its own
kept-alive connection and reads the answer.

Each of `concurrency` threads owns a disjoint share of the (request, advocate) pairs and,
at random, either presses a button as one of them, alternating Approve and Abstain so every
press changes the stored vote, or (with probability `command_share`) sends `/cx-review` as
a random lead with a fresh trigger id fetched from the benchmark's trigger service first
(outside the timed round trip), so the app's `views.open` works. Latency is the client's
HTTP round trip, from sending the request to having read the answer.

With several `targets` (cxbot and the bare Bolt baseline), all clients move from one to the
next together, in segments of `segment` seconds, in the order A B, B A, A B, … after a
warm-up segment each: whatever the shared host does over the minute (its speed drifts from
minute to minute), both servers meet it alike. The first `settle` seconds of a segment are
not timed, so what one server was still doing when the clients left it (the jobs worker
applying the last presses, say) does not count against the other. Each target keeps its
own connections and its own record of the votes it acknowledged.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"
KINDS = ("approve", "abstain")
ACTION_IDS = {"approve": "vote_approve", "abstain": "vote_abstain"}
BUTTON_TEXT = {"approve": "Approve", "abstain": "Abstain"}


@dataclass(frozen=True)
class Voter:
    """An advocate who may vote on a request, and the ids Slack would have given the press."""

    request_id: int
    user_id: str
    user_name: str
    trigger_id: str
    response_url: str


@dataclass(frozen=True)
class Plan:
    """Everything the load generator needs; written as JSON by `bench.load`."""

    targets: list[str]  # the servers' /slack/events URLs, measured in turns
    secret: str
    concurrency: int
    warmup: float
    seconds: float   # timed seconds per target
    command_share: float
    seed: int
    trigger_url: str
    team_id: str
    api_app_id: str
    verification_token: str
    channel_id: str
    channel_name: str
    prompts: dict[str, dict[str, Any]]  # request id -> the vote prompt message, as Slack shows it
    voters: list[Voter]
    leads: list[tuple[str, str]]  # (user id, name)
    segment: float = 2.5  # seconds on one target before the clients move to the next
    settle: float = 0.5   # untimed start of each segment

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        data = dict(data)
        data["voters"] = [Voter(**v) for v in data["voters"]]
        data["leads"] = [tuple(lead) for lead in data["leads"]]
        return cls(**data)


@dataclass
class ThreadResult:
    """What one client thread saw; latencies in ms of requests started inside the timed window."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"vote": [], "command": []})
    turns: dict[int, list[float]] = field(default_factory=dict)   # turn → latencies of the votes timed in it
    errors: dict[str, dict[str, int]] = field(default_factory=lambda: {"vote": {}, "command": {}})
    all_errors: dict[str, int] = field(default_factory=dict)  # warm-up included, by status or exception
    acked_votes: int = 0          # HTTP 200 votes, warm-up included: each must be stored
    unknown_pairs: int = 0        # pairs whose last press got no answer (state unknown)
    reconnects: int = 0
    final: list[tuple[int, str, str]] = field(default_factory=list)  # (request, user, last acked kind)


def _person(plan: Plan, user_id: str, name: str) -> dict[str, Any]:
    return {"id": user_id, "username": name, "name": name, "team_id": plan.team_id}


def vote_body(plan: Plan, voter: Voter, kind: str) -> bytes:
    """The `block_actions` body Slack sends when `voter` presses Approve or Abstain in the thread."""
    message = plan.prompts[str(voter.request_id)]
    block_id = next(b["block_id"] for b in message["blocks"] if b.get("type") == "actions")
    action: dict[str, Any] = {
        "type": "button", "action_id": ACTION_IDS[kind], "block_id": block_id,
        "text": {"type": "plain_text", "text": BUTTON_TEXT[kind], "emoji": True},
        "value": str(voter.request_id), "action_ts": f"{time.time():.6f}",
    }
    if kind == "approve":
        action["style"] = "primary"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": plan.team_id, "domain": "cxbot-sandbox"},
        "user": _person(plan, voter.user_id, voter.user_name),
        "api_app_id": plan.api_app_id,
        "token": plan.verification_token,
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": plan.channel_id,
                      "is_ephemeral": False, "thread_ts": message["thread_ts"]},
        "trigger_id": voter.trigger_id,
        "channel": {"id": plan.channel_id, "name": plan.channel_name},
        "state": {"values": {}},
        "response_url": voter.response_url,
        "actions": [action],
        "message": message,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def command_body(plan: Plan, user_id: str, name: str, trigger_id: str, response_url: str) -> bytes:
    """The form Slack posts when `user_id` types `/cx-review` in the council channel."""
    return urlencode({
        "token": plan.verification_token, "team_id": plan.team_id, "team_domain": "cxbot-sandbox",
        "channel_id": plan.channel_id, "channel_name": plan.channel_name, "user_id": user_id,
        "user_name": name, "command": "/cx-review", "text": "", "api_app_id": plan.api_app_id,
        "is_enterprise_install": "false", "response_url": response_url, "trigger_id": trigger_id,
    }).encode()


@dataclass(frozen=True)
class Segment:
    """A stretch of the run on one target, in seconds from the common start."""

    target: int
    start: float
    timed_from: float  # == end: not timed at all (warm-up)
    end: float
    turn: int = -1     # the round of turns it belongs to (each target has one segment a turn); -1: warm-up

    @property
    def timed(self) -> bool:
        return self.timed_from < self.end


def schedule(plan: Plan) -> list[Segment]:
    """A warm-up segment per target (the last one on the first target, so no timed segment
    starts right after another target's load), then timed segments in turns (A B, B A, A B,
    …) until each target has `plan.seconds` timed."""
    targets = range(len(plan.targets))
    segments, t = [], 0.0
    for target in reversed(targets):
        segments.append(Segment(target, t, t + plan.warmup, t + plan.warmup))
        t += plan.warmup
    timed_each = plan.segment - plan.settle
    if timed_each <= 0:
        raise ValueError("segment must be longer than settle")
    for turn in range(max(1, math.ceil(plan.seconds / timed_each - 1e-9))):
        for target in (targets if turn % 2 == 0 else reversed(targets)):
            segments.append(Segment(target, t, t + plan.settle, t + plan.segment, turn))
            t += plan.segment
    return segments


class Side:
    """One target as one client thread sees it: its connection and the votes it acknowledged."""

    def __init__(self, url: str, voters: int) -> None:
        parts = urlsplit(url)
        self.path = parts.path
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
        self.last: list[str | None] = [None] * voters
        self.live = list(range(voters))  # pairs whose stored vote is known
        self.result = ThreadResult()


class Client(threading.Thread):
    """One simulated Slack connection per target: a thread with a kept-alive HTTP connection to each."""

    def __init__(self, index: int, plan: Plan, start_gate: threading.Barrier, times: dict[str, float]) -> None:
        super().__init__(name=f"client-{index}", daemon=True)
        self.plan = plan
        self.rng = random.Random(plan.seed * 1000 + index)
        self.voters = plan.voters[index::plan.concurrency]
        # Bodies for both buttons, built before the clock starts.
        self.bodies = [{kind: vote_body(plan, v, kind) for kind in KINDS} for v in self.voters]
        self.sides = [Side(url, len(self.voters)) for url in plan.targets]
        self.gate, self.times = start_gate, times
        self.verifier = SignatureVerifier(plan.secret)
        triggers = urlsplit(plan.trigger_url)
        self.trigger_path = triggers.path
        self.trigger_conn = http.client.HTTPConnection(triggers.hostname or "127.0.0.1", triggers.port or 80,
                                                       timeout=10)
        self.fresh = True  # the next request opens the segment's connection: no reconnect
        self.turn = -1     # the turn of the segment under way

    def run(self) -> None:
        self.gate.wait()
        began = self.times["began"]
        for segment in schedule(self.plan):
            side = self.sides[segment.target]
            timed_from, end = began + segment.timed_from, began + segment.end
            self.fresh = True
            self.turn = segment.turn
            while (started := time.perf_counter()) < end:
                timed = started >= timed_from
                if side.live and self.rng.random() >= self.plan.command_share:
                    self._vote(side, timed)
                else:
                    self._command(side, timed)
            # Idle, the connection would be closed by the server (keep-alive timeout) while the
            # clients are on the other target; the next segment on this one connects afresh.
            side.conn.close()
        for side in self.sides:
            for i in side.live:
                last = side.last[i]
                if last is not None:
                    side.result.final.append((self.voters[i].request_id, self.voters[i].user_id, last))
        self.trigger_conn.close()

    def _vote(self, side: Side, timed: bool) -> None:
        i = self.rng.choice(side.live)
        kind = "abstain" if side.last[i] == "approve" else "approve"
        status = self._post(side, self.bodies[i][kind], "vote", timed)
        if status == 200:
            side.result.acked_votes += 1
            side.last[i] = kind
        else:  # no answer, or an error: what is stored is not known, so the pair is retired
            side.live.remove(i)
            side.result.unknown_pairs += 1

    def _command(self, side: Side, timed: bool) -> None:
        user_id, name = self.rng.choice(self.plan.leads)
        self.trigger_conn.request("GET", f"{self.trigger_path}?user={user_id}")
        fresh = json.loads(self.trigger_conn.getresponse().read())
        self._post(side, command_body(self.plan, user_id, name, fresh["trigger_id"], fresh["response_url"]),
                   "command", timed)

    def _post(self, side: Side, body: bytes, scenario: str, timed: bool) -> int:
        timestamp = str(int(time.time()))
        headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp,
                   "X-Slack-Signature": self.verifier.generate_signature(timestamp=timestamp, body=body) or ""}
        result, conn = side.result, side.conn
        if conn.sock is None and not self.fresh:
            result.reconnects += 1
        self.fresh = False
        began = time.perf_counter()
        try:
            conn.request("POST", side.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.will_close:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status, error = 0, type(exc).__name__
        else:
            error = str(status)
        elapsed_ms = (time.perf_counter() - began) * 1000.0
        if status != 200:
            key = f"{scenario} {error}"
            result.all_errors[key] = result.all_errors.get(key, 0) + 1
        if timed:
            if status == 200:
                result.latencies[scenario].append(elapsed_ms)
                if scenario == "vote":
                    result.turns.setdefault(self.turn, []).append(elapsed_ms)
            else:
                errors = result.errors[scenario]
                errors[error] = errors.get(error, 0) + 1
        return status


def run(plan: Plan) -> dict[str, Any]:
    """Run the plan; returns, per target, latencies of its timed segments, errors, votes
    acknowledged and the load generator's CPU in them.

    Prints `measure N` when a timed part of a segment on target N begins and `stop N` when it
    ends, so the parent can take its own CPU readings of the servers over the same stretches.
    """
    gate = threading.Barrier(plan.concurrency + 1)
    times: dict[str, float] = {}
    clients = [Client(i, plan, gate, times) for i in range(plan.concurrency)]
    for client in clients:
        client.start()
    cpu_before = os.times()
    times["began"] = began = time.perf_counter()
    gate.wait()
    window_cpu = [0.0] * len(plan.targets)
    segments = schedule(plan)
    for segment in segments:
        if not segment.timed:
            continue
        time.sleep(max(0.0, began + segment.timed_from - time.perf_counter()))
        cpu_from = os.times()
        print(f"measure {segment.target}", flush=True)
        time.sleep(max(0.0, began + segment.end - time.perf_counter()))
        cpu_to = os.times()
        print(f"stop {segment.target}", flush=True)
        window_cpu[segment.target] += (cpu_to.user + cpu_to.system) - (cpu_from.user + cpu_from.system)
    for client in clients:
        client.join(30)
    cpu_after = os.times()
    timed = [sum(s.end - s.timed_from for s in segments if s.target == t) for t in range(len(plan.targets))]
    return {
        "targets": [_target_result([c.sides[t].result for c in clients], timed[t], window_cpu[t])
                    for t in range(len(plan.targets))],
        "cpu_s": (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system),
        "stuck_threads": sum(c.is_alive() for c in clients),
    }


def _target_result(results: list[ThreadResult], window_s: float, window_cpu: float) -> dict[str, Any]:
    return {
        "window_s": window_s,
        "latencies": {s: [x for r in results for x in r.latencies[s]] for s in ("vote", "command")},
        # Vote latencies turn by turn (keys: the turn, as text): turn k of each target is next
        # to turn k of the others, so a ratio per turn compares servers under the same host.
        "vote_turns": {str(k): [x for r in results for x in r.turns.get(k, ())]
                       for k in sorted({k for r in results for k in r.turns})},
        "errors": {s: _merge([r.errors[s] for r in results]) for s in ("vote", "command")},
        "all_errors": _merge([r.all_errors for r in results]),
        "acked_votes": sum(r.acked_votes for r in results),
        "unknown_pairs": sum(r.unknown_pairs for r in results),
        "reconnects": sum(r.reconnects for r in results),
        "final": [f for r in results for f in r.final],
        "window_cpu_s": window_cpu,
    }


def _merge(counts: list[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for c in counts:
        for key, n in c.items():
            merged[key] = merged.get(key, 0) + n
    return merged


def main(argv: list[str]) -> int:
    plan_path, out_path = argv
    with open(plan_path, encoding="utf-8") as f:
        plan = Plan.from_json(json.load(f))
    result = run(plan)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
