"""What `bench.load` prints: one row per backend and scenario, memory, CPU, targets, checks."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scenario import Check
from bench.stack import ROOT

TARGET_P99_MS, TARGET_RATIO, TARGET_VOTES_S, TARGET_RSS_MB = 100.0, 2.0, 200.0, 150.0
SCENARIOS = {"vote": "vote", "command": "/cx-review"}


@dataclass
class Run:
    """One backend measured: latencies of the timed window and what the machine did meanwhile."""

    backend: str
    workers: int
    threads: int
    result: dict[str, Any]
    rss_mb: list[float]
    cpu: dict[str, float]  # % of one core during the timed window
    check: Check | None = None
    baseline: Run | None = None  # the bare Bolt row measured in turns with this one
    notes: list[str] = field(default_factory=list)

    @property
    def config(self) -> str:
        return f"{self.workers}w×{self.threads}t"

    def latencies(self, scenario: str) -> list[float]:
        return sorted(self.result["latencies"][scenario])

    def p(self, scenario: str, q: float) -> float:
        return percentile(self.latencies(scenario), q)

    def turn_ratios(self, q: float = 99) -> list[float]:
        """Vote latency percentile `q` over the baseline's, turn by turn (turn k of each is
        measured next to the other's, under the same host): the host's drift from turn to
        turn cancels out of each ratio."""
        if self.baseline is None:
            return []
        ours, theirs = self.result.get("vote_turns", {}), self.baseline.result.get("vote_turns", {})
        ratios = []
        for turn, latencies in ours.items():
            base = theirs.get(turn)
            if latencies and base:
                ratios.append(percentile(sorted(latencies), q) / percentile(sorted(base), q))
        return ratios

    def per_second(self, scenario: str) -> float:
        return len(self.result["latencies"][scenario]) / self.result["window_s"]

    def applied_per_second(self) -> float:
        """Votes applied (not only acknowledged) per second over the window: the acknowledged
        ones less the growth of the backlog of presses waiting to be applied."""
        grown = self.result.get("backlog_growth", 0)
        return (len(self.result["latencies"]["vote"]) - grown) / self.result["window_s"]


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of a sorted list (NaN when empty)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _ms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}"


def _mark(ok: bool) -> str:
    return "✔" if ok else "✘"


def print_table(runs: list[Run]) -> None:
    print(f"\n{'backend':<18} {'gunicorn':<9} {'scenario':<11} {'n':>6} {'p50':>7} {'p95':>7} {'p99 ms':>7} "
          f"{'req/s':>7} {'errors':>7}")
    for run in runs:
        for scenario, label in SCENARIOS.items():
            errors = sum(run.result["errors"][scenario].values())
            print(f"{run.backend:<18} {run.config:<9} {label:<11} {len(run.result['latencies'][scenario]):>6} "
                  f"{_ms(run.p(scenario, 50)):>7} {_ms(run.p(scenario, 95)):>7} {_ms(run.p(scenario, 99)):>7} "
                  f"{run.per_second(scenario):>7.1f} {errors:>7}")
        total = run.per_second("vote") + run.per_second("command")
        print(f"{'':<18} {'':<9} {'all':<11} {'':>6} {'':>7} {'':>7} {'':>7} {total:>7.1f}")
    print("\nresident memory at the end (gunicorn workers, VmRSS):")
    for run in runs:
        print(f"  {run.backend:<18} {run.config:<9} " + ", ".join(f"{r:.0f} MB" for r in run.rss_mb))
    print("\nCPU during the timed window (% of one core; the machine has "
          f"{os.cpu_count()} cores, machine = % of all of them):")
    for run in runs:
        c = run.cpu
        n = len(run.result["latencies"]["vote"]) + len(run.result["latencies"]["command"])
        per_request = run.result["window_cpu_s"] / max(1, n) * 1e6
        server_ms = 10 * c["server"] * run.result["window_s"] / max(1, n)  # % of a core × s / n, in ms
        postgres_ms = 10 * c["postgres"] * run.result["window_s"] / max(1, n)
        print(f"  {run.backend:<18} {run.config:<9} server CPU per request {server_ms:.1f} ms"
              + (f" + postgres {postgres_ms:.1f} ms" if c["postgres"] else ""))
        print(f"  {'':<18} {'':<9} server {c['server']:.0f}%, postgres {c['postgres']:.0f}%, "
              f"load generator {c['loadgen']:.0f}% ({per_request:.0f} µs/request), emulator {c['bench']:.0f}%, "
              f"the other server {c.get('peer', 0):.0f}%, other processes {c['other']:.0f}%, "
              f"taken by the host (steal) {c.get('stolen', 0):.0f}%; "
              f"machine {c['machine']:.0f}% busy "
              f"({c['before']:.0f}% just before); "
              f"{run.result['reconnects']} reconnects")


# A row during which the host took this much CPU (% of one core, steal) is flagged: the
# machine is a virtual one on a shared host, and a slowed row makes any ratio meaningless.
STOLEN_WARNING = 10.0
# The other server's CPU during bare Bolt's turns (cxbot's jobs worker still at work): at this
# much, the baseline is slowed enough to say so.
PEER_WARNING = 5.0


def print_targets(runs: list[Run]) -> bool:
    """Each cxbot run against the targets and its like-for-like baseline; True when all are met."""
    print(f"\ntargets (ratio: against the bare Bolt row measured in turns with it): ack p99 < "
          f"{TARGET_P99_MS:.0f} ms, ≤ {TARGET_RATIO:.0f}× bare Bolt p99, ≥ {TARGET_VOTES_S:.0f} votes/s, "
          f"worker RSS < {TARGET_RSS_MB:.0f} MB")
    all_ok = True
    for run in (r for r in runs if r.backend != "bare Bolt"):
        base = run.baseline
        parts, oks = [], []
        for scenario, label in SCENARIOS.items():
            p99 = run.p(scenario, 99)
            oks.append(p99 < TARGET_P99_MS)
            part = f"{label} p99 {_ms(p99)} ms {_mark(oks[-1])}"
            if base is not None:
                ratio = p99 / base.p(scenario, 99)
                oks.append(ratio <= TARGET_RATIO)
                part += f", {ratio:.1f}× bare {_mark(oks[-1])}"
            parts.append(part)
        votes = min(run.per_second("vote"), run.applied_per_second())
        oks.append(votes >= TARGET_VOTES_S)
        parts.append(f"{votes:.0f} votes/s acknowledged and applied {_mark(oks[-1])}")
        rss = max(run.rss_mb, default=math.nan)
        oks.append(rss < TARGET_RSS_MB)
        parts.append(f"RSS {rss:.0f} MB {_mark(oks[-1])}")
        all_ok = all_ok and all(oks)
        print(f"  {run.backend:<18} {run.config:<9} " + " | ".join(parts))
        if base is not None and base.cpu.get("peer", 0.0) >= PEER_WARNING:
            print(f"  {'':<18} {'':<9} bare Bolt shared the machine with cxbot's background work "
                  f"({base.cpu['peer']:.0f}% of a core during its turns): the ratio flatters cxbot")
        stolen = {r.backend: r.cpu.get("stolen", 0.0) for r in (run, base) if r is not None}
        if max(stolen.values()) >= STOLEN_WARNING:
            print(f"  {'':<18} {'':<9} disturbed: the host took "
                  + ", ".join(f"{v:.0f}% of a core from {k}" for k, v in stolen.items())
                  + " (steal): run again before reading these figures")
    return all_ok


def print_checks(runs: list[Run]) -> bool:
    print("\ncorrectness (every acknowledged vote stored?):")
    all_ok = True
    for run in runs:
        if run.check is None:
            continue
        c = run.check
        drained = (f"drained in {c.drained_after_s:.1f} s" if c.drained_after_s is not None else
                   "still draining at the end of the check (message updates go out at Slack's pace for "
                   "chat.update, about 50 a minute)")
        print(f"  {run.backend:<18} {_mark(c.ok)} {c.acked} votes acknowledged (warm-up included), {c.events} "
              f"voted/vote_changed audit events, {c.unanswered} votes unanswered; {c.matching}/{c.pairs} "
              f"advocate×request pairs hold their last acknowledged vote; {c.refusals} refused")
        applied = (f"all applied {c.applied_after_s:.1f} s later" if c.applied_after_s is not None
                   else "NOT all applied in time")
        print(f"  {'':<18}   presses: {run.result.get('backlog_start', 0)} waiting to be applied when the window "
              f"began, {c.presses_pending} when the load stopped; {applied}")
        print(f"  {'':<18}   outbox: {c.outbox_pending} Slack updates pending when the load stopped, {drained}")
        for note in run.notes:
            print(f"  {'':<18}   {note}")
        all_ok = all_ok and c.ok
    return all_ok


def code_line() -> str:
    """Which cxbot was measured: the commit, and whether cxbot/ had uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + uncommitted changes in cxbot/" if git("status", "--porcelain", "cxbot") else ""
    return f"cxbot: commit {commit}{dirty}"


def machine_line(postgres_version: str | None, idle_busy: float) -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    pg = f"; {postgres_version}" if postgres_version else ""
    return (f"machine: nproc {os.cpu_count()} ({model}), Python {platform.python_version()}{pg}; "
            f"{idle_busy:.0f}% busy before the benchmark started anything")
