"""`cxbot serve` against clients that hold their connections: bodies announced and never sent,
requests trickled a byte at a time. Slack and the load balancer's health check must still get
their answers at once, and /metrics is reachable only the ways an operator configured."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cxbot.sandbox.client import SlackPeople
from tests.harness import COUNCIL_FILE, METRICS_TOKEN, SIGNING_SECRET, make_emulator
from tests.test_processes import env_for, free_port, serving

SLOW_CLIENTS = 64


def stall(port: int) -> socket.socket:
    """A client that announces a 1000-byte body, sends one byte of it, and waits."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: cxbot\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{")
    return conn


def answer(conn: socket.socket, timeout: float) -> bytes:
    """What the server sent before it closed the connection (or before `timeout`)."""
    conn.settimeout(timeout)
    received = b""
    try:
        while chunk := conn.recv(4096):
            received += chunk
    except TimeoutError:
        pass
    return received


def timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[float, int, str]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=8) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    return time.monotonic() - started, status, body


@contextmanager
def served(tmp_path: Path, **extra: str) -> Iterator[tuple[str, int, SlackPeople]]:
    council = tmp_path / "council.toml"
    council.write_text(COUNCIL_FILE.read_text())
    with make_emulator() as emulator:
        env = env_for(f"sqlite:///{tmp_path / 'cxbot.db'}", emulator, council)
        env.pop("CXBOT_METRICS_TOKEN")  # each test says how /metrics is served
        env.update(extra)
        from cxbot.store.db import make_engine
        from cxbot.store.migrate import upgrade

        upgrade(make_engine(env["CXBOT_DATABASE_URL"]))
        with serving(env) as (base, _proc):
            yield base, int(base.rsplit(":", 1)[1]), SlackPeople(base + "/slack/events", SIGNING_SECRET, emulator)


def test_stalled_bodies_hold_no_thread_and_are_answered_408_when_their_time_is_up(tmp_path: Path) -> None:
    """64 connections (eight times the server's threads) announce a body and stall: /healthz and a
    signed slash command are still answered within moments, and each stalled client gets a 408
    once CXBOT_REQUEST_SECONDS have passed."""
    began = time.monotonic()
    with served(tmp_path, CXBOT_REQUEST_SECONDS="3") as (base, port, people), ExitStack() as held:
        stalled = [stall(port) for _ in range(SLOW_CLIENTS)]
        for conn in stalled:
            held.callback(conn.close)
        time.sleep(0.5)  # every stalled request has reached the server

        took, status, body = timed_get(base + "/healthz")
        assert status == 200 and json.loads(body)["ok"] is True and took < 5, (status, took)
        started = time.monotonic()
        reply = people.slash_command("U0LEGAL2", "/cx-review", "help")
        assert reply.status == 200 and "cxbot" in reply.json()["text"]
        assert time.monotonic() - started < 5

        refused = [answer(conn, timeout=8) for conn in stalled[:4]]
        assert all(r.startswith(b"HTTP/1.1 408 ") for r in refused), refused[0]
    assert time.monotonic() - began < 60


def test_a_request_trickled_in_within_its_time_is_served(tmp_path: Path) -> None:
    """A client slower than Slack but within the deadline is served normally, and one that asks
    for `100-continue` gets it without waiting."""
    with served(tmp_path, CXBOT_REQUEST_SECONDS="5") as (_base, port, _people):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            for byte in b"GET /healthz HTTP/1.1\r\nHost: cxbot\r\nConnection: close\r\n\r\n":
                conn.sendall(bytes([byte]))
                time.sleep(0.01)
            assert answer(conn, timeout=5).startswith(b"HTTP/1.1 200 ")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: cxbot\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            conn.settimeout(3)
            assert conn.recv(4096).startswith(b"HTTP/1.1 100 Continue")
            conn.sendall(b"{}")
            assert answer(conn, timeout=5).startswith(b"HTTP/1.1 401 ")  # unsigned, so refused: but read
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: cxbot\r\nTransfer-Encoding: chunked\r\n\r\n")
            assert answer(conn, timeout=5).startswith(b"HTTP/1.1 411 ")


def test_metrics_are_not_served_on_the_slack_port_unless_configured(tmp_path: Path) -> None:
    with served(tmp_path) as (base, _port, _people):
        _took, status, _body = timed_get(base + "/metrics")
        assert status == 404


def test_metrics_on_their_own_address_and_not_on_the_slack_port(tmp_path: Path) -> None:
    metrics_port = free_port()
    with served(tmp_path, CXBOT_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}") as (base, _port, people):
        assert people.slash_command("U0LEGAL2", "/cx-review", "help").status == 200
        _took, status, body = timed_get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200 and 'cxbot_slack_requests_total{kind="command",status="200"} 1.0' in body
        assert timed_get(base + "/metrics")[1] == 404
        assert timed_get(f"http://127.0.0.1:{metrics_port}/healthz")[1] == 200
        slack_on_metrics = urllib.request.Request(f"http://127.0.0.1:{metrics_port}/slack/events", data=b"{}")
        try:
            urllib.request.urlopen(slack_on_metrics, timeout=5)
            raise AssertionError("Slack's path answered on the metrics address")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404


def test_metrics_on_the_slack_port_need_the_bearer_token(tmp_path: Path) -> None:
    with served(tmp_path, CXBOT_METRICS_TOKEN=METRICS_TOKEN) as (base, _port, _people):
        _took, status, _body = timed_get(base + "/metrics")
        assert status == 401
        assert timed_get(base + "/metrics", {"Authorization": "Bearer wrong-token-0123456789"})[1] == 401
        _took, status, body = timed_get(base + "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert status == 200 and "cxbot_outbox_depth" in body
