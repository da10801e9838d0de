"""Signatures, health, configuration errors and the real server (gunicorn) as operators run it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from cxbot.store.models import AuditEvent, Comment, ReviewRequest
from tests.harness import BOT_TOKEN, CHANNEL, COUNCIL_FILE, SIGNING_SECRET, START, Stack, make_emulator, process_env

COMMAND = (b"token=x&team_id=TCXBOT&user_id=U0BILLLEAD&command=%2Fcx-review&text=help"
           b"&trigger_id=t&channel_id=C0COUNCIL")


def test_forged_signature_is_refused(stack: Stack) -> None:
    forged = SignatureVerifier("not-the-secret").generate_signature(timestamp=str(int(time.time())), body=COMMAND)
    result = stack.people.post_raw(COMMAND, content_type="application/x-www-form-urlencoded",
                                   timestamp=str(int(time.time())), signature=forged)
    assert result.status == 401


def test_stale_timestamp_is_refused_even_with_a_good_signature(stack: Stack) -> None:
    stale = str(int(time.time()) - 600)
    good = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stale, body=COMMAND)
    result = stack.people.post_raw(COMMAND, content_type="application/x-www-form-urlencoded",
                                   timestamp=stale, signature=good)
    assert result.status == 401


def test_missing_headers_are_refused(stack: Stack) -> None:
    result = stack.people.post_raw(COMMAND, content_type="application/x-www-form-urlencoded", sign=False)
    assert result.status == 401


def test_forged_event_adds_no_comment(stack: Stack) -> None:
    rid = stack.file()
    parent = stack.parent(rid)
    envelope = {"type": "event_callback", "event_id": "EvFORGED", "team_id": "TCXBOT",
                "event": {"type": "message", "channel": CHANNEL, "user": "U0SUP1", "text": "forged",
                          "ts": "1.000001", "thread_ts": parent.ts}}
    body = json.dumps(envelope).encode()
    now = str(int(time.time()))
    bad = SignatureVerifier("wrong").generate_signature(timestamp=now, body=body)
    result = stack.people.post_raw(body, content_type="application/json", timestamp=now, signature=bad)
    assert result.status == 401
    assert stack.count(Comment) == 0
    assert stack.count(AuditEvent, AuditEvent.kind == "commented") == 0


def test_healthz(stack: Stack) -> None:
    url = stack.base_url + "/healthz"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True, "database": "reachable", "migrations": "at head"}


def test_unknown_paths_and_methods(stack: Stack) -> None:
    base = stack.base_url
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base + "/nope", timeout=5)
    assert info.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base + "/slack/events", timeout=5)
    assert info.value.code == 405


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cxbot(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cxbot", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return process_env(CXBOT_DATABASE_URL=database_url, **extra)


@pytest.mark.parametrize("missing", ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"])
def test_serve_without_a_secret_says_which(database_url: str, missing: str) -> None:
    env = _env(database_url, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    del env[missing]
    result = _cxbot("serve", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"cxbot: {missing} is not set"


@pytest.mark.parametrize("offset", ["tomorrow", "1e12", "nan"])
def test_a_clock_offset_that_is_not_a_sane_number_of_seconds_stops_serve(database_url: str, offset: str) -> None:
    env = _env(database_url, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", CXBOT_CLOCK_OFFSET=offset)
    result = _cxbot("serve", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("cxbot: CXBOT_CLOCK_OFFSET must be"), result.stderr


def test_socket_mode_needs_the_app_token(database_url: str) -> None:
    result = _cxbot("socket", env=_env(database_url, SLACK_BOT_TOKEN="xoxb-1"))
    assert result.returncode == 2 and result.stderr.strip() == "cxbot: SLACK_APP_TOKEN is not set"


def test_serve_refuses_a_database_behind_migrations(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path / 'new.db'}", SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    result = _cxbot("serve", env=env)
    assert result.returncode == 2
    assert "run `cxbot db upgrade`" in result.stderr and "Traceback" not in result.stderr


def test_cxbot_serve_under_gunicorn_handles_a_signed_request(database_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    """The production path: `cxbot serve` with the council file loaded at start."""
    port = _free_port()
    with make_emulator() as emulator:
        env = _env(database_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   CXBOT_SLACK_API_URL=emulator.url, CXBOT_COUNCIL_FILE=str(COUNCIL_FILE))
        proc = subprocess.Popen([sys.executable, "-m", "cxbot", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                        assert r.status == 200
                        break
                except OSError:
                    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                    assert time.monotonic() < deadline, "cxbot serve did not come up"
                    time.sleep(0.2)
            from cxbot.sandbox.client import SlackPeople

            people = SlackPeople(base + "/slack/events", SIGNING_SECRET, emulator)
            result = people.slash_command("U0BILLLEAD", "/cx-review", "")
            assert result.status == 200
            view = emulator.wait_for(lambda: (emulator.open_views("U0BILLLEAD") or [None])[-1], timeout=10)
            assert view["callback_id"] == "cx_file"
            from tests.harness import filing_values

            assert people.submit_view("U0BILLLEAD", filing_values()).status == 200
            emulator.wait_for(lambda: len(emulator.thread(CHANNEL, emulator.messages(CHANNEL)[0].ts)) >= 1
                              if emulator.messages(CHANNEL) else None, timeout=15)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReviewRequest)) == 1
        # The served processes ran on the test's clock (CXBOT_CLOCK_OFFSET), not on today's date.
        filed = s.scalar(select(ReviewRequest.created_at))
        assert filed is not None and abs(filed.replace(tzinfo=UTC) - START) < timedelta(minutes=2)
