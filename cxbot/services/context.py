"""What every entry point (Slack listeners, CLI, jobs) hands to the use cases."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock, SystemClock
from cxbot.services.intake import PressIntake
from cxbot.store.uow import UnitOfWork


@dataclass
class Services:
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    on_commit: Callable[[], None] | None = None
    read_sessions: sessionmaker[Session] | None = None
    glance_bind: Engine | None = None
    # Stores vote button presses before the acknowledgement (set by the composition root).
    presses: PressIntake | None = None
    # Asks the background people refresh to look these people up (their locale, zone and name).
    want_people: Callable[[Collection[str]], None] | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.on_commit)

    def bare_uow(self) -> UnitOfWork:
        """A unit of work whose commit wakes nobody (it queues no Slack call)."""
        return UnitOfWork(self.sessions)

    def reader(self) -> UnitOfWork:
        """A unit of work that only reads (it must not commit): on SQLite it never waits for writers."""
        return UnitOfWork(self.read_sessions or self.sessions)

    def glance(self) -> Connection:
        """A connection for one read statement (`with cx.glance() as conn:`) on a hot path,
        where the ORM's cost would show: on PostgreSQL from the autocommit pool that does not
        ping (`cxbot.store.db.make_quick_engine`), on SQLite one that never waits for writers."""
        return (self.glance_bind or (self.read_sessions or self.sessions).kw["bind"]).connect()
