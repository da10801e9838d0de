"""How long `cxbot export` takes on a large history, and how much memory it needs.

    python -m bench.export_bench                                  # 100,000 requests, 2,000,000 votes; SQLite
    python -m bench.export_bench --postgres postgresql://postgres@127.0.0.1:5432/test   # and PostgreSQL
    python -m bench.export_bench --requests 200 --votes 2000      # a smoke test (seconds)

On each database (a temporary SQLite file; with `--postgres`, a database created for the run
and dropped after) it builds five years of history with `bench.digest_bench.generate`
(12 departments of 6 advocates, every request routed to every other department), gives each
request a comment and its audit events (filed, routed, decided), then runs `cxbot export` in
a fresh process for each format and reports its time, its rows and bytes, and its peak
resident memory (VmHWM, read by that process). Target: under 150 MB whatever the history's size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text

from bench.digest_bench import NOW, generate, peak_rss_mb
from bench.stack import postgres_database, sqlite_database, work_directory
from cxbot.store.db import make_engine
from cxbot.store.migrate import upgrade
from cxbot.store.models import AuditEvent, Comment, ReviewRequest

REQUESTS, VOTES, YEARS = 100_000, 2_000_000, 5.0
TARGET_RSS_MB = 150.0
BATCH = 5000


def add_comments_and_events(engine: Engine) -> None:
    """A comment (a formula-like one now and then) and the filed, routed and decided events of
    every request, a batch at a time."""
    comments: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def flush(conn: Any) -> None:
        for table, rows in ((Comment, comments), (AuditEvent, events)):
            if rows:
                conn.execute(insert(table), rows)
            rows.clear()

    with engine.begin() as conn:
        read = conn.execute(
            select(ReviewRequest.id, ReviewRequest.filer, ReviewRequest.created_at, ReviewRequest.decided_at,
                   ReviewRequest.status).order_by(ReviewRequest.id))
        for rid, filer, created, decided, status in read.all():
            comments.append(dict(request_id=rid, user_id="U0D00A0", text=f"=SUM({rid}) refunds, \"partial\", øre",
                                 slack_ts=f"{rid}.000100", created_at=created, files=[]))
            events.append(dict(request_id=rid, actor=filer, kind="filed", at=created,
                               data={"title": f"Change {rid}", "department": "d00"}))
            events.append(dict(request_id=rid, actor="cxbot", kind="routed", at=created,
                               data={"departments": [{"department": "d01", "reason": "everyone"}]}))
            if decided is not None:
                events.append(dict(request_id=rid, actor="cxbot", kind="decided", at=decided,
                                   data={"status": status.value, "previous": "open", "outstanding": []}))
            if len(events) >= BATCH:
                flush(conn)
        flush(conn)
        conn.execute(text("ANALYZE"))


def run_export(url: str, out: str, fmt: str) -> dict[str, Any]:
    """`cxbot export` in this process (what `measure` asks a fresh child for): its time, files
    and own peak RSS."""
    import os

    from cxbot.cli import main

    os.environ["CXBOT_DATABASE_URL"] = url
    t0 = time.perf_counter()
    code = main(["export", "--format", fmt, "--out", out])
    seconds = time.perf_counter() - t0
    files = {p.name: p.stat().st_size for p in sorted(Path(out).iterdir())}
    return {"code": code, "seconds": seconds, "bytes": files, "rss_mb": peak_rss_mb()}


def measure(name: str, url: str, requests_n: int, votes_n: int, years: float, workdir: Path) -> list[dict[str, Any]]:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    generate(engine, requests_n, votes_n, years)
    add_comments_and_events(engine)
    built = time.perf_counter() - t0
    engine.dispose()
    print(f"{name}: built {requests_n:,} requests and {votes_n:,} votes over {years:g} years in {built:.0f} s",
          flush=True)
    results = []
    for fmt in ("csv", "jsonl"):
        out = workdir / f"{name}-{fmt}"
        child = subprocess.run([sys.executable, "-m", "bench.export_bench", "--export-of", url, "--out", str(out),
                                "--format", fmt], capture_output=True, text=True)
        if child.returncode != 0:
            raise SystemExit(f"{name} {fmt}: the export failed\n{child.stderr[-2000:]}")
        r = json.loads(child.stdout.splitlines()[-1])
        results.append({"database": name, "format": fmt, **r})
        print(f"{name}: exported as {fmt} in {r['seconds']:.1f} s, peak RSS {r['rss_mb']:.0f} MB", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="also PostgreSQL (a database it creates and drops)")
    parser.add_argument("--requests", type=int, default=REQUESTS, help=f"requests to generate ({REQUESTS:,})")
    parser.add_argument("--votes", type=int, default=VOTES, help=f"votes to generate ({VOTES:,})")
    parser.add_argument("--years", type=float, default=YEARS, help=f"years of history ({YEARS:g})")
    parser.add_argument("--export-of", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)                  # with --export-of
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)  # with --export-of
    args = parser.parse_args(argv)
    if args.export_of:
        print(json.dumps(run_export(args.export_of, args.out, args.format)))
        return 0
    size = (args.requests, args.votes, args.years)
    results: list[dict[str, Any]] = []
    with ExitStack() as stack:
        workdir = stack.enter_context(work_directory())
        results += measure("SQLite", stack.enter_context(sqlite_database(workdir)), *size, workdir)
        if args.postgres:
            results += measure("PostgreSQL", stack.enter_context(postgres_database(args.postgres)), *size, workdir)
    print(f"\nhistory up to {NOW:%Y-%m-%d}: {args.requests:,} requests, {args.votes:,} votes\n")
    print(f"{'database':<12}{'format':<8}{'time':>8}{'votes file':>14}{'all files':>12}{'peak RSS':>11}")
    ok = True
    for r in results:
        votes = r["bytes"][f"votes.{r['format']}"]
        total = sum(r["bytes"].values())
        ok = ok and r["rss_mb"] < TARGET_RSS_MB
        print(f"{r['database']:<12}{r['format']:<8}{r['seconds']:>7.1f}s{votes / 2**20:>11.1f} MiB"
              f"{total / 2**20:>8.1f} MiB{r['rss_mb']:>8.0f} MB")
    print(f"\ntarget: peak RSS under {TARGET_RSS_MB:.0f} MB; {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
