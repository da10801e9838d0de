"""A company-sized council, measured: the sweep, the day's reminders, the digest, the outbox
and acknowledging Slack, with five years of history.

    python -m bench.scale --postgres postgresql://postgres@127.0.0.1:5432/test   # SQLite, then PostgreSQL
    python -m bench.scale --size quick                   # a small company, SQLite only, in a few minutes
    python -m bench.scale --size sweep --no-ack          # the full council's morning, little history
    python -m bench.scale --size tiny --no-ack           # a smoke test (seconds)

On each database (a temporary SQLite file; with `--postgres`, a database created for the
run and dropped after) it builds a company: 50 departments of 40 advocates and a lead
(2,000 advocates), five years of decided history (100,000 requests, 2,000,000 votes,
bulk-inserted by `bench.digest_bench.generate`), 10,000 open requests filed over the last
week, each routed to two departments (one has approved; in the other 15 of the 40
advocates abstained, so 25 owe an answer), and 2,000,000 delivered outbox rows of the
last fortnight. The council file also holds `bench.scenario`'s eight departments, which a
routing rule keeps apart, for the acknowledgement runs below.

Then, with the clock at a Tuesday 09:00 (Europe/Oslo) and everyone in the council's zone:

- the idle sweep an hour earlier (best of 5: time, SQL statements);
- the morning sweep that sends the day's reminders for the 10,000 open requests (its own
  time: reading, deciding, queuing the DMs in the outbox; Slack delivery comes later);
  and the next sweep a minute later;
- reminder DMs per person that morning (outbox items for each person: at most 1);
- the weekly digest of the history's busiest week, and of the morning's week with every open
  request waiting, each in a fresh process (`bench.digest_bench`): compute, HTML size, peak RSS;
- the outbox's due-lanes query with the delivered rows, after ANALYZE (best of 5);
- the vote acknowledgement p99 under load beside a bare Bolt app's, as `bench.load`
  measures it (same emulator, load generator and gunicorn settings), on an empty council
  and on the company's database, in turns (empty, company, empty, company…) because this
  machine's speed drifts: a company's history must not slow an acknowledgement, so the
  company's ratio to bare Bolt stays within 10 % of the empty council's.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select, text, update

from bench import digest_bench, scenario
from bench.load import Bench, bench_cxbot
from bench.load import _parser as load_parser
from bench.stack import (
    ROOT,
    TriggerService,
    cpu_seconds,
    postgres_backends,
    postgres_database,
    sqlite_database,
    work_directory,
)
from bench.sweep_bench import Counter, timed
from cxbot.clock import FixedClock
from cxbot.domain.model import Impact, Magnitude, Status, VoteKind
from cxbot.reports.digest import week_of
from cxbot.sandbox.emulator import SlackEmulator
from cxbot.services import outbox
from cxbot.services.context import Services
from cxbot.services.reminders import listed_ids
from cxbot.services.sweep import SweepReport, sweep
from cxbot.store.db import make_engine, make_session_factory
from cxbot.store.migrate import upgrade
from cxbot.store.models import DailyReminder, OutboxItem, Reminder, ReviewRequest, Routing, Vote

OSLO = ZoneInfo("Europe/Oslo")
BATCH = 5000
TARGET_IDLE_MS, TARGET_IDLE_STATEMENTS, TARGET_MORNING_S, TARGET_RATIO_DRIFT = 100.0, 20, 5.0, 0.10


@dataclass(frozen=True)
class Size:
    departments: int
    advocates: int          # each department's
    open: int               # open requests, all due for the morning's reminders
    history: int            # decided requests over `years`
    votes: int              # their votes
    years: float
    outbox: int             # delivered outbox rows
    load_seconds: float     # timed seconds per server and ack run
    rounds: int             # ack runs on each council (empty, company), in turns


SIZES = {
    "full": Size(50, 40, 10_000, 100_000, 2_000_000, 5, 2_000_000, 10, 4),
    # The full council and open requests with little history: the morning sweep's work, quickly built.
    "sweep": Size(50, 40, 10_000, 1_000, 20_000, 0.2, 1_000, 5, 1),
    "quick": Size(10, 16, 1_000, 10_000, 100_000, 1, 100_000, 6, 2),
    "tiny": Size(4, 8, 40, 200, 1_000, 0.2, 1_000, 3, 1),
}


def company_user(d: int, a: int) -> str:
    return f"U0C{d:02d}A{a:02d}"


def council_toml(size: Size) -> str:
    """`bench.scenario`'s council (its departments answer the load's presses) and the
    company's departments, which a routing rule keeps out of the scenario's requests."""
    lines = [scenario.council_toml(), ""]
    keys = []
    for d in range(size.departments):
        advocates = ", ".join(f'"{company_user(d, a)}"' for a in range(size.advocates))
        keys.append(f'"c{d:02d}"')
        lines += ["[[departments]]", f'key = "c{d:02d}"', f'name = "Company department {d:02d}"',
                  f'leads = ["U0C{d:02d}LEAD"]', f"advocates = [{advocates}]", ""]
    lines += ["[[routing]]", f"remove = [{', '.join(keys)}]", ""]
    return "\n".join(lines)


def the_morning() -> datetime:
    """Tuesday 09:00 in Oslo of the week after this one: later than anything the servers
    of the ack runs do with the real clock, so the company's requests are not due for them."""
    today = datetime.now(OSLO).date()
    tuesday = today + timedelta(days=7 - today.weekday() + 1)
    return datetime(tuesday.year, tuesday.month, tuesday.day, 9, 0, tzinfo=OSLO).astimezone(UTC)


# ---------------------------------------------------------------- building the company


def build(url: str, size: Size, morning: datetime) -> float:
    """The company in the database at `url`; returns how long building took."""
    began = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    digest_bench.generate(engine, size.history, size.votes, size.years, council=council_toml(size), prefix="c",
                          routed=2, open_share=0.0)
    _open_requests(engine, size, morning)
    _delivered_outbox(engine, size.outbox)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return time.perf_counter() - began


def _flush(engine: Engine, tables: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    with engine.begin() as conn:
        for table, rows in tables:
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[i:i + BATCH])
            rows.clear()


def _open_requests(engine: Engine, size: Size, morning: datetime) -> None:
    """`size.open` requests filed over the week before `morning`, due in one to two weeks,
    each routed to two departments: the first approved, the second outstanding with 3/8 of
    its advocates abstaining; all due at `morning`, as the sweep left them the day before."""
    rnd = random.Random(20)
    with engine.connect() as conn:
        depts = dict(conn.execute(text("SELECT id, key FROM departments WHERE key LIKE 'c%' ORDER BY position")).all())
        first = (conn.scalar(select(func.max(ReviewRequest.id))) or 0) + 1
    index = {dept: int(key[1:]) for dept, key in depts.items()}
    approving = min(20, size.advocates)
    abstaining = size.advocates * 3 // 8
    requests: list[dict[str, Any]] = []
    routings: list[dict[str, Any]] = []
    votes: list[dict[str, Any]] = []
    for rid in range(first, first + size.open):
        filing, answered, waiting = rnd.sample(list(depts), 3)
        created = morning - timedelta(days=rnd.uniform(1, 7))
        due = morning + timedelta(days=rnd.uniform(7, 14))
        requests.append(dict(
            id=rid, department_id=filing, filer=f"U0C{index[filing]:02d}LEAD", title=f"Change {rid}",
            summary="A change.", stages=["Pay"], impact=Impact.NEUTRAL, impact_note="", magnitude=Magnitude.MAJOR,
            decision_by=(due + timedelta(days=7)).date(), link="", status=Status.OPEN, created_at=created,
            updated_at=created, decided_at=None, due_at=due, escalation_step=0, escalated_at=None, version=1,
            source_view_id=None, next_due_at=morning))
        cast = created + timedelta(hours=1)
        routings += [dict(request_id=rid, department_id=answered, position=0, reason="bench", answered_at=cast),
                     dict(request_id=rid, department_id=waiting, position=1, reason="bench", answered_at=None)]
        for dept, kind, n in ((answered, VoteKind.APPROVE, approving), (waiting, VoteKind.ABSTAIN, abstaining)):
            for a in rnd.sample(range(size.advocates), n):
                votes.append(dict(
                    request_id=rid, user_id=company_user(index[dept], a), department_id=dept, kind=kind, note="",
                    retracted=False, cast_at=cast, updated_at=cast, blocking=True, mitigation="", resolution=None,
                    resolved_by=None, resolved_at=None, resolution_note="", on_behalf_of=None))
        if len(votes) >= 10 * BATCH:
            _flush(engine, [(ReviewRequest, requests), (Routing, routings), (Vote, votes)])
    _flush(engine, [(ReviewRequest, requests), (Routing, routings), (Vote, votes)])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('review_requests_id_seq', (SELECT max(id) FROM review_requests))"))


def _delivered_outbox(engine: Engine, count: int) -> None:
    """Delivered Slack calls of the last fortnight (inside the default retention of 14 days,
    so the servers of the ack runs do not prune them meanwhile)."""
    rnd = random.Random(14)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        at = now - timedelta(days=rnd.uniform(0.1, 13))
        rid = rnd.randint(1, 100_000)
        rows.append(dict(lane=f"request:{rid}", kind="refresh_request", payload={"request_id": rid},
                         coalesce_key=None, status="done", attempts=1, next_attempt_at=at, created_at=at,
                         delivered_at=at, last_error=""))
        if len(rows) >= 10 * BATCH:
            _flush(engine, [(OutboxItem, rows)])
    _flush(engine, [(OutboxItem, rows)])


# ---------------------------------------------------------------- measuring


@dataclass
class Figures:
    backend: str
    built_s: float = 0.0
    idle: tuple[float, int] = (0.0, 0)
    morning: tuple[float, int] = (0.0, 0)
    morning_cpu: float = 0.0        # this process's CPU meanwhile (SQLite's own work included)
    morning_server_cpu: float | None = None   # PostgreSQL's backends' CPU meanwhile
    after: tuple[float, int] = (0.0, 0)
    report: SweepReport = field(default_factory=SweepReport)
    people: int = 0                 # people sent a reminder DM that morning
    dms_max: int = 0                # the most DMs one person got that morning
    listed: int = 0                 # requests listed in those DMs, in all
    digest: dict[str, Any] = field(default_factory=dict)         # the history's busiest week
    digest_open: dict[str, Any] = field(default_factory=dict)    # the morning's week: the open requests waiting
    due_lanes_ms: float = 0.0
    delivered: int = 0
    acks: list[tuple[str, float, float]] = field(default_factory=list)   # (council, cxbot p99, bare p99)
    turns: dict[str, list[list[float]]] = field(default_factory=dict)   # council → each run's p99 ratios a turn
    # council → each run's CPU in its turns, % of a core: cxbot's server, its PostgreSQL
    # backends, what else kept the machine busy; and in bare Bolt's turns, cxbot's (`peer`)
    cpu: dict[str, list[tuple[float, float, float, float]]] = field(default_factory=dict)


def measure_sweeps(url: str, morning: datetime, figures: Figures) -> None:
    engine = make_engine(url)
    counter = Counter(engine)
    clock = FixedClock(morning - timedelta(hours=1))
    services = Services(make_session_factory(engine), clock)

    def one() -> SweepReport:
        return sweep(services.uow, clock=clock, timezones=lambda users: {})

    idle = min((timed(one, counter) for _ in range(5)), key=lambda r: r[0])
    figures.idle = (idle[0], idle[1])
    clock.set(morning)
    database = engine.url.database if engine.dialect.name == "postgresql" else None
    server = cpu_seconds(postgres_backends(database)) if database else 0.0
    cpu = time.process_time()
    seconds, statements, figures.report = timed(one, counter)
    figures.morning, figures.morning_cpu = (seconds, statements), time.process_time() - cpu
    if database:   # the pool's connections, open from the idle sweeps to after the morning's
        figures.morning_server_cpu = cpu_seconds(postgres_backends(database)) - server
    clock.set(morning + timedelta(minutes=1))
    after = timed(one, counter)
    figures.after = (after[0], after[1])
    with engine.connect() as conn:
        per_person = conn.execute(select(OutboxItem.lane, func.count()).where(
            OutboxItem.kind.in_(("daily_reminder", "reminder")), OutboxItem.created_at >= morning)
            .group_by(OutboxItem.lane)).all()
        figures.people = len(per_person)
        figures.dms_max = max((n for _, n in per_person), default=0)
        figures.listed = sum(len(listed_ids(listed)) for listed in conn.scalars(
            select(DailyReminder.listed).where(DailyReminder.at >= morning)))
        figures.listed += conn.scalar(select(func.count()).select_from(Reminder).where(Reminder.at >= morning)) or 0
    engine.dispose()


def _digest_child(url: str, *args: str) -> dict[str, Any]:
    child = subprocess.run([sys.executable, "-m", "bench.digest_bench", "--digest-of", url, *args], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    return json.loads(child.stdout)  # type: ignore[no-any-return]


def measure_digest(url: str, morning: datetime, figures: Figures) -> None:
    """The history's busiest week; and the morning's own week as at the morning, whose
    waiting list holds every open request (the history ends on a fixed day, the open
    requests are filed in the week before the morning, which follows the real date)."""
    figures.digest = _digest_child(url)
    figures.digest_open = _digest_child(url, "--week", week_of(morning, OSLO.key), "--now", morning.isoformat())


def measure_due_lanes(url: str, figures: Figures) -> None:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as s:
        figures.delivered = s.scalar(select(func.count()).select_from(OutboxItem)
                                     .where(OutboxItem.status == "done")) or 0
        now = datetime.now(UTC)
        seconds, _ = digest_bench.best(lambda: outbox.due_lanes(s, now))
    figures.due_lanes_ms = seconds * 1000
    engine.dispose()


def settle_outbox(url: str) -> None:
    """Mark what the morning queued as delivered: the ack runs' servers must not spend the
    run sending 2,000 DMs to people the emulator does not know."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(OutboxItem).where(OutboxItem.status == "pending")
                     .values(status="done", delivered_at=datetime.now(UTC)))
    engine.dispose()


@contextmanager
def database(backend: str, workdir: Path, postgres: str | None) -> Iterator[str]:
    if backend == "SQLite":
        with sqlite_database(workdir) as url:
            yield url
    else:
        assert postgres is not None
        with postgres_database(postgres) as url:
            yield url


def ack_runs(backend: str, urls: dict[str, str], size: Size, bench: dict[str, Bench], workers: int,
             figures: Figures) -> None:
    """`bench.load`'s acknowledgement run on each council in turns, `size.rounds` times each,
    in the order empty, company, company, empty, empty, … (a drift of the host over the runs
    weighs on both councils alike)."""
    for n in range(size.rounds):
        for council in ("empty", "company") if n % 2 == 0 else ("company", "empty"):
            progress(f"{backend}: vote acknowledgements on the {council} council")
            baseline, run = bench_cxbot(bench[council], backend, urls[council], workers)
            figures.acks.append((council, run.p("vote", 99), baseline.p("vote", 99)))
            figures.turns.setdefault(council, []).append(run.turn_ratios(99))
            figures.cpu.setdefault(council, []).append(
                (run.cpu["server"], run.cpu["postgres"], run.cpu["other"], baseline.cpu["peer"]))


def progress(message: str) -> None:
    print(f"[bench.scale] {message}", file=sys.stderr, flush=True)


def run_backend(backend: str, args: argparse.Namespace, size: Size, morning: datetime, workdir: Path,
                bench: dict[str, Bench] | None) -> Figures:
    figures = Figures(backend)
    with ExitStack() as stack:
        url = stack.enter_context(database(backend, workdir, args.postgres))
        progress(f"{backend}: building the company ({size.history:,} decided requests, {size.votes:,} votes, "
                 f"{size.open:,} open, {size.outbox:,} delivered outbox rows)")
        figures.built_s = build(url, size, morning)
        progress(f"{backend}: built in {figures.built_s:.0f} s; sweeps")
        measure_sweeps(url, morning, figures)
        progress(f"{backend}: digest, due lanes")
        measure_digest(url, morning, figures)
        measure_due_lanes(url, figures)
        if bench is not None:
            settle_outbox(url)
            empty = stack.enter_context(database(backend, workdir, args.postgres))
            workers = args.sqlite_workers if backend == "SQLite" else args.postgres_workers
            ack_runs(backend, {"empty": empty, "company": url}, size, bench, workers, figures)
    return figures


# ---------------------------------------------------------------- the report


def _ratios(figures: Figures, council: str) -> list[float]:
    return [p99 / bare for c, p99, bare in figures.acks if c == council]


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}×"
    return f"{statistics.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})"


def _quartiles(values: list[float]) -> str:
    """Median (quartiles), n."""
    if len(values) < 2:
        return _spread(values)
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):.2f}× ({q1:.2f}–{q3:.2f}), n={len(values)}"


def turn_drift(figures: Figures) -> tuple[float, list[float]]:
    """The company's ratio to bare Bolt against the empty council's: the median of every
    turn's ratio on the company over that on the empty council, less one; and the same from
    each pair of runs measured one after the other (their spread: the measurement's noise)."""
    empty = [r for run in figures.turns.get("empty", []) for r in run]
    company = [r for run in figures.turns.get("company", []) for r in run]
    pairs = [statistics.median(c) / statistics.median(e) - 1
             for e, c in zip(figures.turns.get("empty", []), figures.turns.get("company", []), strict=False)
             if e and c]
    return statistics.median(company) / statistics.median(empty) - 1, pairs


def rows(figures: Figures, size: Size) -> list[tuple[str, str, bool | None]]:
    """(what, figure, target met?) for one database."""
    f, d = figures, figures.digest
    idle_ok = f.idle[0] * 1000 < TARGET_IDLE_MS and f.idle[1] <= TARGET_IDLE_STATEMENTS
    out: list[tuple[str, str, bool | None]] = [
        (f"idle sweep, {size.open:,} open", f"{f.idle[0] * 1000:.1f} ms, {f.idle[1]} statements", idle_ok),
        ("morning sweep", f"{f.morning[0]:.2f} s, {f.morning[1]:,} statements, {f.report.requests:,} requests "
                          f"({f.morning_cpu:.1f} s CPU" + (f", the server's {f.morning_server_cpu:.1f} s)"
                                                           if f.morning_server_cpu is not None else ")"),
         f.morning[0] < TARGET_MORNING_S and f.report.requests == size.open and f.report.failed == 0),
        ("next sweep that morning", f"{f.after[0] * 1000:.1f} ms, {f.after[1]} statements",
         f.after[1] <= TARGET_IDLE_STATEMENTS),
        ("reminder DMs that morning", f"{f.people:,} people, {f.listed:,} requests listed; max {f.dms_max} a person",
         f.dms_max == 1 and f.people > 0),
    ]
    if d:
        out += [
            ("digest compute", f"{d['compute'] * 1000:.0f} ms", d["compute"] < 1.0),
            ("digest render HTML / size", f"{d['html'] * 1000:.0f} ms, {d['html_bytes'] / 1024:.0f} KiB",
             d["html_bytes"] < 1024 * 1024),
            ("digest peak RSS", f"{d['rss_mb']:.0f} MB", d["rss_mb"] < 150),
        ]
    if o := f.digest_open:
        out.append((f"digest, {o['waiting']:,} waiting",
                    f"{o['compute'] * 1000:.0f} ms, {o['html_bytes'] / 1024:.0f} KiB, {o['rss_mb']:.0f} MB",
                    o["compute"] < 1.0 and o["html_bytes"] < 1024 * 1024 and o["rss_mb"] < 150))
    out.append((f"due lanes, {f.delivered:,} delivered", f"{f.due_lanes_ms:.1f} ms", f.due_lanes_ms < 10))
    if f.acks:
        empty, company = _ratios(f, "empty"), _ratios(f, "company")
        for council, values in (("empty", empty), ("company", company)):
            p99 = [(p, b) for c, p, b in f.acks if c == council]
            shown = ", ".join(f"{p:.1f}/{b:.1f}" for p, b in p99)
            out.append((f"vote ack p99 / bare Bolt, {council}", f"{shown} ms → {_spread(values)}", None))
        for council in ("empty", "company"):
            turns = [r for run in f.turns.get(council, []) for r in run]
            out.append((f"  turn by turn, {council}", _quartiles(turns), None))
        for council in ("empty", "company"):
            if cpu := f.cpu.get(council):
                server, postgres, other, peer = (statistics.median(c[i] for c in cpu) for i in range(4))
                out.append((f"  CPU in the turns, {council}", f"cxbot {server:.0f}%, PostgreSQL {postgres:.0f}%, "
                            f"other {other:.0f}%; cxbot in bare's {peer:.0f}%", None))
        pooled = statistics.median(company) / statistics.median(empty) - 1
        drift, pairs = turn_drift(f)
        shown = f"{min(pairs):+.0%} to {max(pairs):+.0%}" if pairs else "-"
        out.append(("company ratio vs empty ratio", f"{drift:+.1%} turn by turn (pairs of runs: {shown}; "
                                                    f"whole runs: {pooled:+.1%})", drift <= TARGET_RATIO_DRIFT))
    return out


def print_report(all_figures: list[Figures], size: Size, morning: datetime) -> bool:
    print(f"\ncompany: {size.departments} departments × {size.advocates} advocates, {size.open:,} open requests, "
          f"{size.history:,} decided requests / {size.votes:,} votes over {size.years:g} years, "
          f"{size.outbox:,} delivered outbox rows; the morning: {morning.astimezone(OSLO):%A %Y-%m-%d %H:%M} Oslo")
    for f in all_figures:
        print(f"{f.backend}: built in {f.built_s:.0f} s")
    table = [rows(f, size) for f in all_figures]
    width = max(len(what) for r in table for what, _, _ in r) + 2
    columns = [max(len(fig) + 2 for _, fig, _ in r) + 2 for r in table]
    print(f"\n{'':<{width}}" + "".join(f"{f.backend:<{c}}" for f, c in zip(all_figures, columns, strict=True)))
    ok = True
    for i, (what, _, _) in enumerate(table[0]):
        line = f"{what:<{width}}"
        for r, c in zip(table, columns, strict=True):
            _, figure, met = r[i]
            mark = "" if met is None else " ✔" if met else " ✘"
            ok = ok and met is not False
            line += f"{figure + mark:<{c}}"
        print(line.rstrip())
    print(f"\ntargets: idle sweep < {TARGET_IDLE_MS:.0f} ms and ≤ {TARGET_IDLE_STATEMENTS} statements; morning "
          f"sweep < {TARGET_MORNING_S:.0f} s; 1 reminder DM a person; digest < 1 s, HTML < 1 MB, RSS < 150 MB; "
          f"due lanes < 10 ms; the company's ack p99 ratio to bare Bolt within {TARGET_RATIO_DRIFT:.0%} of the "
          f"empty council's (median of the runs, range in brackets)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="also PostgreSQL (a database it creates and drops)")
    parser.add_argument("--size", choices=list(SIZES), default="full", help="the company's size (full)")
    parser.add_argument("--no-ack", action="store_true", help="leave out the acknowledgement runs")
    parser.add_argument("--rounds", type=int, help="ack runs on each council, in turns (full: 4)")
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--postgres-workers", type=int, default=1)
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    if args.rounds:
        size = Size(**{**size.__dict__, "rounds": args.rounds})
    morning = the_morning()
    backends = ["SQLite"] + (["PostgreSQL"] if args.postgres else [])
    began = time.monotonic()
    all_figures = []
    with ExitStack() as stack:
        workdir = stack.enter_context(work_directory())
        bench = None
        if not args.no_ack:
            emulator = stack.enter_context(SlackEmulator())
            scenario.populate(emulator)
            triggers = stack.enter_context(TriggerService(emulator, scenario.CHANNEL))
            load_args = load_parser().parse_args(["--seconds", str(size.load_seconds)])
            bench = {}
            for council, content in (("empty", scenario.council_toml()), ("company", council_toml(size))):
                path = workdir / f"{council}.toml"
                path.write_text(content)
                bench[council] = Bench(load_args, emulator, triggers, workdir, path)
        for backend in backends:
            all_figures.append(run_backend(backend, args, size, morning, workdir, bench))
    ok = print_report(all_figures, size, morning)
    print(f"\ntotal time {time.monotonic() - began:.0f} s; targets {'met' if ok else 'NOT all met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
