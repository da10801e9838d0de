"""Waking the jobs worker of `cxbot serve` from the web workers, through a pipe.

The gunicorn master opens the pipe before it forks, so every worker inherits both ends. A
web worker writes one byte after a commit that gave the jobs worker something to do
(`PRESSES`: a vote press was stored; `OUTBOX`: Slack calls were queued); the jobs worker's
listener thread reads them and kicks the matching background worker. Writing never
blocks: when the pipe is full the jobs worker has wake-ups waiting already, and a lost
byte costs at most the workers' own poll interval (they also look on their own).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

PRESSES = b"p"
OUTBOX = b"o"


class WakePipe:
    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._listener: threading.Thread | None = None

    def send(self, what: bytes) -> None:
        try:
            os.write(self._write, what)
        except OSError:  # full (the reader is behind and will wake anyway) or closed (shutting down)
            pass

    def presses(self) -> None:
        self.send(PRESSES)

    def outbox(self) -> None:
        self.send(OUTBOX)

    def listen(self, kicks: Mapping[bytes, Callable[[], None]]) -> None:
        """In the jobs worker: a daemon thread that calls `kicks[byte]` for each byte read."""

        def run() -> None:
            while True:
                try:
                    data = os.read(self._read, 4096)
                except OSError:
                    log.exception("the wake pipe failed: background workers fall back to polling")
                    return
                if not data:
                    return
                for what, kick in kicks.items():
                    if what in data:
                        kick()

        self._listener = threading.Thread(target=run, name="cxbot-wake", daemon=True)
        self._listener.start()
