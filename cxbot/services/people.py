"""What Slack told us about people (time zone, name), cached in the database.

The Slack side (`cxbot.slack.people`) looks people up with `users.info`; these functions
read and store what it learnt, each in its own short transaction, never around a Slack call.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cxbot.store.models import Person


@dataclass(frozen=True)
class Known:
    timezone: str   # "" when Slack gave none: the council's zone applies
    name: str
    fetched_at: datetime


def known(sessions: sessionmaker[Session], users: Collection[str]) -> dict[str, Known]:
    with sessions() as s:
        return {p.user_id: Known(p.timezone, p.name, p.fetched_at)
                for p in s.scalars(select(Person).where(Person.user_id.in_(list(users))))}


def remember(sessions: sessionmaker[Session], looked_up: Mapping[str, Known]) -> None:
    """Store what was looked up (or when to look again), in one transaction."""
    if not looked_up:
        return
    with sessions() as s:
        for user, info in looked_up.items():
            _remember(s, user, info)
        s.commit()


def _remember(s: Session, user: str, info: Known) -> None:
    """Insert or update; another process may be caching the same person at the same moment."""
    try:
        with s.begin_nested():
            row = s.get(Person, user)
            if row is None:
                s.add(Person(user_id=user, timezone=info.timezone, name=info.name, fetched_at=info.fetched_at,
                             dm_channel=""))
            else:
                row.timezone, row.name, row.fetched_at = info.timezone, info.name, info.fetched_at
    except IntegrityError:
        row = s.get(Person, user)
        if row is not None:
            row.timezone, row.name, row.fetched_at = info.timezone, info.name, info.fetched_at
