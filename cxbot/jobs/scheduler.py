"""APScheduler 3 wakes the sweep, and the weekly digest check, every minute in each serving process.

The scheduler keeps no state of its own (an in-memory job store): what is due lives in
our tables and each sweep claims its work there, so several processes sweeping at once
never send a reminder twice (a shared APScheduler job store would duplicate or miss runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from cxbot.store.db import background_writes

log = logging.getLogger(__name__)


class Scheduler:
    """Runs each job every `every_seconds`; a job's failure is logged and the next run tries again."""

    def __init__(self, jobs: dict[str, Callable[[], Any]], *, every_seconds: float = 60.0) -> None:
        self._scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                            "misfire_grace_time": 30})
        for name, job in jobs.items():
            self._scheduler.add_job(self._run, "interval", args=(name, job), seconds=every_seconds, id=name,
                                    replace_existing=True)

    @staticmethod
    def _run(name: str, job: Callable[[], Any]) -> None:
        background_writes()
        try:
            result = job()
            if result:
                log.info("%s: %s", name, result)
        except Exception:
            log.exception("%s failed", name)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
