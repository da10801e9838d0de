"""`bench/scale.py` at a tiny size on SQLite: it builds the company, prints its table, and the
counts that hold at any size hold — an idle sweep runs a handful of statements however many
requests are open, the morning sweep looks at every open request, and nobody gets more
than one reminder DM that morning. (The acknowledgement runs, which serve cxbot under
gunicorn, are left out: `bench.load` is their own.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_scale_benchmark_runs_small_and_its_counts_hold() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.scale", "--size", "tiny", "--no-ack"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode in (0, 1), done.stderr[-2000:]   # 1: a timing target missed on a busy machine
    idle = re.search(r"^idle sweep, 40 open\s+[\d.]+ ms, (\d+) statements", out, re.M)
    assert idle is not None, out
    assert int(idle.group(1)) <= 20
    morning = re.search(r"^morning sweep\s+[\d.]+ s, [\d,]+ statements, 40 requests \(", out, re.M)
    assert morning is not None, out
    dms = re.search(r"^reminder DMs that morning\s+(\d+) people, (\d+) requests listed; max (\d+) a person", out, re.M)
    assert dms is not None, out
    # 4 departments of 8 advocates; each of the 40 open requests waits on one, where 3 of 8
    # abstained: the 5 others owe it, and their DMs list it (read back by its time, as stored).
    assert (int(dms.group(1)), int(dms.group(2)), int(dms.group(3))) == (32, 200, 1)
    for row in ("next sweep that morning", "digest compute", "digest render HTML / size", "digest peak RSS",
                "digest, 40 waiting",
                "due lanes, 1,000 delivered"):
        assert re.search(rf"^{re.escape(row)}\s+\S", out, re.M), row


def test_the_digest_child_reports_its_own_peak_memory_not_its_parents() -> None:
    """bench.scale runs the digest in a child of a process that has just built a company.
    Linux keeps `getrusage`'s peak RSS across fork and exec, so a child that read it would
    report its parent's peak; `peak_rss_mb` reads the child's own (VmHWM)."""
    ballast = b"x" * (400 * 2**20)   # the parent's memory, written so it is resident
    code = "from bench.digest_bench import peak_rss_mb; print(peak_rss_mb())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    assert len(ballast) and float(done.stdout) < 200, done.stdout


def test_the_ack_ratio_is_taken_turn_by_turn_and_compared_by_medians() -> None:
    """The load generator tags each vote with the turn it was timed in (turn k of every
    server comes one after the other); a run's ratio to bare Bolt is taken a turn at a time,
    so a slow minute of the host weighs on both sides of one ratio, and the councils are
    compared by the medians of those ratios."""
    from bench.loadgen import Plan, schedule
    from bench.report import Run
    from bench.scale import SIZES, Figures, rows, turn_drift

    plan = Plan(targets=["a", "b"], secret="s", concurrency=1, warmup=1.0, seconds=4.0, command_share=0.0, seed=1,
                trigger_url="", team_id="", api_app_id="", verification_token="", channel_id="", channel_name="",
                prompts={}, voters=[], leads=[], segment=2.5, settle=0.5)
    timed = [(s.target, s.turn) for s in schedule(plan) if s.timed]
    assert timed == [(0, 0), (1, 0), (1, 1), (0, 1)]
    assert all(s.turn == -1 for s in schedule(plan) if not s.timed)

    def run(turns: dict[str, list[float]], baseline: Run | None = None) -> Run:
        latencies = [x for values in turns.values() for x in values]
        return Run("r", 1, 16, {"latencies": {"vote": latencies, "command": []}, "vote_turns": turns,
                                "window_s": 4.0}, [], {}, baseline=baseline)

    # The host slowed down in turn 1 for both: each turn's ratio is 2 (p99: nearest rank).
    bare = run({"0": [10.0] * 98 + [20.0, 20.0], "1": [40.0] * 98 + [80.0, 80.0]})
    cxbot = run({"0": [15.0] * 98 + [40.0, 40.0], "1": [60.0] * 98 + [160.0, 160.0]}, bare)
    assert cxbot.turn_ratios(99) == [2.0, 2.0]

    figures = Figures("SQLite")
    figures.turns = {"empty": [[1.5, 1.6, 1.4], [1.5, 1.7]], "company": [[1.65, 1.6, 1.7], [1.5, 1.65]]}
    drift, pairs = turn_drift(figures)
    assert round(drift, 3) == 0.1 and [round(p, 3) for p in pairs] == [0.1, -0.016]
    figures.acks = [("empty", 30.0, 20.0), ("company", 33.0, 20.0)]
    figures.cpu = {"empty": [(60.0, 20.0, 30.0, 2.0)], "company": [(70.0, 25.0, 30.0, 3.0)]}
    shown = {what: figure for what, figure, _ in rows(figures, SIZES["tiny"])}
    assert shown["  CPU in the turns, company"] == "cxbot 70%, PostgreSQL 25%, other 30%; cxbot in bare's 3%"
    assert shown["company ratio vs empty ratio"].startswith("+10.0% turn by turn")


def test_the_export_benchmark_runs_small_and_stays_within_its_memory() -> None:
    """`bench/export_bench.py` at a tiny size on SQLite: it builds a history, exports it in
    both formats in a fresh process, and reports each run's peak memory under the target."""
    done = subprocess.run([sys.executable, "-m", "bench.export_bench", "--requests", "200", "--votes", "2000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    runs = re.findall(r"^SQLite\s+(csv|jsonl)\s+[\d.]+s\s+[\d.]+ MiB\s+[\d.]+ MiB\s+(\d+) MB$", done.stdout, re.M)
    assert [fmt for fmt, _ in runs] == ["csv", "jsonl"], done.stdout
    assert all(int(mb) < 150 for _, mb in runs)
