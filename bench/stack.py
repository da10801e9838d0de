"""Processes and databases for `bench.load`: servers under gunicorn, what /proc says about them,
throw-away databases, and the trigger service the load generator asks for fresh trigger ids.

Every server runs in its own process group (`start_new_session`), so `stop()` can end the
gunicorn master and its workers together, first with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url

from cxbot.sandbox.emulator import SlackEmulator
from cxbot.store.db import make_engine, normalise_url

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- /proc


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards), or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def children(pid: int) -> list[int]:
    """Direct children of `pid` (this kernel has no /proc/PID/task/PID/children)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def rss_mb(pid: int) -> float:
    """Resident set size of `pid` in MB (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def postgres_backends(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` (their title is `postgres: … USER DATABASE …`)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() != "postgres":
                    continue
                title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if f" {database} " in f" {title} ":
                found.append(int(entry))
    return found


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


def stolen_seconds() -> float:
    """CPU seconds the hypervisor gave other guests while this machine wanted them (steal),
    since boot. Counted as busy by `machine_busy_seconds`; a run with much of it was
    slowed by the host, whatever it measured."""
    return int(Path("/proc/stat").read_text().splitlines()[0].split()[8]) / TICK


def busy_now(seconds: float = 1.0) -> float:
    """% of the machine's CPU in use over the next `seconds` (before the benchmark starts anything)."""
    busy0, total0 = machine_busy_seconds()
    time.sleep(seconds)
    busy1, total1 = machine_busy_seconds()
    return 100 * (busy1 - busy0) / max(1e-9, total1 - total0)


def wait_for_quiet(limit: float, threshold: float = 20.0) -> float:
    """Wait (up to `limit` s) until the machine is under `threshold`% busy for a second; returns the last reading.

    The development machine is shared: someone's test run during the timed window would
    take CPU from the server and skew its figures ("other processes" in the CPU lines).
    """
    deadline = time.monotonic() + limit
    busy = busy_now()
    while busy >= threshold and time.monotonic() < deadline:
        busy = busy_now()
    return busy


# ---------------------------------------------------------------- servers


class Server:
    """A gunicorn master (cxbot's or the baseline's) and its workers, in their own process group."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], port: int, log: Path) -> None:
        self.name, self.port, self.log = name, port, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, env=dict(env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait for GET /healthz to answer 200 and every worker to be up; raise with the log if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} was not healthy within {timeout:.0f}s:\n{self.tail()}")

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def rss(self) -> dict[int, float]:
        """RSS in MB of each worker process."""
        return {pid: rss_mb(pid) for pid in self.workers()}

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group (gunicorn stops its workers gracefully), SIGKILL what is left."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # stray workers of a master that died first
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)


def gunicorn_options(port: int, workers: int, threads: int) -> list[str]:
    """The options `cxbot serve` gives gunicorn (cxbot/server.py), as command-line flags."""
    return ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "gthread",
            "--threads", str(threads), "--timeout", "30", "--graceful-timeout", "10", "--log-level", "warning"]


def start_cxbot(env: Mapping[str, str], *, workers: int, threads: int, log: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "cxbot", "serve", "--port", str(port), "--workers", str(workers),
            "--threads", str(threads)]
    return Server("cxbot", argv, env, port, log)


def start_bare_bolt(env: Mapping[str, str], *, workers: int, threads: int, log: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", *gunicorn_options(port, workers, threads), "bench.bare_bolt:create_app()"]
    return Server("bare Bolt", argv, env, port, log)


def cxbot_cli(env: Mapping[str, str], *args: str) -> str:
    """Run `python -m cxbot ARGS`; raise with its output if it fails."""
    done = subprocess.run([sys.executable, "-m", "cxbot", *args], env=dict(env), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"cxbot {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


# ---------------------------------------------------------------- databases


@contextmanager
def sqlite_database(directory: Path) -> Iterator[str]:
    """A fresh SQLite file in `directory` (removed with it)."""
    yield f"sqlite:///{directory / f'cxbot-{uuid.uuid4().hex[:8]}.db'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A database created on the server of `admin_url` for this run, dropped at the end."""
    admin = make_url(normalise_url(admin_url))
    name = f"cxbot_load_{uuid.uuid4().hex[:10]}"
    engine = make_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def work_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cxbot-load-") as d:
        yield Path(d)


# ---------------------------------------------------------------- fresh trigger ids


class _TriggerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept alive: one connection per client thread
    server: TriggerService

    def do_GET(self) -> None:
        user = parse_qs(urlsplit(self.path).query).get("user", [""])[0]
        emulator = self.server.emulator
        body: dict[str, Any] = {
            "trigger_id": emulator.new_trigger(user),
            "response_url": emulator.new_response_url(user, self.server.channel),
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TriggerService(ThreadingHTTPServer):
    """`GET /trigger?user=U` answers a fresh trigger id and response_url minted by the emulator.

    A slash command's trigger id is usable once, within 3 s, so the load generator (another
    process) asks for one right before each `/cx-review` it sends, outside the timed round trip.
    """

    daemon_threads = True

    def __init__(self, emulator: SlackEmulator, channel: str) -> None:
        self.emulator, self.channel = emulator, channel
        super().__init__(("127.0.0.1", 0), _TriggerHandler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/trigger"

    def __enter__(self) -> TriggerService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
