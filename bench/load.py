"""How fast cxbot acknowledges Slack under load, against a bare Bolt app served the same way.

    python -m bench.load                                   # cxbot on SQLite, and the baseline
    python -m bench.load --postgres postgresql://postgres@127.0.0.1:5432/test --concurrency 16 --seconds 20

Everything is real and on loopback: the Slack emulator runs in this process; cxbot runs as
`python -m cxbot serve` (gunicorn, threaded workers) on a fresh SQLite file and, with
`--postgres`, on a PostgreSQL database created for the run and dropped after; the baseline is
`bench.bare_bolt` (Bolt listeners that only `ack()`) under the same gunicorn settings.

For each cxbot backend, 50 requests are filed through `/cx-review` and the modal; once their
vote prompts are in the emulator, `bench.loadgen` (a separate process) runs `--concurrency`
client threads, each with a kept-alive connection, for `--warmup` + `--seconds`: random
advocates press Approve/Abstain on random requests (alternating, so every press changes a
vote), and about 10% of requests are `/cx-review` from leads (which opens the modal after the
acknowledgement). The baseline gets the same requests. Printed: acknowledgement latency
p50/p95/p99 and throughput per backend and scenario, sustained votes/s, the gunicorn workers'
RSS at the end, where the CPU went, the ratio to the baseline, the targets, and whether every
acknowledged vote is in the database.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import bare_bolt
from bench.loadgen import Plan
from bench.report import Run, code_line, machine_line, print_checks, print_table, print_targets
from bench.scenario import (
    CHANNEL,
    SIGNING_SECRET,
    build_plan,
    check_votes,
    council_toml,
    file_requests,
    plan_json,
    populate,
    presses_counter,
    vote_prompts,
)
from bench.stack import (
    ROOT,
    Server,
    TriggerService,
    busy_now,
    cpu_seconds,
    cxbot_cli,
    machine_busy_seconds,
    postgres_backends,
    postgres_database,
    sqlite_database,
    start_bare_bolt,
    start_cxbot,
    stolen_seconds,
    wait_for_quiet,
    work_directory,
)
from cxbot.sandbox.client import SlackPeople
from cxbot.sandbox.emulator import SlackEmulator
from cxbot.slack.blocks import ids
from cxbot.slack.listeners.commands import COMMAND
from cxbot.store.db import make_engine

# ---------------------------------------------------------------- measuring


def _cpu_snapshot(server: Server, database: str | None) -> dict[str, float]:
    own = os.times()
    busy, total = machine_busy_seconds()
    return {"server": server.cpu(), "postgres": cpu_seconds(postgres_backends(database)) if database else 0.0,
            "bench": own.user + own.system, "machine": busy, "machine_total": total, "stolen": stolen_seconds(),
            "wall": time.monotonic()}


def measure(server: Server, plan: Plan, workdir: Path, *, database: str | None = None,
            quiet_wait: float = 0.0, backlog: Callable[[], int] | None = None,
            ) -> tuple[dict[str, Any], dict[str, float], list[float]]:
    """Run the load generator against `server`; returns its result, CPU shares, and worker RSS at the end.

    CPU shares are % of one core over the timed window: the gunicorn master and workers, the
    PostgreSQL backends of `database`, the load generator, this process (the emulator),
    `stolen` — CPU the host gave other virtual machines meanwhile — and `other` — whatever
    else kept the machine busy. `backlog` (cxbot: the presses
    acknowledged and not applied yet) is read at both ends of the window, into the result as
    `backlog_start` and `backlog_stop`.
    """
    busy_before = wait_for_quiet(quiet_wait) if quiet_wait > 0 else busy_now()
    plan = dataclasses.replace(plan, url=f"{server.url}/slack/events")
    tag = f"{server.name.replace(' ', '-')}-{server.port}"
    plan_path, out_path = workdir / f"plan-{tag}.json", workdir / f"result-{tag}.json"
    plan_path.write_text(json.dumps(plan_json(plan)))
    proc = subprocess.Popen([sys.executable, "-m", "bench.loadgen", str(plan_path), str(out_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(plan.warmup + plan.seconds + 90, proc.kill)
    watchdog.start()
    marks: dict[str, dict[str, float]] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # "measure" and "stop" mark the timed window
            marks[line.strip()] = _cpu_snapshot(server, database)
            if backlog is not None:
                marks[line.strip()]["backlog"] = backlog()
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    rss = list(server.rss().values())
    if proc.returncode != 0 or not {"measure", "stop"} <= marks.keys():
        raise RuntimeError(f"the load generator failed ({proc.returncode})")
    result = json.loads(out_path.read_text())
    if result["stuck_threads"]:
        progress(f"warning: {result['stuck_threads']} client threads were still waiting for an answer at the end")
    a, b = marks["measure"], marks["stop"]
    result["backlog_start"], result["backlog_stop"] = int(a.get("backlog", 0)), int(b.get("backlog", 0))
    wall = b["wall"] - a["wall"]
    cpu = {key: 100 * (b[key] - a[key]) / wall for key in ("server", "postgres", "bench", "stolen")}
    cpu["loadgen"] = 100 * result["window_cpu_s"] / wall
    cpu["machine"] = 100 * (b["machine"] - a["machine"]) / (b["machine_total"] - a["machine_total"])
    ours = cpu["server"] + cpu["postgres"] + cpu["loadgen"] + cpu["bench"]
    cpu["other"] = max(0.0, cpu["machine"] * (os.cpu_count() or 1) - ours - cpu["stolen"])
    cpu["before"] = busy_before
    return result, cpu, rss


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Bench:
    """What every measured backend shares: the settings, the emulator, the trigger service, a work directory."""

    args: argparse.Namespace
    emulator: SlackEmulator
    triggers: TriggerService
    workdir: Path
    council: Path


def progress(text: str) -> None:
    print(f"[bench.load] {text}", file=sys.stderr, flush=True)


def bench_cxbot(bench: Bench, backend: str, database_url: str, workers: int) -> tuple[Run, Plan]:
    """Migrate, load the council, serve cxbot, file requests, run the load, check the votes."""
    args, emulator, workdir = bench.args, bench.emulator, bench.workdir
    progress(f"cxbot on {backend} ({workers}w×{args.threads}t): migrating, loading the council, serving")
    emulator.reset()
    env = dict(os.environ, SLACK_BOT_TOKEN=emulator.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               CXBOT_SLACK_API_URL=emulator.url, CXBOT_DATABASE_URL=database_url, CXBOT_LOG_LEVEL="WARNING")
    cxbot_cli(env, "db", "upgrade")
    cxbot_cli(env, "council", "load", str(bench.council))
    log = workdir / f"cxbot-{backend}.log"
    with running(start_cxbot(env, workers=workers, threads=args.threads, log=log)) as server:
        progress(f"filing {args.requests} requests")
        began = time.monotonic()
        with SlackPeople(f"{server.url}/slack/events", SIGNING_SECRET, emulator) as people:
            file_requests(people, emulator, args.requests)
        prompts = vote_prompts(emulator, args.requests, timeout=60)
        filed_in = time.monotonic() - began
        plan = build_plan(emulator, prompts, url="", concurrency=args.concurrency, warmup=args.warmup,
                          seconds=args.seconds, command_share=args.command_share, seed=args.seed,
                          trigger_url=bench.triggers.url)
        database = None if backend == "SQLite" else database_url.rsplit("/", 1)[-1].split("?")[0]
        progress(f"load: {args.concurrency} clients, {args.warmup:g} s warm-up + {args.seconds:g} s")
        result, cpu, rss = measure(server, plan, workdir, database=database, quiet_wait=args.quiet_wait,
                                   backlog=presses_counter(database_url))
        check = check_votes(database_url, emulator, result, drain_wait=args.seconds)
        opened = emulator.calls("views.open")
        failed_opens = sum(1 for c in opened if not c.ok)
        problems = log_problems(server.log.read_text(errors="replace"))
    run = Run(f"cxbot {backend}", workers, args.threads, result, rss, cpu, check)
    refused = sorted({c.error or "?" for c in opened if not c.ok})
    run.notes.append(f"filed {args.requests} requests ({len(plan.voters)} advocate×request pairs) "
                     f"in {filed_in:.1f} s; views.open after /cx-review: {len(opened) - failed_opens} ok, "
                     f"{failed_opens} failed {refused or ''}".rstrip())
    if result["all_errors"]:
        run.notes.append(f"non-200 answers (warm-up included): {result['all_errors']}")
    run.notes += [f"server log: {p}" for p in problems]
    return run, plan


def log_problems(log: str, limit: int = 3) -> list[str]:
    """The first few distinct error lines of a server log, without their timestamps."""
    seen: dict[str, int] = {}
    for line in log.splitlines():
        if "ERROR" in line or "Error" in line or "Traceback" in line:
            message = line.split("] ", 1)[-1].strip()[:160]
            seen[message] = seen.get(message, 0) + 1
    return [f"{n}× {message}" for message, n in list(seen.items())[:limit]]


def bench_bare(bench: Bench, plan: Plan, workers: int) -> Run:
    """The same load (a cxbot run's plan) against the acknowledging Bolt app, under the same gunicorn settings."""
    threads, emulator = bench.args.threads, bench.emulator
    progress(f"bare Bolt ({workers}w×{threads}t): load")
    env = dict(os.environ, SLACK_BOT_TOKEN=emulator.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               CXBOT_SLACK_API_URL=emulator.url, CXBOT_LOG_LEVEL="WARNING")
    log = bench.workdir / f"bare-{workers}x{threads}.log"
    with running(start_bare_bolt(env, workers=workers, threads=threads, log=log)) as server:
        result, cpu, rss = measure(server, plan, bench.workdir, quiet_wait=bench.args.quiet_wait)
    return Run("bare Bolt", workers, threads, result, rss, cpu)


def _postgres_version(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return " ".join(str(conn.scalar(text("SELECT version()"))).split()[:2])
    finally:
        engine.dispose()


# ---------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--postgres", metavar="URL",
                   help="also measure cxbot on PostgreSQL (in a database it creates and drops)")
    p.add_argument("--concurrency", type=int, default=16, help="client threads, one connection each (16)")
    p.add_argument("--seconds", type=float, default=20.0, help="timed window per backend (20)")
    p.add_argument("--warmup", type=float, default=3.0, help="load before the timed window, not measured (3)")
    p.add_argument("--requests", type=int, default=50, help="requests filed before the timed phase (50)")
    p.add_argument("--threads", type=int, default=16, help="gunicorn threads per worker (16, as `cxbot serve`)")
    p.add_argument("--sqlite-workers", type=int, default=1, help="gunicorn web workers on SQLite (1, as `cxbot serve`)")
    p.add_argument("--postgres-workers", type=int, default=1,
                   help="gunicorn web workers on PostgreSQL (1, as `cxbot serve`; the jobs worker is one more)")
    p.add_argument("--command-share", type=float, default=0.1, help="share of /cx-review among requests (0.1)")
    p.add_argument("--quiet-wait", type=float, default=20.0,
                   help="before each timed run, wait up to this many seconds for the machine to be idle (20)")
    p.add_argument("--seed", type=int, default=1)
    return p


def _stop_on_signals() -> None:
    """Ctrl-C (even if the shell started us with SIGINT ignored) and SIGTERM unwind through the
    `finally` blocks, so the servers (in their own process groups) and the database are removed."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _stop_on_signals()
    assert (bare_bolt.APPROVE, bare_bolt.ABSTAIN, bare_bolt.COMMAND, bare_bolt.FILE_VIEW) == (
        ids.APPROVE, ids.ABSTAIN, COMMAND, ids.FILE_VIEW), "bench/bare_bolt.py ids differ from cxbot's"
    began = time.monotonic()
    idle_busy = busy_now()
    runs: list[Run] = []
    with ExitStack() as stack:
        workdir = stack.enter_context(work_directory())
        emulator = stack.enter_context(SlackEmulator())
        populate(emulator)
        triggers = stack.enter_context(TriggerService(emulator, CHANNEL))
        council = workdir / "council.toml"
        council.write_text(council_toml())
        bench = Bench(args, emulator, triggers, workdir, council)

        url = stack.enter_context(sqlite_database(workdir))
        run, plan = bench_cxbot(bench, "SQLite", url, args.sqlite_workers)
        runs += [bench_bare(bench, plan, args.sqlite_workers), run]
        pg_version = None
        if args.postgres:
            with postgres_database(args.postgres) as url:
                pg_version = _postgres_version(url)
                run, _ = bench_cxbot(bench, "PostgreSQL", url, args.postgres_workers)
            if args.postgres_workers != args.sqlite_workers:
                runs.append(bench_bare(bench, plan, args.postgres_workers))
            runs.append(run)
    print(f"\ncxbot acknowledgement latency: {args.concurrency} clients (threads, one kept-alive connection "
          f"each), {args.warmup:g} s warm-up + {args.seconds:g} s measured per row; ~{args.command_share:.0%} "
          f"/cx-review, the rest Approve/Abstain votes")
    print(machine_line(pg_version, idle_busy))
    print(code_line())
    print_table(runs)
    targets_ok = print_targets(runs)
    checks_ok = print_checks(runs)
    print(f"\ntotal time {time.monotonic() - began:.0f} s; targets {'met' if targets_ok else 'NOT all met'}; "
          f"votes {'all stored' if checks_ok else 'NOT all stored'}")
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
