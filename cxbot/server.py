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

Prometheus counters from every worker, the jobs worker included, are added up at
`/metrics` (prometheus_client's multiprocess mode, in a directory made for this server
unless `PROMETHEUS_MULTIPROC_DIR` names one).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from typing import Any, Literal

from gunicorn.app.base import BaseApplication

from cxbot import heap
from cxbot.config import Settings
from cxbot.jobs.wake import WakePipe

log = logging.getLogger(__name__)

Jobs = Literal["worker", "inline"]
JOBS = "jobs"
WEB = "web"


def _idle_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:  # never called: it has no socket
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"the jobs worker serves no requests\n"]


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


def serve(settings: Settings, *, host: str, port: int, workers: int, threads: int, jobs: Jobs = "worker") -> None:
    made = _multiprocess_metrics()
    try:
        GunicornServer(settings, {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": None,
            "loglevel": settings.log_level.lower(),
        }, jobs=jobs).run()
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


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
