"""The thread every background worker of a serving process runs on: started once, woken by
`kick()` (right after a commit that gave it work) or on its own, stopped on shutdown."""

from __future__ import annotations

import threading

from cxbot.store.db import background_writes


class WorkerThread:
    """Subclasses implement `_run()`, looping until `self._stop` is set and waiting on
    `self._wake` between rounds."""

    thread_name = "cxbot-worker"

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one drain at a time in this process

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _main(self) -> None:
        background_writes()
        self._run()

    def kick(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        raise NotImplementedError
