"""The composition root: engine, services, Slack client, outbox worker, sweeps, and (when
serving) the Bolt app and the WSGI app."""

from __future__ import annotations

import logging
from typing import Literal

from slack_bolt import App
from sqlalchemy import Engine

from cxbot.clock import Clock
from cxbot.config import ConfigError, Settings
from cxbot.jobs.outbox_worker import OutboxWorker
from cxbot.jobs.people_worker import PeopleWorker
from cxbot.jobs.press_worker import PressWorker
from cxbot.jobs.retention import OutboxRetention
from cxbot.jobs.scheduler import Scheduler
from cxbot.jobs.wake import OUTBOX, PRESSES, WakePipe
from cxbot.metrics import Metrics
from cxbot.services import delivery, digests, followups
from cxbot.services.context import Services
from cxbot.services.delivery import DeliveryRecords
from cxbot.services.intake import PressIntake
from cxbot.services.outbox import Item
from cxbot.services.people import StoredTimeZones
from cxbot.services.sweep import SweepReport, sweep
from cxbot.slack.bolt import make_app, make_client
from cxbot.slack.delivery import SlackDelivery
from cxbot.slack.gateway import SlackGateway
from cxbot.slack.languages import translator_for
from cxbot.slack.people import SlackDirectory
from cxbot.slack.replies import AfterAck
from cxbot.store.db import make_engine, make_quick_engine, make_session_factory, read_only_engine
from cxbot.store.journal import close_journal, journal_of
from cxbot.store.migrate import is_at_head
from cxbot.web import WebApp

log = logging.getLogger(__name__)

Mode = Literal["http", "socket", "jobs"]
Role = Literal["all", "web", "jobs"]
REQUIRED = {"http": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"), "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"),
            "jobs": ("SLACK_BOT_TOKEN",)}


class Runtime:
    """Everything one process needs, wired once.

    `mode="http"` and `"socket"` also build the Bolt app (which checks the token with
    `auth.test`); `"jobs"` is for one-off commands such as `cxbot sweep`. `start()` starts
    the background workers — the press worker (applies vote presses), the outbox worker
    (delivers Slack calls) and (unless `scheduled=False`, for tests and the demo, which move
    time themselves) the sweep and digest check every CXBOT_SWEEP_SECONDS.

    `role` splits one process's work in two, for `cxbot serve`: `"web"` answers Slack and
    wakes the background workers of another process through `wake` instead of running them;
    `"jobs"` runs the background workers (scheduler included), woken through `wake`.
    `"all"` (the default) does both in this process. The scheduler also prunes delivered
    outbox items past the council's retention (`cxbot.jobs.retention`).
    """

    def __init__(self, settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None,
                 mode: Mode = "http", scheduled: bool = True, min_update_interval: float = 1.0,
                 updates_per_minute: float = 50.0, role: Role = "all", wake: WakePipe | None = None) -> None:
        if role != "all" and wake is None:
            raise ValueError(f"a {role!r} runtime needs the wake pipe of its server")
        settings.require(*REQUIRED[mode])
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        if not is_at_head(self.engine):
            raise ConfigError("the database is not at the latest migration: run `cxbot db upgrade` first")
        self.sessions = make_session_factory(self.engine)
        self.readers = make_session_factory(self.engine, read_only=True)
        self.quick_engine = make_quick_engine(self.engine)
        journal_of(self.engine)  # opened before anything is served, outside any transaction (cxbot.store.journal)
        self.clock = clock or settings.clock()
        self.client = make_client(token=settings.bot_token or "", base_url=settings.slack_api_url)
        self.metrics = Metrics()
        self.metrics.watch_outbox(self.readers, self.clock)
        self.delivery = SlackDelivery(self.client, DeliveryRecords(self.sessions, self.clock,
                                                                   read_sessions=self.readers))
        self.worker = OutboxWorker(self.sessions, self.clock, self.delivery, observe=self._delivered,
                                   min_update_interval=min_update_interval,
                                   updates_per_minute=updates_per_minute, read_sessions=self.readers,
                                   probe=self.delivery.probe)
        self.role, self.wake = role, wake
        remote = wake if role == "web" else None  # the background workers run in another process
        self.services = Services(self.sessions, self.clock, on_commit=remote.outbox if remote else self.worker.kick,
                                 read_sessions=self.readers,
                                 glance_bind=self.quick_engine or read_only_engine(self.engine))
        self.presses = PressWorker(self.services.uow, self.clock, observe=self.metrics.presses_applied.inc)
        self.services.presses = PressIntake(self.services.bare_uow, self.clock,
                                            on_stored=remote.presses if remote else self.presses.kick,
                                            autocommit=self.quick_engine, database=self.engine)
        # The sweep reads people's zones from the database; the people worker refreshes the
        # stale ones from Slack in the background (cxbot.jobs.people_worker).
        self.directory = SlackDirectory(self.client, self.sessions, self.clock)
        self.people = PeopleWorker(self.directory.refresh)
        self.timezones = StoredTimeZones(self.readers, self.clock, on_stale=self.people.want)
        # A person met at a slash command or button whose locale is unknown or stale is looked up
        # by this process's people worker (a web process runs it too: see `start`).
        self.services.want_people = self.people.want
        # One-off commands (mode "jobs", role "all") run no schedule; a jobs worker does.
        timed = scheduled and role != "web" and (mode != "jobs" or role == "jobs")
        self.retention = OutboxRetention(self.sessions, self.clock, read_sessions=self.readers)
        self.scheduler = (Scheduler({"sweep": self.sweep, "digest": self.send_due_digest,
                                     "follow-ups": self.send_due_follow_ups, "outbox retention": self.retention},
                                    every_seconds=settings.sweep_seconds) if timed else None)
        self.after = AfterAck(self.client, translate_for=lambda user: translator_for(self.services, user))
        self.bolt: App | None = None
        self.wsgi: WebApp | None = None
        if mode != "jobs":
            self.bolt = make_app(client=self.client, signing_secret=settings.signing_secret, cx=self.services,
                                 after=self.after)
            self.wsgi = WebApp(SlackGateway(self.bolt, settings.signing_secret or ""), self.engine, self.metrics,
                               halted=lambda: delivery.halted(self.readers), metrics_token=settings.metrics_token,
                               metrics_port=settings.metrics_address[1] if settings.metrics_address else None)

    def _delivered(self, item: Item, result: str, error: str) -> None:
        """Count deliveries (the admins hear of a dead item from the worker's own transaction)."""
        self.metrics.deliveries.labels(item.kind, result).inc()

    def sweep(self) -> SweepReport:
        """One sweep: deadlines, escalations, lapsed holds, reminders; their Slack messages are queued."""
        return sweep(self.services.uow, clock=self.clock, timezones=self.timezones)

    def send_due_follow_ups(self) -> int:
        """Ask the follow-up questions whose day has come (cxbot.services.followups)."""
        return followups.send_due(self.services.uow(), clock=self.clock)

    def send_due_digest(self) -> str | None:
        """Queue last week's digest once the council's digest time has passed (once per week)."""
        return digests.send_when_due(self.services.uow, clock=self.clock)

    def start(self) -> None:
        if self.role == "web":
            # The jobs worker of this server does the background work; the people worker runs here
            # too, to look up the people this process meets (cxbot.slack.languages), and only them.
            self.people.start()
            return
        if self.role == "jobs" and self.wake is not None:
            self.wake.listen({PRESSES: self.presses.kick, OUTBOX: self.worker.kick})
        self.presses.start()
        self.presses.kick()  # apply the presses a previous process acknowledged and did not apply
        self.worker.start()
        self.worker.kick()  # deliver whatever a previous process left pending
        self.people.start()
        if self.scheduler is not None:
            self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.presses.stop()
        self.worker.stop()
        self.people.stop()
        self.after.shutdown()
        if self.quick_engine is not None:
            self.quick_engine.dispose()
        close_journal(self.engine)
