"""What Slack told us about people (time zone, name, locale), cached in the database, and
the language each person reads.

The sweep reads only what is stored here (`StoredTimeZones`) and never waits on Slack:
people it needs whose data is missing or older than `FRESH_FOR` are handed to a background
refresh (`cxbot.jobs.people_worker`, which asks `cxbot.slack.people`), and a `user_change`
event updates a person at once (`user_changed`). Each function runs its own short
transaction, never around a Slack call.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.domain.languages import channel_language, person_language
from cxbot.i18n import DEFAULT, LANGUAGES
from cxbot.store.db import once_more_if_dropped
from cxbot.store.models import Council, Department, Membership, Person
from cxbot.store.uow import UnitOfWork

FRESH_FOR = timedelta(hours=24)
# After a failed look-up, the person is asked about again this long after, not every minute.
RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Known:
    timezone: str   # "" when Slack gave none: the council's zone applies
    name: str
    fetched_at: datetime
    locale: str = ""   # Slack's interface language (`de-DE`), "" when Slack gave none


def known(sessions: sessionmaker[Session], users: Collection[str]) -> dict[str, Known]:
    with sessions() as s:
        return {p.user_id: Known(p.timezone, p.name, p.fetched_at, p.locale)
                for p in s.scalars(select(Person).where(Person.user_id.in_(list(users))))}


def stale(cached: Mapping[str, Known], users: Collection[str], now: datetime) -> list[str]:
    """Who of `users` is unknown, or known from longer ago than `FRESH_FOR`, in id order."""
    return sorted(u for u in set(users) if u not in cached or now - cached[u].fetched_at > FRESH_FOR)


def failed(cached: Mapping[str, Known], users: Collection[str], now: datetime) -> dict[str, Known]:
    """What to store for people Slack could not tell us about now: what we had, to be asked
    again after `RETRY`."""
    retry_at = now - FRESH_FOR + RETRY
    return {u: Known(cached[u].timezone, cached[u].name, retry_at, cached[u].locale) if u in cached
            else Known("", "", retry_at) for u in users}


class StoredTimeZones:
    """The sweep's time-zone lookup (`people -> {person: IANA zone}`): what is stored, at
    once. People missing or stale are passed to `on_stale` (the background refresh), so
    the next sweeps see them; until then the council's zone applies to the unknown."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock,
                 on_stale: Callable[[Collection[str]], None]) -> None:
        self._sessions, self._clock, self._on_stale = sessions, clock, on_stale

    def __call__(self, users: Collection[str]) -> dict[str, str]:
        cached = known(self._sessions, users)
        wanted = stale(cached, users, self._clock.now())
        if wanted:
            self._on_stale(wanted)
        return {user: info.timezone for user, info in cached.items() if info.timezone}


def remember(sessions: sessionmaker[Session], looked_up: Mapping[str, Known]) -> None:
    """Store what was looked up (or when to look again), in one transaction."""
    if not looked_up:
        return
    with sessions() as s:
        for user, info in looked_up.items():
            _remember(s, user, info)
        s.commit()


def user_changed(uow: UnitOfWork, user: str, *, timezone: str, name: str, clock: Clock,
                 locale: str | None = None) -> bool:
    """Slack says a person's profile changed (`user_change`): store their zone and name (and
    locale, when the event carries one) now, as fresh. Only for people the council knows
    (stored already, or members): the event comes for everyone in the workspace. True when stored."""
    with uow:
        s = uow.session
        row = s.get(Person, user)
        if row is None and s.scalar(
                select(Membership.user_id).where(Membership.user_id == user).limit(1)) is None:
            return False
        _remember(s, user, Known(timezone, name, clock.now(), row.locale if locale is None and row else locale or ""))
        uow.commit()
        return True


def _remember(s: Session, user: str, info: Known) -> None:
    """Insert or update; another process may be caching the same person at the same moment."""
    try:
        with s.begin_nested():
            row = s.get(Person, user)
            if row is None:
                s.add(Person(user_id=user, timezone=info.timezone, name=info.name, fetched_at=info.fetched_at,
                             dm_channel="", locale=info.locale))
            else:
                row.timezone, row.name, row.fetched_at, row.locale = (info.timezone, info.name, info.fetched_at,
                                                                      info.locale)
    except IntegrityError:
        row = s.get(Person, user)
        if row is not None:
            row.timezone, row.name, row.fetched_at, row.locale = info.timezone, info.name, info.fetched_at, info.locale


# ---------------------------------------------------------------------------- languages

_user = bindparam("user")
# A person's council: the first (by id) where they chair or hold an active role; a person in
# none reads the language of the only council, when there is one. Its language and its
# channel's stored locale come as one value, "nb:en-US" (one subquery, not two).
_COUNCIL_LANGUAGES = Council.language + ":" + Council.channel_locale
_THEIR_COUNCIL = (select(_COUNCIL_LANGUAGES)
                  .where(or_(Council.chair == _user, Council.id.in_(
                      select(Department.council_id).join(Membership, Membership.department_id == Department.id)
                      .where(Membership.user_id == _user, Membership.active.is_(True)))))
                  .order_by(Council.id).limit(1).scalar_subquery())
_ONLY_COUNCIL = select(func.min(_COUNCIL_LANGUAGES)).having(func.count() == 1).scalar_subquery()
# The council's language and one person's stored locale and choice, in one statement.
_LANGUAGE = select(func.coalesce(_THEIR_COUNCIL, _ONLY_COUNCIL),
                   *(select(column).where(Person.user_id == _user).scalar_subquery()
                     for column in (Person.language, Person.locale, Person.fetched_at)))


@dataclass(frozen=True)
class Reader:
    """The language one person reads, the language of their council's channel (which names
    its buttons), and whether what Slack told us about them is stale."""

    language: str
    stale: bool
    channel: str = DEFAULT


def reader(connect: Callable[[], Connection], user: str, now: datetime) -> Reader:
    """The language `user` reads what only they see (cxbot.domain.languages.person_language),
    from what is stored: no Slack call, so it may run before an acknowledgement. `stale` says
    their locale should be looked up again (in the background, with the rest of their data)."""

    def read() -> Any:
        with connect() as connection:
            return connection.execute(_LANGUAGE, {"user": user}).first()

    languages, choice, locale, fetched_at = once_more_if_dropped(read)
    council, _, channel_locale = (languages or "").partition(":")
    stale = fetched_at is None or now - fetched_at > FRESH_FOR
    return Reader(person_language(choice=choice, council=council, slack_locale=locale), stale,
                  channel_language(council=council, channel_locale=channel_locale))


def choose_language(uow: UnitOfWork, user: str, language: str | None, *, clock: Clock) -> None:
    """Store a person's own language (`None`: follow the council and their Slack locale).
    A person cxbot has not looked up yet is stored as due for a look-up."""
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    with uow:
        s = uow.session
        row = s.get(Person, user)
        if row is None:
            row = Person(user_id=user, timezone="", name="", dm_channel="", locale="",
                         fetched_at=clock.now() - FRESH_FOR - RETRY)
            s.add(row)
        row.language = language or ""
        uow.commit()
