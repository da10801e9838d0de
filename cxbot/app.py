"""The composition root: engine, services, Slack client, Bolt app, outbox worker, WSGI app."""

from __future__ import annotations

import logging

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine

from cxbot.clock import Clock, SystemClock
from cxbot.config import ConfigError, Settings
from cxbot.jobs.outbox_worker import OutboxWorker
from cxbot.services.context import Services
from cxbot.slack.bolt import make_app, make_client
from cxbot.slack.delivery import SlackDelivery
from cxbot.slack.replies import AfterAck
from cxbot.store.db import make_engine, make_session_factory
from cxbot.store.migrate import is_at_head
from cxbot.web import WebApp

log = logging.getLogger(__name__)


class Runtime:
    """Everything one serving process needs, wired once. `start()` starts the outbox worker."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None,
                 socket_mode: bool = False) -> None:
        settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        if not is_at_head(self.engine):
            raise ConfigError("the database is not at the latest migration: run `cxbot db upgrade` first")
        self.sessions = make_session_factory(self.engine)
        self.clock = clock or SystemClock()
        self.client = make_client(token=settings.bot_token or "", base_url=settings.slack_api_url)
        self.delivery = SlackDelivery(self.client, self.sessions, self.clock)
        self.worker = OutboxWorker(self.sessions, self.clock, self.delivery)
        self.services = Services(self.sessions, self.clock, on_commit=self.worker.kick)
        self.after = AfterAck(self.client)
        self.bolt = make_app(client=self.client, signing_secret=settings.signing_secret, cx=self.services,
                             after=self.after, verify_requests=not socket_mode)
        self.wsgi = WebApp(SlackRequestHandler(self.bolt), self.engine)

    def start(self) -> None:
        self.worker.start()
        self.worker.kick()  # deliver whatever a previous process left pending

    def stop(self) -> None:
        self.worker.stop()
        self.after.shutdown()
