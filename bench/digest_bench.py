"""How long the weekly digest takes at scale, how large it is and how much memory it needs.

    python -m bench.digest_bench                       # 10,000 requests, 200,000 votes, half a year; SQLite
    python -m bench.digest_bench --requests 100000 --votes 2000000 --years 5   # a company's five years
    python -m bench.digest_bench --postgres URL        # and PostgreSQL (a database it creates and drops)

Generates a council of 12 departments with 6 advocates each and the requested history
(every request routed to every other department), bulk-inserted in batches; then, in a fresh
process (so its peak resident memory is the digest's own), times computing the digest of the
last full week and each rendering, best of several runs, and reports the HTML's size, the
Slack message's blocks and the peak RSS. Targets: compute under 1 s, HTML under 1 MB, the
Slack message within Block Kit's limits, peak RSS under 150 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
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
from cxbot.reports.render import render_csv, render_html, render_slack, render_text
from cxbot.services import digests
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.store.db import make_engine, make_session_factory, normalise_url
from cxbot.store.migrate import upgrade
from cxbot.store.models import ReviewRequest, Routing, Vote

REQUESTS, VOTES, DEPARTMENTS, ADVOCATES = 10_000, 200_000, 12, 6
STAGES = ["Discover", "Buy", "Onboard", "Use", "Get help", "Pay", "Renew", "Leave"]
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BATCH = 5000
WEEK = "2026-W48"


def council_toml(departments: int = DEPARTMENTS, advocates_each: int = ADVOCATES) -> str:
    lines = ['[council]', 'channel = "C0COUNCIL"', 'chair = "U0CHAIR"', 'timezone = "Europe/Oslo"', ""]
    for d in range(departments):
        advocates = ", ".join(f'"U0D{d:02d}A{a}"' for a in range(advocates_each))
        lines += ["[[departments]]", f'key = "d{d:02d}"', f'name = "Department {d:02d}"',
                  f'leads = ["U0D{d:02d}LEAD"]', f"advocates = [{advocates}]", ""]
    return "\n".join(lines)


def generate(engine: Engine, requests_n: int, votes_n: int, years: float, *, council: str | None = None,
             prefix: str = "", routed: int | None = None, open_share: float = 0.15) -> None:
    """The history, inserted a batch at a time so that millions of votes never sit in memory at once.

    `council`: the council file to load first (`council_toml()`); the history uses its
    departments whose key starts with `prefix`, each request routed to `routed` of them
    (every other one by default); `open_share` of the requests are still under review."""
    rnd = random.Random(48)
    start = NOW - timedelta(days=365.25 * years)
    clock = FixedClock(start)
    services = Services(make_session_factory(engine), clock)
    load_council(services.uow(), parse_council(council or council_toml()), clock=clock)
    with engine.connect() as conn:
        depts = [row[0] for row in conn.execute(text("SELECT id FROM departments WHERE key LIKE :p ORDER BY position"),
                                                {"p": prefix + "%"})]
        members = conn.execute(text("SELECT department_id, user_id FROM memberships WHERE role = 'advocate'")).all()
    advocates: dict[int, list[str]] = {}
    for dept, user in members:
        advocates.setdefault(dept, []).append(user)
    span = (NOW - start).total_seconds()
    requests: list[dict[str, Any]] = []
    routings: list[dict[str, Any]] = []
    votes: list[dict[str, Any]] = []
    votes_per_request = votes_n // requests_n

    def flush(conn: Any) -> None:
        for table, rows in ((ReviewRequest, requests), (Routing, routings), (Vote, votes)):
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[i:i + BATCH])
            rows.clear()

    conn = engine.connect()
    trans = conn.begin()
    for rid in range(1, requests_n + 1):
        created = start + timedelta(seconds=span * rid / (requests_n + 1))
        filing = rnd.choice(depts)
        others = [d for d in depts if d != filing]
        routed_to = rnd.sample(others, routed) if routed is not None else others
        outcome = rnd.random()
        decided = created + timedelta(hours=rnd.uniform(4, 200))
        if not open_share:   # all decided: the last ones by now
            decided = min(decided, NOW)
        if decided > NOW or outcome < open_share:
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
        voters = rnd.sample([(d, u) for d in routed_to for u in advocates[d]], votes_per_request)
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
        for position, dept in enumerate(routed_to):
            routings.append(dict(request_id=rid, department_id=dept, position=position, reason="everyone",
                                 answered_at=answered.get(dept)))
        if len(votes) >= 10 * BATCH:
            flush(conn)
    flush(conn)
    if engine.dialect.name == "postgresql":
        conn.execute(text("SELECT setval('review_requests_id_seq', (SELECT max(id) FROM review_requests))"))
    trans.commit()
    conn.execute(text("ANALYZE"))
    conn.commit()
    conn.close()


def best(fn: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        result = None  # let the previous run's result go first: the peak is one run's, not two
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM). Not `getrusage`'s ru_maxrss: Linux
    keeps that across fork and exec, so a child of a large parent (bench.scale, after building
    a company) reports the parent's peak instead of its own."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere (Linux reports KiB)


def run_digest(url: str, week: str = WEEK, now: datetime = NOW) -> dict[str, Any]:
    """Compute and render the digest of `week` as at `now`, in this process; what `measure`
    (and bench.scale) asks a child for."""
    engine = make_engine(url)
    services = Services(make_session_factory(engine), FixedClock(now))
    compute, digest = best(lambda: digests.digest(services.uow(), week=week, clock=services.clock))
    text_s, _ = best(lambda: render_text(digest))
    html_s, html = best(lambda: render_html(digest))
    slack_s, (_, blocks) = best(lambda: render_slack(digest))
    csv_s, csvs = best(lambda: render_csv(digest))
    engine.dispose()
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    return {"compute": compute, "text": text_s, "html": html_s, "slack": slack_s, "csv": csv_s,
            "html_bytes": len(html.encode()), "blocks": len(blocks), "longest_section": max(map(len, sections)),
            "csv_bytes": {name: len(content) for name, content in csvs.items()},
            "filed": digest.headline.filed, "decided": digest.headline.decided, "waiting": len(digest.waiting),
            "rss_mb": peak_rss_mb()}


def measure(name: str, url: str, requests_n: int, votes_n: int, years: float) -> list[tuple[str, str, float]]:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    generate(engine, requests_n, votes_n, years)
    generated = time.perf_counter() - t0
    engine.dispose()
    child = subprocess.run([sys.executable, "-m", "bench.digest_bench", "--digest-of", url],
                           capture_output=True, text=True, check=True)
    r = json.loads(child.stdout)
    csvs = ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in r["csv_bytes"].items())
    print(f"{name}: generated {requests_n:,} requests and {votes_n:,} votes over {years:g} years in "
          f"{generated:.0f} s; {WEEK}: {r['filed']} filed, {r['decided']} decided, {r['waiting']} waiting; "
          f"HTML {r['html_bytes'] / 1024:.0f} KiB, CSV {csvs or 'none'}; "
          f"{r['blocks']} Slack blocks, longest section {r['longest_section']} chars; peak RSS {r['rss_mb']:.0f} MB")
    return [(name, "compute (SQL)", r["compute"]), (name, "render text", r["text"]),
            (name, "render HTML", r["html"]), (name, "render Slack", r["slack"]), (name, "render CSV", r["csv"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--requests", type=int, default=REQUESTS, help=f"requests to generate ({REQUESTS:,})")
    parser.add_argument("--votes", type=int, default=VOTES, help=f"votes to generate ({VOTES:,})")
    parser.add_argument("--years", type=float, default=0.5, help="years of history (0.5)")
    parser.add_argument("--digest-of", help=argparse.SUPPRESS)
    parser.add_argument("--week", default=WEEK, help=argparse.SUPPRESS)              # with --digest-of
    parser.add_argument("--now", default=NOW.isoformat(), help=argparse.SUPPRESS)    # with --digest-of
    args = parser.parse_args()
    if args.digest_of:
        print(json.dumps(run_digest(args.digest_of, args.week, datetime.fromisoformat(args.now))))
        return
    size = (args.requests, args.votes, args.years)
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", *size)
    if args.postgres:
        admin_url = make_url(normalise_url(args.postgres))
        name = f"cxbot_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            rows += measure("PostgreSQL", admin_url.set(database=name).render_as_string(hide_password=False), *size)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"\n{'database':<12}{'step':<18}{'best of 5':>10}")
    for db, step, seconds in rows:
        print(f"{db:<12}{step:<18}{seconds * 1000:>8.0f} ms")
    worst = max(s for _, step, s in rows if step == "compute (SQL)")
    print(f"\nslowest computation: {worst * 1000:.0f} ms (target: under 1000 ms)")


if __name__ == "__main__":
    main()
