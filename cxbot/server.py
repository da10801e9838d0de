"""`cxbot serve`: the WSGI app under gunicorn (threaded workers).

Each worker process builds its own Runtime after the fork (database pools and threads do
not survive a fork) and runs its own outbox worker; lanes are leased in the database, so
several workers or replicas deliver each item once.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from cxbot.config import Settings


class GunicornServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from cxbot.app import Runtime

        runtime = Runtime(self._settings, mode="http")
        runtime.start()
        assert runtime.wsgi is not None
        return runtime.wsgi


def serve(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    GunicornServer(settings, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,
        "loglevel": settings.log_level.lower(),
    }).run()
