"""Refreshes people's time zones and names in the background, so a sweep never waits on Slack.

The sweep's time-zone lookup (`cxbot.services.people.StoredTimeZones`) answers from the
database and hands the people it found missing or stale to `want()`; this thread asks
Slack about them (`cxbot.slack.people.SlackDirectory`, paced to Slack's rate tiers) and
stores the answers, which the next sweeps read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from cxbot.jobs.worker import WorkerThread

log = logging.getLogger(__name__)

Refresh = Callable[[Collection[str]], int]


class PeopleWorker(WorkerThread):
    thread_name = "cxbot-people"

    def __init__(self, refresh: Refresh) -> None:
        super().__init__()
        self._refresh = refresh
        self._wanted: set[str] = set()
        self._busy = False
        self._guard = threading.Lock()

    def want(self, users: Collection[str]) -> None:
        """Ask for these people to be refreshed (when stale); returns at once."""
        with self._guard:
            self._wanted |= set(users)
        self.kick()

    def idle(self) -> bool:
        """Nothing asked for and nothing being looked up."""
        with self._guard:
            return not self._wanted and not self._busy

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(60.0)
            self._wake.clear()
            self.drain()

    def drain(self) -> int:
        """Refresh everyone asked for so far; returns how many were looked up."""
        with self._lock:
            with self._guard:
                wanted, self._wanted = self._wanted, set()
                self._busy = bool(wanted)
            try:
                return self._refresh(wanted) if wanted else 0
            except Exception:  # the thread must survive a database outage; the next sweep asks again
                log.exception("refreshing people from Slack failed")
                return 0
            finally:
                with self._guard:
                    self._busy = False
