"""The test stack: a migrated database, the Slack emulator, and cxbot served over real HTTP.

Tests talk to the served app only through signed HTTP requests (`SlackPeople`), and
check what the emulator received and what the database holds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxbot.app import Runtime
from cxbot.clock import FixedClock
from cxbot.config import Settings
from cxbot.council_file import load_council_file
from cxbot.sandbox.client import SlackPeople
from cxbot.sandbox.emulator import SlackEmulator
from cxbot.sandbox.serving import serve_in_thread
from cxbot.services.council import load_council
from cxbot.services.outbox import due_lanes
from cxbot.store.journal import Waiting
from cxbot.store.models import Press, ReviewRequest

HERE = Path(__file__).parent
COUNCIL_FILE = HERE / "council.toml"
# A second council (key "nordics") in the same workspace and database: `add_nordics`.
NORDICS_FILE = HERE / "council_nordics.toml"
NORDICS_CHANNEL = "C0NORDICS"
NORDICS_PEOPLE = {
    "U0NCHAIR": "Nora (Nordic chair)", "U0NBILL1": "Nils (Nordic Billing)",
    "U0NLEGLEAD": "Nea (Nordic Legal lead)", "U0NLEG1": "Noah (Nordic Legal)",
}
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-cxbot-sandbox"
METRICS_TOKEN = "test-metrics-token-0123456789"
CHANNEL = "C0COUNCIL"


OSLO = ZoneInfo("Europe/Oslo")  # the test council's zone (tests/council.toml)


def _start() -> datetime:
    """The instant every test starts at: 10:00 in Oslo on the Monday of the week of
    `CXBOT_TEST_DATE` (YYYY-MM-DD), by default Monday 23 November 2026.

    Tests tell their story from there, a working week and more, in dates relative to START; the
    cxbot processes a test starts read START too (`process_env`). `.ci/run` moves the week onto
    hard dates (a leap day, the Sundays Europe/Oslo changes its clocks, a Saturday, New Year's
    Eve), so no test leans on today's date and every story crosses the hard date."""
    raw = os.environ.get("CXBOT_TEST_DATE")
    try:
        day = date.fromisoformat(raw) if raw else date(2026, 11, 23)
    except ValueError:
        raise ValueError(f"CXBOT_TEST_DATE must be a date, YYYY-MM-DD, not {raw!r}") from None
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday, wall_time(10), tzinfo=OSLO).astimezone(UTC)


START = _start()


def day(n: int) -> date:
    """The date `n` days after START's Monday (negative: before)."""
    return START.astimezone(OSLO).date() + timedelta(days=n)


def local(n: int, hour: int, minute: int = 0) -> datetime:
    """`n` days after START's Monday at hour:minute on Oslo's wall clock."""
    return datetime.combine(day(n), wall_time(hour, minute), tzinfo=OSLO)


def iso_week(n: int = 0) -> str:
    """The ISO week `n` weeks after START's, named as the digest names it (e.g. 2026-W48)."""
    year, week, _ = (day(0) + timedelta(weeks=n)).isocalendar()
    return f"{year}-W{week:02d}"


def process_env(**settings: str) -> dict[str, str]:
    """The environment of a cxbot process a test starts: none of the caller's SLACK_/CXBOT_
    settings, the given ones, and the test's clock (the process's clock reads START now, and runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_"))}
    env["CXBOT_CLOCK_OFFSET"] = f"{(START - datetime.now(UTC)).total_seconds():.3f}"
    env.update(settings)
    return env

PEOPLE = {
    "U0CHAIR": "Chair Cho", "U0ADMIN": "Admin Ada",
    "U0BILLLEAD": "Bea (Billing lead)", "U0BILL1": "Bo (Billing)",
    "U0LEGALLEAD": "Lea (Legal lead)", "U0LEGAL1": "Lars (Legal)", "U0LEGAL2": "Liv (Legal)",
    "U0SUPLEAD": "Sue (Support lead)", "U0SUP1": "Sam (Support)",
    "U0OUTSIDER": "Otto (not in the council)",
}

T = TypeVar("T")


def make_emulator() -> SlackEmulator:
    """The workspace the tests play in, with cxbot's own manifest (its scopes and events).

    Everyone is in #cx-council and #general; each person's Slack handle (`name`, as in
    `<@U0SUPLEAD|sue>`) is the first word of their name. The bot is invited to both channels,
    as an admin does after installing the app, so tests also see it ignore other channels.
    """
    emulator = SlackEmulator(bot_token=BOT_TOKEN)
    for user, name in PEOPLE.items():
        emulator.add_user(user, name.split()[0].lower(), real_name=name)
    for channel, title in ((CHANNEL, "cx-council"), ("C0GENERAL", "general")):
        emulator.add_channel(channel, title, members=list(PEOPLE))
        emulator.invite_bot(channel)
    return emulator


class Stack:
    """One running cxbot with its emulator; helpers for the steps most tests share."""

    def __init__(self, runtime: Runtime, emulator: SlackEmulator, people: SlackPeople, clock: FixedClock,
                 base_url: str) -> None:
        self.runtime, self.slack, self.people, self.clock = runtime, emulator, people, clock
        self.base_url = base_url

    # --- database --------------------------------------------------------------------

    def session(self) -> Session:
        return self.runtime.sessions()

    def count(self, model: type, *where: Any) -> int:
        """Rows of `model`; for `Press`, the presses waiting wherever they are kept (cxbot.store.journal)."""
        with self.session() as s:
            stmt = select(func.count()).select_from(model).where(*where)
            if model is Press:
                return Waiting(s).read(stmt)[0]
            return s.scalar(stmt) or 0

    def all(self, model: type[T], *where: Any, order_by: Any = None) -> list[T]:
        with self.session() as s:
            stmt = select(model).where(*where)
            if order_by is not None:
                stmt = stmt.order_by(order_by)
            return list(s.scalars(stmt))

    def metrics(self) -> str:
        """GET /metrics with the bearer token the test stack is configured with."""
        import urllib.request

        scrape = urllib.request.Request(self.base_url + "/metrics",
                                        headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        with urllib.request.urlopen(scrape, timeout=5) as response:
            return response.read().decode()  # type: ignore[no-any-return]

    def request(self, request_id: int) -> ReviewRequest:
        with self.session() as s:
            row = s.get(ReviewRequest, request_id)
            assert row is not None
            return row

    def applied(self, timeout: float = 30.0) -> None:
        """Wait until every acknowledged button press is applied (the press worker runs right after the ack)."""
        deadline = time.monotonic() + timeout
        while self.count(Press):
            if time.monotonic() > deadline:
                raise TimeoutError("the presses were not applied")
            self.runtime.presses.kick()
            time.sleep(0.005)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the presses are applied, the people asked for are refreshed, the outbox
        has nothing due, and the after-ack replies have run."""
        self.applied(timeout)
        deadline = time.monotonic() + timeout
        while not self.runtime.people.idle():
            if time.monotonic() > deadline:
                raise TimeoutError("the people were not refreshed")
            time.sleep(0.005)
        while time.monotonic() < deadline:
            with self.session() as s:
                # A lane waiting on a retry holds back the items behind it: those are not due.
                pending = due_lanes(s, self.clock.now(), include_held=True)
            if not pending:
                time.sleep(0.05)  # let an in-flight AfterAck call land
                return
            self.runtime.worker.kick()
            time.sleep(0.02)
        raise TimeoutError("the outbox did not drain")

    def sweep(self, at: datetime) -> Any:
        """Move the clock to `at` and sweep, as the minute-by-minute job would, once what the
        last steps started has settled: a people refresh still running marks the requests it
        concerns due and holds them a moment, and the sweep leaves a request another
        transaction holds to the next minute's sweep (`SKIP LOCKED`). The report adds up the
        sweeps it took for nothing to be due at `at`."""
        self.settle()
        self.clock.set(at)
        report = self.runtime.sweep()
        self.settle()
        # The sweep's own need of people's time zones can start a refresh that holds a
        # request it then leaves: the next minute's sweep, at the same instant, takes it.
        for _ in range(3):
            if not self.count(ReviewRequest, ReviewRequest.next_due_at <= at):
                break
            again = self.runtime.sweep()
            for name in vars(report):
                setattr(report, name, getattr(report, name) + getattr(again, name))
            self.settle()
        return report

    def add_nordics(self) -> None:
        """The second council: its people and channel in the workspace (the bot invited, as
        an admin would), and its file loaded beside the default council."""
        for user, name in NORDICS_PEOPLE.items():
            self.slack.add_user(user, name.split()[0].lower(), real_name=name)
        self.slack.add_channel(NORDICS_CHANNEL, "cx-nordics", members=[*PEOPLE, *NORDICS_PEOPLE])
        self.slack.invite_bot(NORDICS_CHANNEL)
        load_council(self.runtime.services.uow(), load_council_file(NORDICS_FILE), clock=self.clock)

    def load_council(self, text: str) -> None:
        from cxbot.council_file import parse_council

        load_council(self.runtime.services.uow(), parse_council(text), clock=self.clock)

    # --- people ------------------------------------------------------------------------

    def open_filing_modal(self, user: str) -> dict[str, Any]:
        result = self.people.slash_command(user, "/cx-review", "")
        assert result.status == 200, result.body
        return self.slack.wait_for(lambda: (self.slack.open_views(user) or [None])[-1])

    def file(self, user: str = "U0BILLLEAD", **fields: Any) -> int:
        """File a request through the modal; returns the new request's id."""
        self.open_filing_modal(user)
        values = filing_values(**fields)
        before = self.count(ReviewRequest)
        result = self.people.submit_view(user, values)
        assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
        assert self.count(ReviewRequest) == before + 1
        self.settle()
        with self.session() as s:
            return s.scalar(select(func.max(ReviewRequest.id)))  # type: ignore[return-value]

    def parent(self, request_id: int):  # type: ignore[no-untyped-def]
        from cxbot.store.models import SlackMessage

        rows = self.all(SlackMessage, SlackMessage.request_id == request_id, SlackMessage.role == "parent")
        assert rows, f"request {request_id} has no parent message"
        return self.slack.message(rows[0].channel, rows[0].ts)

    def prompt(self, request_id: int):  # type: ignore[no-untyped-def]
        from cxbot.store.models import SlackMessage

        rows = self.all(SlackMessage, SlackMessage.request_id == request_id, SlackMessage.role == "prompt")
        assert rows, f"request {request_id} has no vote prompt"
        return self.slack.message(rows[0].channel, rows[0].ts)

    def press(self, user: str, request_id: int, action_id: str, *, where: str = "prompt") -> Any:
        message = self.prompt(request_id) if where == "prompt" else self.parent(request_id)
        result = self.people.press_button(user, channel=message.channel, ts=message.ts, action_id=action_id)
        assert result.status == 200, result.body
        self.applied()
        return result

    def vote_with_note(self, user: str, request_id: int, action_id: str, note: str) -> Any:
        self.press(user, request_id, action_id)
        self.slack.wait_for(lambda: self.slack.open_views(user))
        result = self.people.submit_view(user, {"note": note})
        assert result.status == 200, result.body
        return result


def filing_values(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "Annual plans get a cancellation fee",
        "summary": "From January, cancelling an annual plan early costs one month's fee.",
        "stages": ["Pay", "Leave"],
        "impact": "negative",
        "impact_note": "Customers who leave early pay more.",
        "magnitude": "major",
        "decision_by": (START.date() + timedelta(days=10)).isoformat(),
        "link": "https://wiki.example.com/fees",
    }
    values.update(fields)
    return values


@contextmanager
def running_stack(database_url: str, engine: Any = None, *, council: bool = True) -> Iterator[Stack]:
    clock = FixedClock(START)
    with make_emulator() as emulator:
        settings = Settings.from_env({
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "CXBOT_DATABASE_URL": database_url, "CXBOT_SLACK_API_URL": emulator.url,
            "CXBOT_METRICS_TOKEN": METRICS_TOKEN,
        })
        # Messages update at most every 0.1 s here (1 s and 50 a minute in production) to keep
        # the suite quick; test_resilience checks the production pace.
        runtime = Runtime(settings, clock=clock, engine=engine, scheduled=False, min_update_interval=0.1,
                          updates_per_minute=60_000)
        runtime.directory.pace = {}  # people look-ups unpaced too; tests/test_people.py checks the pace
        if council:
            load_council(runtime.services.uow(), load_council_file(COUNCIL_FILE), clock=clock)
        runtime.start()
        try:
            with serve_in_thread(runtime.wsgi) as url:  # type: ignore[arg-type]
                people = SlackPeople(f"{url}/slack/events", SIGNING_SECRET, emulator)
                yield Stack(runtime, emulator, people, clock, url)
        finally:
            runtime.stop()


def today() -> date:
    return START.date()
