"""Prometheus metrics, served at GET /metrics in the text format.

Counters and histograms live in this process; the outbox gauges are read from the
database at scrape time, so every replica reports the same shared queue. With several
gunicorn workers, each worker answers for itself (scrape through a service that keeps
them apart, or run one worker per container).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.services.outbox import PENDING
from cxbot.store.models import OutboxItem, Press

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

    def watch_outbox(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.registry.register(OutboxCollector(sessions, clock))


class OutboxCollector(Collector):
    """Outbox depth and the age of the oldest pending item, and the same for button presses
    not applied yet, read when Prometheus scrapes."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions, self._clock = sessions, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._sessions() as s:
            depth, oldest = s.execute(select(func.count(), func.min(OutboxItem.created_at))
                                      .where(OutboxItem.status == PENDING)).one()
            presses, first = s.execute(select(func.count(), func.min(Press.received_at))).one()
        yield GaugeMetricFamily("cxbot_outbox_depth", "Slack side effects waiting to be delivered", value=depth)
        yield GaugeMetricFamily("cxbot_outbox_oldest_pending_seconds", "Age of the oldest undelivered item",
                                value=self._age(oldest))
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
