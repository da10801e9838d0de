"""People's time zones and names from Slack (`users.info`), cached in the database for a day
(through `cxbot.services.people`).

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
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.services import people
from cxbot.services.people import Known

log = logging.getLogger(__name__)
FRESH_FOR = timedelta(hours=24)
RETRY = timedelta(hours=1)


class SlackTimeZones:
    """Looks people up once a day (names and zones), and again an hour after a failed look-up."""

    def __init__(self, client: WebClient, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._client, self._sessions, self._clock = client, sessions, clock

    def __call__(self, users: Collection[str]) -> dict[str, str]:
        now = self._clock.now()
        cached = people.known(self._sessions, users)
        zones = {u: p.timezone for u, p in cached.items()}
        stale = [u for u in users if u not in cached or now - cached[u].fetched_at > FRESH_FOR]
        looked_up: dict[str, Known] = {}
        for user in sorted(stale):
            try:
                info = self._client.users_info(user=user)["user"]
            except (SlackApiError, OSError) as exc:
                log.warning("users.info failed for %s: %s", user, exc)
                old = cached.get(user)
                looked_up[user] = Known(old.timezone if old else "", old.name if old else "", now - FRESH_FOR + RETRY)
                continue
            profile = info.get("profile") or {}
            name = info.get("real_name") or profile.get("real_name") or profile.get("display_name") or ""
            # No zone from Slack is cached too ("" = the council's zone), so nobody is looked up every minute.
            looked_up[user] = Known(info.get("tz") or "", name, now)
        people.remember(self._sessions, looked_up)
        zones |= {user: info.timezone for user, info in looked_up.items()}
        return {user: tz for user, tz in zones.items() if tz}
