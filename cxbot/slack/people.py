"""People's time zones and names from Slack (`users.info`), cached in the database for a day.

Reminders land in working hours in the *recipient's* zone. Lookups happen before the
sweep opens any transaction; a failed lookup falls back to what is cached, or to the
council's zone.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.store.models import Person

log = logging.getLogger(__name__)
FRESH_FOR = timedelta(hours=24)
RETRY = timedelta(hours=1)


class SlackTimeZones:
    """Looks people up once a day (names and zones), and again an hour after a failed look-up."""

    def __init__(self, client: WebClient, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._client, self._sessions, self._clock = client, sessions, clock

    def __call__(self, users: Collection[str]) -> dict[str, str]:
        now = self._clock.now()
        with self._sessions() as s:
            known = {p.user_id: p for p in s.scalars(select(Person).where(Person.user_id.in_(list(users))))}
            zones = {u: p.timezone for u, p in known.items()}
            stale = [u for u in users if u not in known or now - known[u].fetched_at > FRESH_FOR]
        looked_up: dict[str, tuple[str, str, datetime]] = {}
        for user in sorted(stale):
            try:
                info = self._client.users_info(user=user)["user"]
            except (SlackApiError, OSError) as exc:
                log.warning("users.info failed for %s: %s", user, exc)
                old = known.get(user)
                looked_up[user] = (old.timezone if old else "", old.name if old else "", now - FRESH_FOR + RETRY)
                continue
            profile = info.get("profile") or {}
            name = info.get("real_name") or profile.get("real_name") or profile.get("display_name") or ""
            # No zone from Slack is cached too ("" = the council's zone), so nobody is looked up every minute.
            looked_up[user] = (info.get("tz") or "", name, now)
        if looked_up:
            with self._sessions() as s:
                for user, (tz, name, at) in looked_up.items():
                    self._remember(s, user, tz, name, at)
                s.commit()
        zones |= {user: tz for user, (tz, _, _) in looked_up.items()}
        return {user: tz for user, tz in zones.items() if tz}

    @staticmethod
    def _remember(s: Session, user: str, tz: str, name: str, at: datetime) -> None:
        """Insert or update; another process may be caching the same person at the same moment."""
        try:
            with s.begin_nested():
                row = s.get(Person, user)
                if row is None:
                    s.add(Person(user_id=user, timezone=tz, name=name, fetched_at=at, dm_channel=""))
                else:
                    row.timezone, row.name, row.fetched_at = tz, name, at
        except IntegrityError:
            row = s.get(Person, user)
            if row is not None:
                row.timezone, row.name, row.fetched_at = tz, name, at
