"""How fast cxbot acknowledges Slack under load, against a bare Bolt app served the same way.

    python -m bench.load                                   # cxbot on SQLite, and the baseline
    python -m bench.load --postgres postgresql://postgres@127.0.0.1:5432/test --concurrency 16 --seconds 20

Everything is real and on loopback: the Slack emulator runs in this process; cxbot runs as
`python -m cxbot serve` (gunicorn, threaded workers) on a fresh SQLite file and, with
`--postgres`, on a PostgreSQL database created for the run and dropped after; the baseline is
`bench.bare_bolt` (Bolt listeners that only `ack()`) under the same gunicorn settings.

For each cxbot backend, cxbot and a baseline are served side by side, 50 requests are filed
through `/cx-review` and the modal; once their vote prompts are in the emulator,
`bench.loadgen` (a separate process) runs `--concurrency` client threads, each with a
kept-alive connection to each server: random advocates press Approve/Abstain on random
requests (alternating, so every press changes a vote), and about 10% of requests are
`/cx-review` from leads (which opens the modal after the acknowledgement). The clients work
on the two servers in turns of `--segment` seconds (A B, B A, A B, …; the first `--settle`
seconds of a turn untimed) until each has had `--seconds` timed, after `--warmup` seconds
each: the host's speed drifts from minute to minute, and taking turns every few seconds
gives both servers the same host, so the ratio of their figures measures cxbot, not the
hour. Printed: acknowledgement latency
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
from bench.loadgen import Plan, schedule
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


@dataclass
class Target:
    """A server measured in turns with the others, and what is read of it at each mark."""

    server: Server
    database: str | None = None  # the PostgreSQL database whose backends' CPU counts as its own
    backlog: Callable[[], int] | None = None  # cxbot: presses acknowledged and not applied yet
    pids: list[int] = dataclasses.field(default_factory=list)


def _snapshot(targets: list[Target], active: Target) -> dict[str, Any]:
    own = os.times()
    busy, total = machine_busy_seconds()
    return {"servers": [cpu_seconds(t.pids) for t in targets],
            "postgres": cpu_seconds(postgres_backends(active.database)) if active.database else 0.0,
            "bench": own.user + own.system, "machine": busy, "machine_total": total, "stolen": stolen_seconds(),
            "wall": time.monotonic(), "backlog": active.backlog() if active.backlog is not None else 0}


def measure(targets: list[Target], plan: Plan, workdir: Path, *, quiet_wait: float = 0.0,
            ) -> list[tuple[dict[str, Any], dict[str, float], list[float]]]:
    """Run the load generator against the targets in turns; returns, for each, its result, CPU
    shares over its timed stretches, and its workers' RSS at the end.

    CPU shares are % of one core over the target's timed stretches: its gunicorn master and
    workers, the PostgreSQL backends of its database, the load generator, this process (the
    emulator), `peer` — the other servers (still finishing what they were given before the
    clients moved on: should be near zero) — `stolen` — CPU the host gave other virtual
    machines meanwhile — and `other` — whatever else kept the machine busy. A target with a
    `backlog` gets it in its result: `backlog_start`, read when its first timed stretch
    began, and `backlog_growth`, how much it grew over its timed stretches in all.
    """
    busy_before = wait_for_quiet(quiet_wait) if quiet_wait > 0 else busy_now()
    for target in targets:
        target.pids = [target.server.proc.pid, *target.server.workers()]
    plan = dataclasses.replace(plan, targets=[f"{t.server.url}/slack/events" for t in targets])
    tag = "-".join(str(t.server.port) for t in targets)
    plan_path, out_path = workdir / f"plan-{tag}.json", workdir / f"result-{tag}.json"
    plan_path.write_text(json.dumps(plan_json(plan)))
    proc = subprocess.Popen([sys.executable, "-m", "bench.loadgen", str(plan_path), str(out_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(schedule(plan)[-1].end + 90, proc.kill)
    watchdog.start()
    sums = [dict.fromkeys(("server", "peer", "postgres", "bench", "machine", "machine_total", "stolen", "wall",
                           "backlog"), 0.0) for _ in targets]
    first_backlog: list[int | None] = [None] * len(targets)
    opened: dict[int, dict[str, Any]] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # "measure N" and "stop N" mark the timed stretches of target N
            mark, _, which = line.strip().partition(" ")
            if mark not in ("measure", "stop") or not which.isdigit():
                continue
            n = int(which)
            snap = _snapshot(targets, targets[n])
            if mark == "measure":
                opened[n] = snap
                if first_backlog[n] is None:
                    first_backlog[n] = snap["backlog"]
                continue
            a, b, into = opened.pop(n), snap, sums[n]
            spent = [y - x for x, y in zip(a["servers"], b["servers"], strict=True)]
            into["server"] += spent[n]
            into["peer"] += sum(spent) - spent[n]
            for key in ("postgres", "bench", "machine", "machine_total", "stolen", "wall", "backlog"):
                into[key] += b[key] - a[key]
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    if proc.returncode != 0 or any(s["wall"] == 0 for s in sums):
        raise RuntimeError(f"the load generator failed ({proc.returncode})")
    out = json.loads(out_path.read_text())
    if out["stuck_threads"]:
        progress(f"warning: {out['stuck_threads']} client threads were still waiting for an answer at the end")
    measured = []
    for n, (target, result, c) in enumerate(zip(targets, out["targets"], sums, strict=True)):
        result["backlog_start"], result["backlog_growth"] = int(first_backlog[n] or 0), int(c["backlog"])
        wall = c["wall"]
        cpu = {key: 100 * c[key] / wall for key in ("server", "peer", "postgres", "bench", "stolen")}
        cpu["loadgen"] = 100 * result["window_cpu_s"] / wall
        cpu["machine"] = 100 * c["machine"] / c["machine_total"]
        ours = cpu["server"] + cpu["peer"] + cpu["postgres"] + cpu["loadgen"] + cpu["bench"]
        cpu["other"] = max(0.0, cpu["machine"] * (os.cpu_count() or 1) - ours - cpu["stolen"])
        cpu["before"] = busy_before
        measured.append((result, cpu, list(target.server.rss().values())))
    return measured


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


def bench_cxbot(bench: Bench, backend: str, database_url: str, workers: int) -> list[Run]:
    """Migrate, load the council, serve cxbot and, beside it, bare Bolt under the same gunicorn
    settings; file requests; run the load against both in turns; check the votes."""
    args, emulator, workdir = bench.args, bench.emulator, bench.workdir
    progress(f"cxbot on {backend} ({workers}w×{args.threads}t): migrating, loading the council, serving")
    emulator.reset()
    env = dict(os.environ, SLACK_BOT_TOKEN=emulator.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               CXBOT_SLACK_API_URL=emulator.url, CXBOT_DATABASE_URL=database_url, CXBOT_LOG_LEVEL="WARNING")
    cxbot_cli(env, "db", "upgrade")
    cxbot_cli(env, "council", "load", str(bench.council))
    bare_env = {k: v for k, v in env.items() if k != "CXBOT_DATABASE_URL"}
    with ExitStack() as servers:
        server = servers.enter_context(running(start_cxbot(
            env, workers=workers, threads=args.threads, log=workdir / f"cxbot-{backend}.log")))
        bare = servers.enter_context(running(start_bare_bolt(
            bare_env, workers=workers, threads=args.threads, log=workdir / f"bare-{backend}.log")))
        progress(f"filing {args.requests} requests")
        began = time.monotonic()
        with SlackPeople(f"{server.url}/slack/events", SIGNING_SECRET, emulator) as people:
            file_requests(people, emulator, args.requests)
        prompts = vote_prompts(emulator, args.requests, timeout=60)
        filed_in = time.monotonic() - began
        plan = build_plan(emulator, prompts, targets=[], concurrency=args.concurrency, warmup=args.warmup,
                          seconds=args.seconds, command_share=args.command_share, seed=args.seed,
                          trigger_url=bench.triggers.url, segment=args.segment, settle=args.settle)
        database = None if backend == "SQLite" else database_url.rsplit("/", 1)[-1].split("?")[0]
        progress(f"load: {args.concurrency} clients on bare Bolt and cxbot in turns of {args.segment:g} s, "
                 f"{args.seconds:g} s timed on each")
        (bare_result, bare_cpu, bare_rss), (result, cpu, rss) = measure(
            [Target(bare), Target(server, database, presses_counter(database_url))], plan, workdir,
            quiet_wait=args.quiet_wait)
        check = check_votes(database_url, emulator, result, drain_wait=args.seconds)
        opened = emulator.calls("views.open")
        failed_opens = sum(1 for c in opened if not c.ok)
        problems = log_problems(server.log.read_text(errors="replace"))
    baseline = Run("bare Bolt", workers, args.threads, bare_result, bare_rss, bare_cpu)
    run = Run(f"cxbot {backend}", workers, args.threads, result, rss, cpu, check, baseline=baseline)
    refused = sorted({c.error or "?" for c in opened if not c.ok})
    run.notes.append(f"filed {args.requests} requests ({len(plan.voters)} advocate×request pairs) "
                     f"in {filed_in:.1f} s; views.open after /cx-review: {len(opened) - failed_opens} ok, "
                     f"{failed_opens} failed {refused or ''}".rstrip())
    if result["all_errors"]:
        run.notes.append(f"non-200 answers (warm-up included): {result['all_errors']}")
    if bare_result["all_errors"]:
        run.notes.append(f"bare Bolt's non-200 answers (warm-up included): {bare_result['all_errors']}")
    run.notes += [f"server log: {p}" for p in problems]
    return [baseline, run]


def log_problems(log: str, limit: int = 3) -> list[str]:
    """The first few distinct error lines of a server log, without their timestamps."""
    seen: dict[str, int] = {}
    for line in log.splitlines():
        if "ERROR" in line or "Error" in line or "Traceback" in line:
            message = line.split("] ", 1)[-1].strip()[:160]
            seen[message] = seen.get(message, 0) + 1
    return [f"{n}× {message}" for message, n in list(seen.items())[:limit]]


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
    p.add_argument("--seconds", type=float, default=20.0, help="timed seconds per row (20)")
    p.add_argument("--warmup", type=float, default=3.0, help="load on each server before the timed turns (3)")
    p.add_argument("--segment", type=float, default=2.5,
                   help="seconds on one server before the clients move to the other (2.5)")
    p.add_argument("--settle", type=float, default=0.5, help="untimed start of each turn (0.5)")
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
    parser = _parser()
    args = parser.parse_args(argv)
    if args.segment <= args.settle:
        parser.error(f"--segment ({args.segment:g}) must be longer than --settle ({args.settle:g})")
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
        runs += bench_cxbot(bench, "SQLite", url, args.sqlite_workers)
        pg_version = None
        if args.postgres:
            with postgres_database(args.postgres) as url:
                pg_version = _postgres_version(url)
                runs += bench_cxbot(bench, "PostgreSQL", url, args.postgres_workers)
    print(f"\ncxbot acknowledgement latency: {args.concurrency} clients (threads, one kept-alive connection "
          f"each to each server) on bare Bolt and cxbot in turns of {args.segment:g} s (the first "
          f"{args.settle:g} s of each untimed), after {args.warmup:g} s of warm-up each; "
          f"{runs[0].result['window_s']:g} s timed per row; ~{args.command_share:.0%} /cx-review, "
          f"the rest Approve/Abstain votes")
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
