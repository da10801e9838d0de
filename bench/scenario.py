"""The council `bench.load` runs: its people in the emulator, the requests filed before the
timed phase, the load generator's plan, and the check that every acknowledged vote was stored.

The council has 8 departments with a lead and 8 advocates each. Its policies ask for 20
approvals per department, which cxbot caps at the department's 8 advocates: a request is
approved only when all 56 advocates asked stand on Approve at once, which presses that
alternate between Approve and Abstain practically never reach. So every press lands on a
request under review and changes a vote (a refused vote would show in the check).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from bench.loadgen import Plan, Voter
from cxbot.sandbox.client import SlackPeople
from cxbot.sandbox.emulator import Message, SlackEmulator
from cxbot.slack.blocks import ids
from cxbot.store.db import make_engine, make_session_factory
from cxbot.store.journal import Waiting
from cxbot.store.models import AuditEvent, OutboxItem, Vote

SIGNING_SECRET = "load-bench-signing-secret"
CHANNEL, CHANNEL_NAME = "C0COUNCIL", "cx-council"
CHAIR = "U0CHAIR"
DEPARTMENTS, ADVOCATES = 8, 8


def lead(d: int) -> str:
    return f"U0D{d}LEAD"


def advocate(d: int, a: int) -> str:
    return f"U0D{d}A{a}"


def council_toml() -> str:
    """The council file: 8 departments × (1 lead + 8 advocates); no request can be approved."""
    lines = ["[council]", f'channel = "{CHANNEL}"', f'chair = "{CHAIR}"', 'timezone = "Europe/Oslo"', ""]
    for d in range(DEPARTMENTS):
        advocates = ", ".join(f'"{advocate(d, a)}"' for a in range(ADVOCATES))
        lines += ["[[departments]]", f'key = "d{d}"', f'name = "Department {d}"', f'leads = ["{lead(d)}"]',
                  f"advocates = [{advocates}]", ""]
    for magnitude in ("minor", "major"):
        lines += [f"[policies.{magnitude}]", "review_days = 30", "approvals = 20", ""]
    return "\n".join(lines)


def populate(emulator: SlackEmulator) -> None:
    """Everyone in the council file, and the council channel, exist in the emulated workspace."""
    emulator.add_user(CHAIR, "Chair")
    for d in range(DEPARTMENTS):
        emulator.add_user(lead(d), f"Lead {d}")
        for a in range(ADVOCATES):
            emulator.add_user(advocate(d, a), f"Advocate {d}.{a}")
    emulator.add_channel(CHANNEL, CHANNEL_NAME, members=list(emulator.user_names()))
    emulator.invite_bot(CHANNEL)  # as the admin does after installing the app


def filing_values(n: int) -> dict[str, Any]:
    return {
        "title": f"Load benchmark change #{n}",
        "summary": "A proposed change filed by the load benchmark, so advocates have something to vote on.",
        "stages": ["Pay", "Leave"], "impact": "negative", "impact_note": "Some customers pay more.",
        "magnitude": "major", "decision_by": (date.today() + timedelta(days=30)).isoformat(),
        "link": "https://wiki.example.com/load",
    }


def file_requests(people: SlackPeople, emulator: SlackEmulator, count: int) -> None:
    """File `count` requests through `/cx-review` and the modal, the leads filing in parallel."""
    problems: list[str] = []

    def file_as(d: int, numbers: range) -> None:
        user = lead(d)
        for n in numbers:
            try:
                opened = people.slash_command(user, "/cx-review", "")
                if opened.status != 200:
                    raise RuntimeError(f"/cx-review answered {opened.status}: {opened.body!r}")
                emulator.wait_for(lambda: emulator.open_views(user), timeout=10)
                result = people.submit_view(user, filing_values(n))
                if result.status != 200 or (result.json() or {}).get("errors"):
                    raise RuntimeError(f"filing answered {result.status}: {result.body!r}")
            except Exception as exc:  # reported below, in the main thread
                problems.append(f"{user}: {exc}")
                return

    threads = [threading.Thread(target=file_as, args=(d, range(d, count, DEPARTMENTS)))
               for d in range(DEPARTMENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if problems:
        raise RuntimeError("filing failed: " + "; ".join(problems[:3]))


def vote_prompts(emulator: SlackEmulator, count: int, timeout: float) -> dict[int, Message]:
    """Wait until the thread message with the vote buttons of each of `count` requests is in Slack."""

    def found() -> dict[int, Message]:
        prompts = {}
        for message in emulator.messages(CHANNEL):
            if message.thread_ts is None:
                continue
            for block in message.blocks:
                for element in block.get("elements") or [] if block.get("type") == "actions" else []:
                    if element.get("action_id") == ids.APPROVE:
                        prompts[int(element["value"])] = message
        return prompts if len(prompts) >= count else {}

    return emulator.wait_for(found, timeout=timeout, interval=0.2)


def build_plan(emulator: SlackEmulator, prompts: dict[int, Message], **settings: Any) -> Plan:
    """The load generator's plan: every advocate mentioned in a prompt may vote on that request."""
    advocates = {advocate(d, a) for d in range(DEPARTMENTS) for a in range(ADVOCATES)}
    voters = []
    for request_id, message in sorted(prompts.items()):
        asked = sorted({m[2:-1] for m in message.mentions if m.startswith("<@")} & advocates)
        for user in asked:
            voters.append(Voter(
                request_id=request_id, user_id=user, user_name=emulator.user_name(user),
                trigger_id=emulator.new_trigger(user),
                response_url=emulator.new_response_url(user, CHANNEL, message_ts=message.ts,
                                                       thread_ts=message.thread_ts),
            ))
    return Plan(
        secret=SIGNING_SECRET, team_id="TCXBOT", api_app_id="ACXBOT",
        verification_token="cxbot-sandbox-verification-token", channel_id=CHANNEL, channel_name=CHANNEL_NAME,
        prompts={str(rid): m.to_slack() for rid, m in prompts.items()}, voters=voters,
        leads=[(lead(d), emulator.user_name(lead(d))) for d in range(DEPARTMENTS)], **settings,
    )


def plan_json(plan: Plan) -> dict[str, Any]:
    return asdict(plan)


@dataclass(frozen=True)
class Check:
    """Acknowledged votes against what the database holds."""

    acked: int            # HTTP 200 votes the load generator got, warm-up included
    unanswered: int       # votes that got no 200 (a timeout, an error): stored or not, either is fine
    events: int           # `voted` + `vote_changed` audit events
    pairs: int            # (request, advocate) pairs whose last acknowledged vote is known
    matching: int         # …whose row in `votes` holds that vote
    refusals: int         # ephemeral messages the emulator got (a refused vote is acknowledged too)
    outbox_pending: int   # Slack updates still queued when the load stopped
    drained_after_s: float | None  # how long the outbox took to empty after that (None: not within the wait)
    presses_pending: int = 0        # presses acknowledged and not applied yet when the load stopped
    applied_after_s: float | None = 0.0  # how long applying them took after that (None: not within the wait)

    @property
    def ok(self) -> bool:
        stored_all = self.acked <= self.events <= self.acked + self.unanswered
        return (stored_all and self.pairs == self.matching and self.refusals == 0
                and self.applied_after_s is not None)


def presses_counter(database_url: str) -> Callable[[], int]:
    """Counts the vote presses acknowledged and not applied yet (reading only: on SQLite it
    never takes the write lock the server's writers queue for)."""
    sessions = make_session_factory(make_engine(database_url), read_only=True)

    def count() -> int:
        with sessions() as s:
            return Waiting(s).count()[0]
    return count


def check_votes(database_url: str, emulator: SlackEmulator, result: Mapping[str, Any], drain_wait: float) -> Check:
    """Compare the load generator's acknowledged votes with the database (once every acknowledged
    press is applied), and time the applying and the outbox drain."""
    engine = make_engine(database_url)
    try:
        presses = presses_counter(database_url)
        waiting, began, applied = presses(), time.monotonic(), None
        while time.monotonic() - began < drain_wait:
            if presses() == 0:
                applied = time.monotonic() - began
                break
            time.sleep(0.05)
        with engine.connect() as conn:
            events = conn.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.kind.in_(("voted", "vote_changed")))) or 0
            stored = {(r, u): (k, retracted) for r, u, k, retracted in
                      conn.execute(select(Vote.request_id, Vote.user_id, Vote.kind, Vote.retracted))}
        final = result["final"]
        matching = sum(1 for r, u, kind in final if stored.get((r, u)) == (kind, False))
        pending = _pending(engine)
        began, drained = time.monotonic(), None
        while time.monotonic() - began < drain_wait:
            if _pending(engine) == 0:
                drained = time.monotonic() - began
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    return Check(acked=result["acked_votes"], unanswered=result["unknown_pairs"], events=events,
                 pairs=len(final), matching=matching, refusals=len(emulator.ephemerals()),
                 outbox_pending=pending, drained_after_s=drained, presses_pending=waiting, applied_after_s=applied)


def _pending(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "pending")) or 0
