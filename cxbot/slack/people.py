"""People's time zones, names and locales from Slack, for the cache in `cxbot.services.people`.

Reminders land in working hours in the *recipient's* zone, and the digest names people. A
refresh asks only about people who are needed and stale: a few with `users.info` (Tier 4,
about 100 a minute), many with `users.list` pages of 200 (Tier 2, about 20 pages a minute:
a council of 2,000 is ten calls, not 2,000), stopping at the page where the last one
needed was found. Both ask `include_locale=true`: Slack sends a person's interface
language (`locale`, like `de-DE`) only when asked. Calls are paced to those tiers; this runs
on the people worker's thread (`cxbot.jobs.people_worker`), never in a sweep. A `user_change` event (`profile`) keeps a
person current between refreshes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.services import people
from cxbot.services.people import Known

log = logging.getLogger(__name__)

PAGE = 200   # Slack recommends no more than 200 results a page
# From this many stale people on, one refresh pages users.list instead of one users.info each.
LIST_FROM = 20
# Seconds between two calls of a method: Tier 2 (users.list) allows about 20 a minute,
# Tier 4 (users.info) about 100.
PACE: Mapping[str, float] = {"users.list": 3.0, "users.info": 0.6}


def zone_and_name(user: Mapping[str, Any]) -> tuple[str, str]:
    """A Slack user object's IANA zone ("" for none) and the name to show."""
    profile = user.get("profile") or {}
    name = user.get("real_name") or profile.get("real_name") or profile.get("display_name") or ""
    return str(user.get("tz") or ""), str(name)


def locale_of(user: Mapping[str, Any]) -> str | None:
    """A Slack user object's locale (`en-US`, `de-DE`), or None when it carries none (Slack adds
    it only to answers asked with `include_locale`)."""
    locale = user.get("locale")
    return str(locale)[:16] if isinstance(locale, str) and locale else None


def _known(user: Mapping[str, Any]) -> tuple[str, str, str]:
    return (*zone_and_name(user), locale_of(user) or "")


class SlackDirectory:
    """Refreshes the stored time zones and names of people who are needed and stale."""

    def __init__(self, client: WebClient, sessions: sessionmaker[Session], clock: Clock, *,
                 pace: Mapping[str, float] = PACE, page: int = PAGE, list_from: int = LIST_FROM) -> None:
        self._client, self._sessions, self._clock = client, sessions, clock
        self.pace, self.page, self.list_from = dict(pace), page, list_from
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def refresh(self, users: Collection[str]) -> int:
        """Look up who of `users` is stale, and store it; returns how many were stored."""
        with self._lock:
            now = self._clock.now()
            cached = people.known(self._sessions, users)
            wanted = people.stale(cached, users, now)
            if not wanted:
                return 0
            found = self._listed(wanted) if len(wanted) >= self.list_from else self._each(wanted)
            looked_up = {u: Known(found[u][0], found[u][1], now, found[u][2]) for u in wanted if u in found}
            looked_up |= people.failed(cached, [u for u in wanted if u not in found], now)
            people.remember(self._sessions, looked_up)
            return len(found)

    def _call(self, method: str, **params: Any) -> Any:
        """One call, in its turn; a 429 is waited out (Slack's Retry-After) and tried again, twice at most."""
        for attempt in range(3):
            gap = self.pace.get(method, 0.0)
            last = self._last.get(method)
            if gap and last is not None:
                time.sleep(max(0.0, last + gap - time.monotonic()))
            self._last[method] = time.monotonic()
            try:
                return self._client.api_call(method, http_verb="GET", params=params)
            except SlackApiError as exc:
                if exc.response.status_code != 429 or attempt == 2:
                    raise
                wait = min(60.0, float(exc.response.headers.get("Retry-After", 1) or 1))
                log.warning("%s: Slack asks to wait %.0f s (rate limited)", method, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _listed(self, wanted: list[str]) -> dict[str, tuple[str, str, str]]:
        """Page through `users.list` until everyone wanted was seen (or the list ends)."""
        missing, cursor = set(wanted), ""
        found: dict[str, tuple[str, str, str]] = {}
        while missing:
            try:
                answer = self._call("users.list", limit=self.page, include_locale="true",
                                    **({"cursor": cursor} if cursor else {}))
            except (SlackApiError, OSError) as exc:
                log.warning("users.list failed (%d people left to refresh): %s", len(missing), exc)
                break
            for member in answer.get("members") or []:
                if member.get("id") in missing:
                    found[member["id"]] = _known(member)
                    missing.discard(member["id"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
        return found

    def _each(self, wanted: list[str]) -> dict[str, tuple[str, str, str]]:
        found: dict[str, tuple[str, str, str]] = {}
        for user in wanted:
            try:
                found[user] = _known(self._call("users.info", user=user, include_locale="true")["user"])
            except (SlackApiError, OSError) as exc:
                log.warning("users.info failed for %s: %s", user, exc)
        return found
