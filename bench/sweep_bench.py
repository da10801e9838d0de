"""What a sweep costs with many open requests: idle, and on the morning it sends the reminders.

    python -m bench.sweep_bench                        # SQLite (a temporary file)
    python -m bench.sweep_bench --postgres URL         # and PostgreSQL (a database it creates and drops)
    python -m bench.sweep_bench --requests 10000 --morning 1000

Generates a council of 12 departments with 6 advocates each and `--requests` open requests
filed on a Monday morning, each routed to two departments, bulk-inserted and scheduled as a
sweep would schedule them (due at Tuesday's first reminders). Times an idle sweep (best of
5, with the statements it runs), then, on a council of `--morning` requests, the Tuesday
morning sweep that sends everyone's reminders, and a second sweep that morning.
Targets: an idle sweep under 100 ms and at most ~20 statements.
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
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, insert, text
from sqlalchemy.engine import make_url

from bench.digest_bench import council_toml
from cxbot.clock import FixedClock
from cxbot.council_file import parse_council
from cxbot.domain.model import Impact, Magnitude, Status
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.services.sweep import SweepReport, sweep
from cxbot.store.db import make_engine, make_session_factory, normalise_url
from cxbot.store.migrate import upgrade
from cxbot.store.models import ReviewRequest, Routing

OSLO = ZoneInfo("Europe/Oslo")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=OSLO).astimezone(UTC)
TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=OSLO).astimezone(UTC)


def generate(engine: Engine, count: int) -> None:
    rnd = random.Random(20)
    clock = FixedClock(MONDAY)
    services = Services(make_session_factory(engine), clock)
    load_council(services.uow(), parse_council(council_toml()), clock=clock)
    with engine.connect() as conn:
        depts = [row[0] for row in conn.execute(text("SELECT id FROM departments ORDER BY position"))]
    requests, routings = [], []
    for rid in range(1, count + 1):
        filing = rnd.choice(depts)
        requests.append(dict(
            id=rid, department_id=filing, filer=f"U0D{filing:02d}LEAD", title=f"Change {rid}", summary="A change.",
            stages=["Pay"], impact=Impact.NEUTRAL, impact_note="", magnitude=Magnitude.MAJOR,
            decision_by=(MONDAY + timedelta(days=30)).date(), link="", status=Status.OPEN, created_at=MONDAY,
            updated_at=MONDAY, decided_at=None, due_at=MONDAY + timedelta(days=9), escalation_step=0,
            escalated_at=None, version=1, source_view_id=None, next_due_at=TUESDAY))
        for position, dept in enumerate(rnd.sample([d for d in depts if d != filing], 2)):
            routings.append(dict(request_id=rid, department_id=dept, position=position, reason="bench",
                                 answered_at=None))
    with engine.begin() as conn:
        for table, rows in ((ReviewRequest, requests), (Routing, routings)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i:i + 5000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('review_requests_id_seq', (SELECT max(id) FROM review_requests))"))
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))


class Counter:
    def __init__(self, engine: Engine) -> None:
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.statements += 1


def timed(fn: Callable[[], SweepReport], counter: Counter) -> tuple[float, int, SweepReport]:
    counter.statements = 0
    t0 = time.perf_counter()
    report = fn()
    return time.perf_counter() - t0, counter.statements, report


def measure(name: str, url: str, count: int, *, morning: bool) -> list[tuple[str, str, float, int]]:
    engine = make_engine(url)
    upgrade(engine)
    generate(engine, count)
    counter = Counter(engine)
    clock = FixedClock(MONDAY + timedelta(minutes=5))
    services = Services(make_session_factory(engine), clock)

    def one() -> SweepReport:
        return sweep(services.uow, clock=clock, timezones=lambda users: {})

    idle = min((timed(one, counter) for _ in range(5)), key=lambda r: r[0])
    if not morning:
        engine.dispose()
        return [(name, f"idle sweep, {count:,} open", idle[0], idle[1])]
    clock.set(TUESDAY)
    morning = timed(one, counter)
    clock.set(TUESDAY + timedelta(minutes=1))
    after = timed(one, counter)
    engine.dispose()
    print(f"{name}, {count:,} open requests: morning sent {morning[2].reminders:,} reminders")
    return [(name, f"morning sweep, {count:,} open", morning[0], morning[1]),
            (name, "next sweep that morning", after[0], after[1])]


def run(label: str, url_for: Callable[[], Any], args: argparse.Namespace) -> list[tuple[str, str, float, int]]:
    with url_for() as url:
        rows = measure(label, url, args.requests, morning=False)
    with url_for() as url:
        rows += measure(label, url, args.morning, morning=True)
    return rows


class SQLiteFile:
    def __enter__(self) -> str:
        self.tmp = tempfile.TemporaryDirectory()
        return f"sqlite:///{Path(self.tmp.name) / 'bench.db'}"

    def __exit__(self, *_: Any) -> None:
        self.tmp.cleanup()


class PostgresDatabase:
    def __init__(self, url: str) -> None:
        self.admin_url = make_url(normalise_url(url))

    def __enter__(self) -> str:
        self.name = f"cxbot_bench_{uuid.uuid4().hex[:8]}"
        self.admin = make_engine(self.admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.admin_url.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *_: Any) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--requests", type=int, default=10_000, help="open requests for the idle sweep")
    parser.add_argument("--morning", type=int, default=1_000, help="open requests for the morning sweep")
    args = parser.parse_args()
    rows = run("SQLite", SQLiteFile, args)
    if args.postgres:
        rows += run("PostgreSQL", lambda: PostgresDatabase(args.postgres), args)
    print(f"\n{'database':<12}{'sweep':<32}{'time':>10}{'statements':>12}")
    for db, step, seconds, statements in rows:
        print(f"{db:<12}{step:<32}{seconds * 1000:>8.0f} ms{statements:>12,}")


if __name__ == "__main__":
    main()
