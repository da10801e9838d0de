"""APScheduler 3 wakes the sweep every minute in each serving process.

The scheduler keeps no state of its own (an in-memory job store): what is due lives in
our tables and each sweep claims its work there, so several processes sweeping at once
never send a reminder twice (a shared APScheduler job store would duplicate or miss runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, sweep: Callable[[], Any], *, every_seconds: float = 60.0) -> None:
        self._sweep = sweep
        self._scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                            "misfire_grace_time": 30})
        self._scheduler.add_job(self._run, "interval", seconds=every_seconds, id="sweep", replace_existing=True)

    def _run(self) -> None:
        try:
            report = self._sweep()
            log.info("sweep: %s", report)
        except Exception:
            log.exception("sweep failed")

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
