"""Real serving processes: a kill -9 in the middle of a stream of votes, and three replicas
on one PostgreSQL database with their sweeps running."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cxbot.sandbox.client import SlackPeople
from cxbot.sandbox.emulator import SlackEmulator
from cxbot.slack.blocks import ids
from cxbot.store.journal import Waiting
from cxbot.store.models import (
    AuditEvent,
    DailyReminder,
    OutboxItem,
    Press,
    Reminder,
    ReviewRequest,
    SlackMessage,
    Vote,
)
from tests.conftest import POSTGRES
from tests.harness import (
    BOT_TOKEN,
    CHANNEL,
    COUNCIL_FILE,
    METRICS_TOKEN,
    SIGNING_SECRET,
    START,
    filing_values,
    make_emulator,
    process_env,
)

ADVOCATES = [f"U0SUPP{i:02d}" for i in range(40)]
COUNCIL = COUNCIL_FILE.read_text().replace(
    'advocates = ["U0SUP1"]', "advocates = [" + ", ".join(f'"{u}"' for u in ADVOCATES) + "]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(database_url: str, emulator: SlackEmulator, council: Path, **extra: str) -> dict[str, str]:
    return process_env(CXBOT_DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                       SLACK_SIGNING_SECRET=SIGNING_SECRET, CXBOT_SLACK_API_URL=emulator.url,
                       CXBOT_COUNCIL_FILE=str(council),
                       **{"CXBOT_LOG_LEVEL": "WARNING", "CXBOT_METRICS_TOKEN": METRICS_TOKEN, **extra})


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`cxbot serve` in its own process group; yields its base URL once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cxbot", "serve", "--port", str(port), "--threads", "8", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "cxbot serve did not come up"
            time.sleep(0.2)
        yield base, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def file_request(people: SlackPeople, emulator: SlackEmulator, title: str) -> None:
    assert people.slash_command("U0BILLLEAD", "/cx-review", "").status == 200
    emulator.wait_for(lambda: emulator.open_views("U0BILLLEAD"), timeout=15)
    assert people.submit_view("U0BILLLEAD", filing_values(title=title)).status == 200


def prompts(emulator: SlackEmulator) -> list:  # type: ignore[type-arg]
    return [m for m in emulator.messages(CHANNEL) if m.thread_ts and m.blocks
            and any(b.get("type") == "actions" for b in m.blocks)]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def metric(base: str, name: str, **labels: str) -> float:
    scrape = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(scrape, timeout=5) as r:
        text = r.read().decode()
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        key, _, value = line.rpartition(" ")
        if key == name or (want and key.startswith(name + "{") and all(p in key for p in want.split(","))):
            return float(value)
    return 0.0


def count(engine: Engine, model: type, *where: object) -> int:
    """Rows of `model`; for `Press`, the presses waiting wherever they are kept (cxbot.store.journal)."""
    with Session(engine) as s:
        stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        if model is Press:
            return Waiting(s).read(stmt)[0]
        return s.scalar(stmt) or 0


def test_serve_applies_votes_and_delivers_in_one_jobs_worker_whose_counts_every_web_worker_reports(
        database_url: str, engine: Engine, tmp_path: Path) -> None:
    """Two web workers and one jobs worker: the votes a web worker acknowledged are applied
    and the Slack calls delivered by the jobs worker, and /metrics, whichever web worker
    answers, adds up every worker's counters (the jobs worker serves no HTTP)."""
    council = tmp_path / "council.toml"
    council.write_text(COUNCIL)
    with make_emulator() as emulator:
        for user in ADVOCATES:
            emulator.add_user(user, user)
        with serving(env_for(database_url, emulator, council), "--workers", "2") as (base, proc):
            emulator.wait_for(lambda: len(children(proc.pid)) == 3, timeout=20)  # 2 web + 1 jobs
            people = SlackPeople(base + "/slack/events", SIGNING_SECRET, emulator)
            file_request(people, emulator, "Split work")
            prompt = emulator.wait_for(lambda: (prompts(emulator) or [None])[0], timeout=15)
            for user in ADVOCATES[:6]:
                assert people.press_button(user, channel=prompt.channel, ts=prompt.ts,
                                           action_id=ids.ABSTAIN).status == 200
            emulator.wait_for(lambda: count(engine, Vote) == 6 and count(engine, Press) == 0, timeout=15)
            parent = next(m for m in emulator.messages(CHANNEL) if m.thread_ts is None)
            emulator.wait_for(lambda: all(f"<@{u}>" in str(emulator.message(CHANNEL, parent.ts).blocks)
                                          for u in ADVOCATES[:6]), timeout=15)
            for _ in range(6):  # each scrape lands on either web worker
                assert metric(base, "cxbot_presses_applied_total") == 6
                assert metric(base, "cxbot_outbox_deliveries_total", kind="post_request", result="done") == 1
                assert metric(base, "cxbot_slack_requests_total", kind="block_actions", status="200") == 6


def test_gunicorns_own_lines_come_in_cxbots_format_and_masking(database_url: str, tmp_path: Path) -> None:
    """gunicorn's lines (booting, listening, shutting down) go through cxbot's handler: with
    CXBOT_LOG_FORMAT=json every line on stderr is one JSON object, tokens masked."""
    council = tmp_path / "council.toml"
    council.write_text(COUNCIL)
    with make_emulator() as emulator:
        env = env_for(database_url, emulator, council, CXBOT_LOG_FORMAT="json", CXBOT_LOG_LEVEL="INFO")
        with serving(env) as (_base, proc):
            pass
        assert proc.stderr is not None
        lines = [line for line in proc.stderr.read().decode().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]    # no line in gunicorn's own format
    gunicorn = [e["message"] for e in entries if e["logger"] == "gunicorn.error"]
    assert any(m.startswith("Listening at") for m in gunicorn), gunicorn
    assert any(m.startswith("Booting worker") for m in gunicorn), gunicorn


def test_serve_refuses_an_unknown_jobs_layout(tmp_path: Path) -> None:
    env = {**os.environ, "CXBOT_JOBS": "elsewhere", "CXBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    done = subprocess.run([sys.executable, "-m", "cxbot", "serve"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "CXBOT_JOBS must be `worker` or `inline`" in done.stderr


def test_kill_9_in_a_stream_of_votes_loses_no_acknowledged_vote(database_url: str, engine: Engine,
                                                                  tmp_path: Path) -> None:
    council = tmp_path / "council.toml"
    council.write_text(COUNCIL)
    with make_emulator() as emulator:
        for user in ADVOCATES:
            emulator.add_user(user, user)
        env = env_for(database_url, emulator, council)
        with serving(env) as (base, proc):
            people = SlackPeople(base + "/slack/events", SIGNING_SECRET, emulator)
            file_request(people, emulator, "Crash test")
            prompt = emulator.wait_for(lambda: (prompts(emulator) or [None])[0], timeout=15)
            acknowledged: list[str] = []

            def vote(user: str) -> None:
                try:
                    result = people.press_button(user, channel=prompt.channel, ts=prompt.ts, action_id=ids.ABSTAIN)
                except OSError:
                    return  # the server died under this request: not acknowledged
                if result.status == 200:
                    acknowledged.append(user)

            # Each advocate presses five times: a stream long enough that the kill lands in its
            # middle however quickly the server answers.
            presses = [user for _ in range(5) for user in ADVOCATES]
            with ThreadPoolExecutor(8) as pool:
                futures = [pool.submit(vote, user) for user in presses]
                while len(acknowledged) < 12:
                    time.sleep(0.005)
                os.killpg(proc.pid, signal.SIGKILL)       # mid-stream, no goodbye
                for f in futures:
                    f.result()
            proc.wait()
        assert 12 <= len(acknowledged) < len(presses), len(acknowledged)
        with Session(engine) as s:  # at the kill, each acknowledged press is a vote or a press still to apply
            kept = set(s.scalars(select(Vote.user_id))) | set(Waiting(s).read(select(Press.user_id)))
        assert set(acknowledged) <= kept, set(acknowledged) - kept

        with serving(env):              # after a restart the presses are applied and the outbox delivered
            def delivered() -> bool:
                return (count(engine, Press) == 0
                        and count(engine, OutboxItem, OutboxItem.status == "pending") == 0)
            emulator.wait_for(delivered, timeout=30)
            with Session(engine) as s:
                stored = set(s.scalars(select(Vote.user_id)))
            assert set(acknowledged) <= stored, set(acknowledged) - stored
            parent = next(m for m in emulator.messages(CHANNEL) if m.thread_ts is None)
            emulator.wait_for(lambda: all(f"<@{u}>" in str(emulator.message(CHANNEL, parent.ts).blocks)
                                          for u in stored), timeout=15)


@pytest.mark.skipif(not POSTGRES, reason="replicas share a PostgreSQL database: set CXBOT_TEST_POSTGRES_URL "
                                          "(.ci/run does)")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_three_replicas_on_one_database_send_nothing_twice(database_url: str, engine: Engine,
                                                           tmp_path: Path) -> None:
    council = tmp_path / "council.toml"
    weekday = START.strftime("%a").lower()              # the replicas run on the test's clock
    council.write_text(COUNCIL.replace('timezone = "Europe/Oslo"', 'timezone = "UTC"\n'
                                       'working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
                                       'working_hours = ["00:00", "23:59"]')
                       + f'\n[reminders]\nfirst_after_days = 0\n\n[digest]\nday = "{weekday}"\ntime = "00:00"\n')
    with make_emulator() as emulator:
        for user in ADVOCATES:
            emulator.add_user(user, user, tz="UTC")
        env = env_for(database_url, emulator, council, CXBOT_SWEEP_SECONDS="2")
        with serving(env) as (a, _), serving(env) as (b, _), serving(env) as (c, _):
            replicas = [SlackPeople(url + "/slack/events", SIGNING_SECRET, emulator) for url in (a, b, c)]
            rnd = random.Random(3)
            for n in range(4):
                file_request(rnd.choice(replicas), emulator, f"Replicated {n}")
            emulator.wait_for(lambda: len(prompts(emulator)) == 4, timeout=30)
            votes = [(p, user, rnd.choice([ids.APPROVE, ids.ABSTAIN]))
                     for p in prompts(emulator) for user in rnd.sample(ADVOCATES, 10) + ["U0LEGAL1"]]

            def vote(case: tuple) -> int:  # type: ignore[type-arg]
                prompt, user, action = case
                return rnd.choice(replicas).press_button(user, channel=prompt.channel, ts=prompt.ts,
                                                         action_id=action).status

            with ThreadPoolExecutor(12) as pool:
                assert set(pool.map(vote, votes)) == {200}
            time.sleep(8)                                  # several sweeps in each replica
            emulator.wait_for(lambda: count(engine, OutboxItem, OutboxItem.status == "pending") == 0, timeout=30)

        parents = [m for m in emulator.messages(CHANNEL) if m.thread_ts is None and "CX review" in m.text]
        asks = [m for m in emulator.messages(CHANNEL) if m.text.startswith(("Review requested", "Voting on"))]
        assert len(parents) == 4 and len(asks) == 4
        assert count(engine, SlackMessage, SlackMessage.role == "parent") == 4
        with Session(engine) as s:
            reminders = s.execute(select(Reminder.request_id, Reminder.user_id, Reminder.kind)).all()
            # A daily reminder is one row a person a day, listing what it reminds of.
            dailies = s.execute(select(DailyReminder.user_id, DailyReminder.day)
                                .where(DailyReminder.listed != "")).all()
            requests = {r.id: r for r in s.scalars(select(ReviewRequest))}
        assert len(reminders) == len(set(reminders))
        dm_texts = Counter((m.channel, m.text) for user in ADVOCATES + ["U0LEGAL2", "U0LEGAL1"]
                           for m in emulator.dms(user) if "Reminder" in m.text or "Closing soon" in m.text)
        assert dm_texts and max(dm_texts.values()) == 1, "no reminder twice"
        per_person = Counter(user for user in ADVOCATES + ["U0LEGAL2", "U0LEGAL1"]
                             for m in emulator.dms(user) if "Reminder" in m.text)
        assert per_person and max(per_person.values()) == 1, "one reminder DM a person a day"
        # A reminder claimed for a request decided before its delivery is not sent.
        assert len(dailies) == len(set(dailies))
        assert sum(dm_texts.values()) <= len(reminders) + len(dailies)
        from cxbot.reports.digest import previous_week, week_of

        last_week = previous_week(week_of(START, "UTC"))
        digests = [m for m in emulator.dms("U0CHAIR") if last_week in m.text]
        assert len(digests) == 1, [m.text for m in digests]
        assert len(emulator.files) == 1
        for parent in parents:
            texts = [m.text for m in emulator.thread(CHANNEL, parent.ts)]
            assert len(texts) == len(set(texts)), "no thread note twice"
        # Tallies: what each parent message shows is what the database holds, and every
        # vote stored has exactly one audit event.
        with Session(engine) as s:
            for request in requests.values():
                approvers = set(s.scalars(select(Vote.user_id).where(Vote.request_id == request.id,
                                                                     Vote.kind == "approve")))
                parent_ts = s.scalar(select(SlackMessage.ts).where(SlackMessage.request_id == request.id,
                                                                   SlackMessage.role == "parent"))
                shown = str(emulator.message(CHANNEL, parent_ts).blocks)  # type: ignore[union-attr]
                assert approvers and all(f"<@{u}>" in shown for u in approvers)
                events = s.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.request_id == request.id, AuditEvent.kind == "voted"))
                assert events == s.scalar(select(func.count()).select_from(Vote).where(Vote.request_id == request.id))
