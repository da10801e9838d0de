"""People's time zones from Slack (`users.info`), cached in the database for a day.

Reminders land in working hours in the *recipient's* zone. Lookups happen before the
sweep opens any transaction; a failed lookup falls back to what is cached, or to the
council's zone.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.store.models import Person

log = logging.getLogger(__name__)
FRESH_FOR = timedelta(hours=24)


class SlackTimeZones:
    def __init__(self, client: WebClient, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._client, self._sessions, self._clock = client, sessions, clock

    def __call__(self, users: Collection[str]) -> dict[str, str]:
        now = self._clock.now()
        with self._sessions() as s:
            known = {p.user_id: p for p in s.scalars(select(Person).where(Person.user_id.in_(list(users))))}
            zones = {u: p.timezone for u, p in known.items()}
            stale = [u for u in users if u not in known or now - known[u].fetched_at > FRESH_FOR]
        fetched: dict[str, str] = {}
        for user in sorted(stale):
            try:
                tz = self._client.users_info(user=user)["user"].get("tz")
            except (SlackApiError, OSError) as exc:
                log.warning("users.info failed for %s: %s", user, exc)
                continue
            # No zone from Slack is cached too ("" = the council's zone), so nobody is looked up every minute.
            fetched[user] = tz or ""
        if fetched:
            with self._sessions() as s:
                for user, tz in fetched.items():
                    self._remember(s, user, tz)
                s.commit()
        return {user: tz for user, tz in (zones | fetched).items() if tz}

    def _remember(self, s: Session, user: str, tz: str) -> None:
        """Insert or update; another process may be caching the same person at the same moment."""
        now = self._clock.now()
        try:
            with s.begin_nested():
                row = s.get(Person, user)
                if row is None:
                    s.add(Person(user_id=user, timezone=tz, fetched_at=now, dm_channel=""))
                else:
                    row.timezone, row.fetched_at = tz, now
        except IntegrityError:
            row = s.get(Person, user)
            if row is not None:
                row.timezone, row.fetched_at = tz, now
