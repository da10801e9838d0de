"""Prometheus metrics, served at GET /metrics in the text format: on an address of their own
(`CXBOT_METRICS_ADDRESS`) or, with a bearer token (`CXBOT_METRICS_TOKEN`), on the Slack port
(`cxbot.web` decides who is answered).

The outbox and press gauges are read from the database at scrape time, so every replica
reports the same shared queue. Counters and histograms live in this process, or, under
`cxbot serve` (prometheus_client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`), in files
every worker of the server writes, added up at each scrape: the web workers count
requests, the jobs worker counts deliveries and applied presses, and any web worker
answers for all of them. Each replica (each `cxbot serve`) answers for its own workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.services.delivery import halt
from cxbot.services.outbox import PENDING
from cxbot.store.journal import Waiting
from cxbot.store.models import OutboxItem

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)


class Metrics:
    """One registry a process: what the WSGI app, the outbox worker and /metrics share."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("cxbot_slack_requests", "Slack requests by kind and HTTP status",
                                ["kind", "status"], registry=self.registry)
        self.ack_seconds = Histogram("cxbot_ack_seconds", "Time to answer a Slack request, by kind",
                                     ["kind"], buckets=ACK_BUCKETS, registry=self.registry)
        self.deliveries = Counter("cxbot_outbox_deliveries", "Outbox deliveries by kind and result",
                                  ["kind", "result"], registry=self.registry)
        self.presses_applied = Counter("cxbot_presses_applied", "Vote button presses applied after their ack",
                                       registry=self.registry)
        self._outbox: OutboxCollector | None = None

    def watch_outbox(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._outbox = OutboxCollector(sessions, clock)
        self.registry.register(self._outbox)

    def exposition(self) -> bytes:
        """The text format for a scrape: every worker's counters in multiprocess mode, else this process's."""
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not path:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)
        if self._outbox is not None:
            registry.register(self._outbox)
        return generate_latest(registry)


class OutboxCollector(Collector):
    """Outbox depth and the age of the oldest pending item, whether delivery is stopped (the
    token refused), and the same for button presses not applied yet, read when Prometheus scrapes."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions, self._clock = sessions, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._sessions() as s:
            depth, oldest = s.execute(select(func.count(), func.min(OutboxItem.created_at))
                                      .where(OutboxItem.status == PENDING)).one()
            presses, first = Waiting(s).count()
            stopped = halt(s) is not None
        yield GaugeMetricFamily("cxbot_outbox_depth", "Slack side effects waiting to be delivered", value=depth)
        yield GaugeMetricFamily("cxbot_outbox_oldest_pending_seconds", "Age of the oldest undelivered item",
                                value=self._age(oldest))
        yield GaugeMetricFamily("cxbot_delivery_stopped",
                                "1 while Slack refuses the bot's token and nothing is delivered",
                                value=1.0 if stopped else 0.0)
        yield GaugeMetricFamily("cxbot_presses_pending", "Vote button presses acknowledged and not applied yet",
                                value=presses)
        yield GaugeMetricFamily("cxbot_presses_oldest_pending_seconds", "Age of the oldest press not applied yet",
                                value=self._age(first))

    def _age(self, oldest: datetime | str | None) -> float:
        if isinstance(oldest, str):  # SQLite returns MIN() of a datetime column as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is None:
            return 0.0
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=self._clock.now().tzinfo)
        return max(0.0, (self._clock.now() - oldest).total_seconds())
