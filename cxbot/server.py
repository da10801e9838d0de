"""`cxbot serve`: the WSGI app under gunicorn (threaded workers), plus one jobs worker.

Acknowledging Slack and the background work run in different processes, so they never
compete for one interpreter: gunicorn runs `workers` web workers, which answer Slack and
store what must be done, and one more worker, the **jobs worker**, which serves no HTTP
and runs the background workers — the press worker (applies stored vote presses), the
outbox worker (delivers Slack calls) and the schedule (sweeps, the weekly digest). A web
worker wakes the jobs worker through a pipe the master opens before it forks
(`cxbot.jobs.wake`). gunicorn supervises the jobs worker like any other: it is restarted
if it dies, stopped with the rest, and replaced on a graceful reload (HUP). Everything it
does is recorded in the database first, so a jobs worker that is killed loses nothing:
its successor (or, on PostgreSQL, another replica's) picks up where it stopped.

`jobs="inline"` runs the background workers inside every web worker instead (one process
does everything; the layout before the split, for a machine with a single core).

Each worker builds its own Runtime after the fork (database pools and threads do not
survive a fork). Several web workers and replicas share the database safely: outbox lanes
are leased, press rounds skip requests another process holds, and SQLite writers queue on
a lock file (`cxbot.store.db.WriterLock`).

Every web worker reads each request whole before a thread sees it (`BufferingWorker`): a
client that announces a body and stalls, or sends it a byte at a time, waits in the
worker's event loop, where it costs a socket and not a thread, and is answered 408 once
its time (`CXBOT_REQUEST_SECONDS`) is up. gunicorn's gthread worker would otherwise hand
the connection to a thread as soon as its first bytes arrive, and that thread then waits
on the body for as long as the client likes: 64 slow clients held every thread, and
`/healthz` went unanswered.

Prometheus counters from every worker, the jobs worker included, are added up at
`/metrics` (prometheus_client's multiprocess mode, in a directory made for this server
unless `PROMETHEUS_MULTIPROC_DIR` names one).
"""

from __future__ import annotations

import io
import logging
import os
import selectors
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.workers.gthread import ThreadWorker

from cxbot import heap
from cxbot.config import ConfigError, Settings
from cxbot.jobs.wake import WakePipe

log = logging.getLogger(__name__)

Jobs = Literal["worker", "inline"]
JOBS = "jobs"
WEB = "web"


def _idle_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:  # never called: it has no socket
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"the jobs worker serves no requests\n"]


MAX_BODY = 1024 * 1024     # the largest body served (cxbot.web answers the same for Slack's path)
MAX_HEAD = 64 * 1024       # request line and headers; Slack sends well under 2 kB
MAX_HELD = 64 * 1024 * 1024  # all requests still arriving in one worker (Slack's are a few kB each)
WAIT, READY = "wait", "ready"
FRONT_ANSWERS = {
    408: (b"408 Request Timeout", b'{"error": "the request did not arrive in time"}'),
    411: (b"411 Length Required", b'{"error": "send the body with a Content-Length"}'),
    413: (b"413 Content Too Large", b'{"error": "body too large"}'),
    503: (b"503 Service Unavailable", b'{"error": "too many requests arriving at once"}'),
    431: (b"431 Request Header Fields Too Large", b'{"error": "headers too large"}'),
}


@dataclass
class Arriving:
    """A request whose bytes are still coming in, and when its time is up."""

    deadline: float
    data: bytearray = field(default_factory=bytearray)

    def state(self) -> str | int:
        """READY once the head and Content-Length bytes of body are in; WAIT before that; or the
        status to refuse it with. Malformed heads are READY: gunicorn's parser refuses them."""
        end = self.data.find(b"\r\n\r\n")
        if end < 0:
            return 431 if len(self.data) > MAX_HEAD else WAIT
        if end > MAX_HEAD:
            return 431
        length = 0
        for line in bytes(self.data[:end]).split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"transfer-encoding":
                return 411
            if name == b"content-length":
                try:
                    length = max(length, int(value.strip()))
                except ValueError:
                    return READY
        if length > MAX_BODY:
            return 413
        return READY if len(self.data) >= end + 4 + length else WAIT

    def without_expect(self) -> bytes:
        """The request without `Expect: 100-continue`: its body is already here, so nobody
        should answer 100 any more (the worker answered it when it asked)."""
        end = self.data.find(b"\r\n\r\n")
        lines = bytes(self.data[:end]).split(b"\r\n")
        kept = [line for line in lines if line.partition(b":")[0].strip().lower() != b"expect"]
        return b"\r\n".join(kept) + bytes(self.data[end:])

    def expects_continue(self) -> bool:
        end = self.data.find(b"\r\n\r\n")
        return end >= 0 and len(self.data) == end + 4 and any(
            line.partition(b":")[0].strip().lower() == b"expect" and b"100-continue" in line.lower()
            for line in bytes(self.data[:end]).split(b"\r\n")[1:])


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, except that a connection reaches a thread only with a whole
    request in hand: until then its bytes are read, without blocking, by the worker's event
    loop (the one that accepts connections and watches kept-alive ones). A request not
    complete within `deadline` seconds of its first wait is answered 408 and closed; one
    with a body over 1 MiB is answered 413, and one sent chunked 411 (Slack always sends a
    Content-Length). What waits is held in memory, at most 64 MiB a worker: past that, the
    request whose bytes would exceed it is answered 503. The bytes are handed to gunicorn's
    own parser, which reads them from its buffer and never waits on the client.

    It relies on what gthread has kept since gunicorn 23: `enqueue_req(conn)` called on the
    event loop for each request to serve, `TConn.init()` making the parser, the parser's
    `unreader`, and `murder_keepalived()` called on every turn of the loop."""

    deadline = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arriving: dict[Any, Arriving] = {}
        self._held = 0

    @contextmanager
    def _poller_lock(self) -> Iterator[None]:
        with getattr(self, "_lock", None) or nullcontext():
            yield

    def enqueue_req(self, conn: Any) -> None:
        arriving = Arriving(deadline=time.monotonic() + self.deadline)
        parser = getattr(conn, "parser", None)
        if parser is not None:  # bytes a client sent behind its previous request
            arriving.data += parser.unreader.buf.getvalue()
            parser.unreader.buf = io.BytesIO()
        if arriving.state() != WAIT:
            self._arrived(conn, arriving)
            return
        conn.sock.setblocking(False)
        self._arriving[conn] = arriving
        self._held += len(arriving.data)
        with self._poller_lock():
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn: Any, _sock: Any) -> None:
        arriving = self._arriving.get(conn)
        if arriving is None:
            return
        try:
            chunk = conn.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away (or closed a kept-alive connection)
            self._forget(conn)
            self._close(conn)
            return
        if self._held + len(chunk) > MAX_HELD:
            self._forget(conn)
            self._refuse(conn, 503)
            return
        arriving.data += chunk
        self._held += len(chunk)
        if arriving.state() == WAIT:
            if arriving.expects_continue():
                self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        self._forget(conn)
        self._arrived(conn, arriving)

    def _arrived(self, conn: Any, arriving: Arriving) -> None:
        state = arriving.state()
        if state != READY and state != WAIT:
            self._refuse(conn, int(state))
            return
        conn.sock.setblocking(True)
        if conn.parser is None:
            conn.init()
        conn.parser.unreader.unread(arriving.without_expect() if arriving.data else b"")
        conn.data_ready = True  # gunicorn >= 25 would otherwise wait for the socket to be readable
        super().enqueue_req(conn)

    def murder_keepalived(self, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        for conn, arriving in list(self._arriving.items()):
            if arriving.deadline <= now or not self.alive and not arriving.data:
                self._forget(conn)
                if arriving.data:
                    self._refuse(conn, 408)
                else:
                    self._close(conn)
        return super().murder_keepalived(*args, **kwargs)

    def _forget(self, conn: Any) -> None:
        self._held -= len(self._arriving.pop(conn).data)
        with self._poller_lock():
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass

    def _send(self, conn: Any, data: bytes) -> None:
        try:
            conn.sock.send(data)  # small enough for an empty socket buffer; lost if the client is gone
        except OSError:
            pass

    def _refuse(self, conn: Any, status: int) -> None:
        reason, body = FRONT_ANSWERS[status]
        self._send(conn, b"HTTP/1.1 " + reason + b"\r\nContent-Type: application/json\r\nContent-Length: "
                   + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        self.log.info("answered %s to %s before reading its request", status, conn.client)
        self._close(conn)

    def _close(self, conn: Any) -> None:
        self.nr_conns -= 1
        try:
            conn.sock.close()
        except OSError:
            pass


class GunicornServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any], *, jobs: Jobs = "worker") -> None:
        self._settings = settings
        self._options = options
        self._jobs = jobs
        self._wake = WakePipe() if jobs == "worker" else None
        self._role = WEB
        self._runtime: Any = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if self._jobs == "worker":
            self.cfg.set("workers", int(self._options["workers"]) + 1)
            self.cfg.set("pre_fork", self._pre_fork)
            self.cfg.set("post_fork", self._post_fork)
            self.cfg.set("on_reload", self._on_reload)
        self.cfg.set("worker_exit", self._worker_exit)

    # -- in the master

    def _pre_fork(self, server: Any, worker: Any) -> None:
        """The worker about to be forked runs the jobs unless a live worker already does."""
        running = any(getattr(w, "cxbot_role", None) == JOBS for w in server.WORKERS.values())
        worker.cxbot_role = WEB if running else JOBS

    def _on_reload(self, server: Any) -> None:
        """On HUP gunicorn starts a new set of workers, then stops the old ones: the new set
        gets its own jobs worker (the old one keeps working until it is stopped)."""
        for w in server.WORKERS.values():
            if getattr(w, "cxbot_role", None) == JOBS:
                w.cxbot_role = "retiring"

    # -- in a worker

    def _post_fork(self, server: Any, worker: Any) -> None:
        self._role = getattr(worker, "cxbot_role", WEB)
        if self._role == JOBS:
            worker.sockets = []  # gunicorn's gthread loop then only keeps the heartbeat
            server.log.info("worker %s runs the jobs: presses, outbox, schedule", os.getpid())

    def load(self) -> Any:
        from cxbot.app import Runtime

        if self._jobs == "inline":
            runtime = Runtime(self._settings, mode="http")
        elif self._role == JOBS:
            runtime = Runtime(self._settings, mode="jobs", role="jobs", wake=self._wake)
        else:
            runtime = Runtime(self._settings, mode="http", role="web", wake=self._wake)
        runtime.start()
        self._runtime = runtime
        heap.settle()
        if runtime.wsgi is None:
            return _idle_app
        return runtime.wsgi

    def _worker_exit(self, server: Any, worker: Any) -> None:
        """Let the background workers finish what they hold (a round, a delivery)."""
        if self._runtime is not None:
            self._runtime.stop()


class CxLogger(GunicornLogger):
    """gunicorn's own lines (a worker booted, timed out or killed; an error it caught) go
    through cxbot's log handler (cxbot.logs): the same text or JSON format as every other
    line, and the same masking of anything shaped like a Slack token."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            if getattr(handler, "_gunicorn", False):
                self.error_log.removeHandler(handler)
        self.error_log.propagate = True


def serve(settings: Settings, *, host: str, port: int, workers: int, threads: int, jobs: Jobs = "worker") -> None:
    binds = [_bind(host, port)]
    if settings.metrics_address is not None:
        if settings.metrics_address[1] == port:
            raise ConfigError(f"CXBOT_METRICS_ADDRESS must use another port than Slack's ({port})")
        binds.append(_bind(*settings.metrics_address))
    elif settings.metrics_token is None:
        log.info("/metrics is not served: set CXBOT_METRICS_ADDRESS (its own address) or CXBOT_METRICS_TOKEN "
                 "(a bearer token on the Slack port)")
    made = _multiprocess_metrics()
    BufferingWorker.deadline = settings.request_seconds
    try:
        GunicornServer(settings, {
            "bind": binds,
            "workers": workers,
            "worker_class": "cxbot.server.BufferingWorker",
            "threads": threads,
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": None,
            "logger_class": "cxbot.server.CxLogger",
            "loglevel": settings.log_level.lower(),
        }, jobs=jobs).run()
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _multiprocess_metrics() -> str | None:
    """Point prometheus_client at a directory shared by the workers (before it is imported:
    it chooses how to keep values at import). Returns the directory if it made one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    if "prometheus_client" in sys.modules:
        log.warning("prometheus_client was imported before the server started: each worker reports its own metrics")
        return None
    made = tempfile.mkdtemp(prefix="cxbot-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made
