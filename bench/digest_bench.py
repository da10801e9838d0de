"""How long the weekly digest takes at scale: 10,000 requests and 200,000 votes.

    python -m bench.digest_bench                       # SQLite (a temporary file)
    python -m bench.digest_bench --postgres URL        # and PostgreSQL (a database it creates and drops)

Generates a council of 12 departments with 6 advocates each and half a year of requests
(every request routed to every other department), bulk-inserted; then times computing the
digest of the busiest week and each rendering, best of several runs. Target: under one
second for each rendering at this size.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

from cxbot.clock import FixedClock
from cxbot.council_file import parse_council
from cxbot.domain.model import Impact, Magnitude, Resolution, Status, VoteKind
from cxbot.reports.render import render_html, render_slack, render_text
from cxbot.services import digests
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.store.db import make_engine, make_session_factory, normalise_url
from cxbot.store.migrate import upgrade
from cxbot.store.models import ReviewRequest, Routing, Vote

REQUESTS, VOTES, DEPARTMENTS, ADVOCATES = 10_000, 200_000, 12, 6
STAGES = ["Discover", "Buy", "Onboard", "Use", "Get help", "Pay", "Renew", "Leave"]
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WEEK = "2026-W48"


def council_toml() -> str:
    lines = ['[council]', 'channel = "C0COUNCIL"', 'chair = "U0CHAIR"', 'timezone = "Europe/Oslo"', ""]
    for d in range(DEPARTMENTS):
        advocates = ", ".join(f'"U0D{d:02d}A{a}"' for a in range(ADVOCATES))
        lines += ["[[departments]]", f'key = "d{d:02d}"', f'name = "Department {d:02d}"',
                  f'leads = ["U0D{d:02d}LEAD"]', f"advocates = [{advocates}]", ""]
    return "\n".join(lines)


def generate(engine: Engine) -> None:
    rnd = random.Random(48)
    clock = FixedClock(START)
    services = Services(make_session_factory(engine), clock)
    load_council(services.uow(), parse_council(council_toml()), clock=clock)
    with engine.connect() as conn:
        depts = [row[0] for row in conn.execute(text("SELECT id FROM departments ORDER BY position"))]
        members = conn.execute(text("SELECT department_id, user_id FROM memberships WHERE role = 'advocate'")).all()
    advocates: dict[int, list[str]] = {}
    for dept, user in members:
        advocates.setdefault(dept, []).append(user)
    span = (NOW - START).total_seconds()
    requests, routings, votes = [], [], []
    votes_per_request = VOTES // REQUESTS
    for rid in range(1, REQUESTS + 1):
        created = START + timedelta(seconds=span * rid / (REQUESTS + 1))
        filing = rnd.choice(depts)
        routed = [d for d in depts if d != filing]
        outcome = rnd.random()
        decided = created + timedelta(hours=rnd.uniform(4, 200))
        if decided > NOW or outcome < 0.15:
            status, decided_at = rnd.choice([Status.OPEN, Status.CHANGES_REQUESTED, Status.ESCALATED]), None
        else:
            status = (Status.APPROVED if outcome < 0.75 else Status.REJECTED if outcome < 0.85
                      else Status.WITHDRAWN if outcome < 0.95 else Status.EXPIRED)
            decided_at = decided
        requests.append(dict(
            id=rid, department_id=filing, filer=f"U0D{filing:02d}LEAD", title=f"Change {rid} <to> & fro",
            summary="A change.", stages=rnd.sample(STAGES, rnd.randint(1, 3)), impact=Impact.NEUTRAL,
            impact_note="", magnitude=rnd.choice(list(Magnitude)), decision_by=(created + timedelta(days=14)).date(),
            link="", status=status, created_at=created, updated_at=decided_at or created, decided_at=decided_at,
            due_at=created + timedelta(days=7), escalation_step=1 if status is Status.ESCALATED else 0,
            escalated_at=None, version=rnd.choice([1, 1, 1, 2]), source_view_id=None))
        answered: dict[int, datetime] = {}
        voters = rnd.sample([(d, u) for d in routed for u in advocates[d]], votes_per_request)
        for dept, user in voters:
            cast = created + timedelta(hours=rnd.uniform(0.5, 150))
            kind = rnd.choices(list(VoteKind), weights=[8, 1, 1])[0]
            if kind is not VoteKind.ABSTAIN:
                answered[dept] = min(answered.get(dept, cast), cast)
            votes.append(dict(
                request_id=rid, user_id=user, department_id=dept, kind=kind,
                note="Needs work <!here>" if kind is VoteKind.OBJECT else "", retracted=False, cast_at=cast,
                updated_at=cast, blocking=True, mitigation="",
                resolution=rnd.choice([None, Resolution.RESOLVED]) if kind is VoteKind.OBJECT else None,
                resolved_by=None, resolved_at=None, resolution_note="", on_behalf_of=None))
        for position, dept in enumerate(routed):
            routings.append(dict(request_id=rid, department_id=dept, position=position, reason="everyone",
                                 answered_at=answered.get(dept)))
    with engine.begin() as conn:
        for table, rows in ((ReviewRequest, requests), (Routing, routings), (Vote, votes)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i:i + 5000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('review_requests_id_seq', (SELECT max(id) FROM review_requests))"))
            conn.execute(text("ANALYZE"))


def best(fn: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def measure(name: str, url: str) -> list[tuple[str, str, float]]:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    generate(engine)
    generated = time.perf_counter() - t0
    services = Services(make_session_factory(engine), FixedClock(NOW))
    compute, digest = best(lambda: digests.digest(services.uow(), week=WEEK, clock=services.clock))
    text_s, _ = best(lambda: render_text(digest))
    html_s, html = best(lambda: render_html(digest))
    slack_s, (_, blocks) = best(lambda: render_slack(digest))
    engine.dispose()
    print(f"{name}: generated {REQUESTS:,} requests and {VOTES:,} votes in {generated:.1f} s; "
          f"{WEEK}: {digest.headline.filed} filed, {digest.headline.decided} decided, {len(digest.waiting)} waiting; "
          f"HTML {len(html) // 1024} KiB, {len(blocks)} Slack blocks")
    return [(name, "compute (SQL)", compute), (name, "compute + text", compute + text_s),
            (name, "compute + HTML", compute + html_s), (name, "compute + Slack", compute + slack_s)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose user may create databases")
    args = parser.parse_args()
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")
    if args.postgres:
        admin_url = make_url(normalise_url(args.postgres))
        name = f"cxbot_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            rows += measure("PostgreSQL", admin_url.set(database=name).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"\n{'database':<12}{'step':<18}{'best of 5':>10}")
    for db, step, seconds in rows:
        print(f"{db:<12}{step:<18}{seconds * 1000:>8.0f} ms")
    worst = max(s for _, step, s in rows if step != "compute (SQL)")
    print(f"\nslowest rendering including its computation: {worst * 1000:.0f} ms (target: under 1000 ms)")


if __name__ == "__main__":
    main()
