"""What delivering the outbox reads and records, for the Slack adapter and the outbox worker.

The Slack adapter (`cxbot.slack.delivery`) only talks to Slack: what it renders and where the
bot's messages are come from here as plain values, and what Slack answered (a message's ts,
a DM channel, a permalink) goes back through here. Each read runs in a read session and each
write in its own short transaction, so no transaction is open while Slack is called (on
SQLite, the write lock is never held across a Slack call).

The outbox worker records the fate of each item here too: delivered, to be retried, or
dead (with the admins told once, in the same transaction), and whether Slack refused the
bot's token, which stops all delivery (`DeliveryHalt`) until `auth.test` passes again.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.domain.identifiers import parse_id
from cxbot.domain.model import VoteKind
from cxbot.reports import export
from cxbot.reports.model import Digest
from cxbot.services import digests, home, notices, outbox, people, reminders
from cxbot.services.channel_locale import remember_channel_locale
from cxbot.services.council import council_of, find_council
from cxbot.services.outbox import PermanentFailure
from cxbot.services.readmodel import RequestView, request_view
from cxbot.services.reminders import DailyReminderView
from cxbot.store.models import (
    AuditEvent,
    Council,
    DeliveryHalt,
    DigestSend,
    OutboxItem,
    Person,
    ReviewRequest,
    SlackMessage,
    Vote,
)
from cxbot.store.uow import UnitOfWork

# How often a stopped delivery asks Slack whether the token works again (auth.test is cheap,
# and a replaced token should be noticed within a minute or two).
PROBE_EVERY = timedelta(seconds=60)
HALT_ID = 1
# Failing items of these kinds tell nobody: an alert that cannot be delivered must not raise
# another alert, and a refusal shown to one person is not the admins' business, nor is one
# person's Home tab (it is published afresh whenever they open it).
SILENT_KINDS = frozenset({notices.ADMIN_ALERT, notices.EPHEMERAL, home.HOME})
# The same refusal in the same request (every update of a message in a channel the bot has
# left, say) is told once a day, not once per vote.
TELL_AGAIN_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Posted:
    """A message the bot posted about a request and keeps up to date."""

    id: int
    role: str
    channel: str
    ts: str
    permalink: str
    content_hash: str


@dataclass(frozen=True)
class Event:
    """The audit event a note or a direct message is about."""

    id: int
    kind: str
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True)
class DigestClaim:
    dm_channel: str
    dm_ts: str
    sent: bool


@dataclass(frozen=True)
class Halt:
    reason: str
    since: datetime
    checked_at: datetime


def _posted(m: SlackMessage) -> Posted:
    return Posted(m.id, m.role, m.channel, m.ts, m.permalink, m.content_hash)


def _event(e: AuditEvent) -> Event:
    return Event(e.id, e.kind, e.actor, dict(e.data or {}))


class DeliveryRecords:
    """The database side of delivering the outbox, one short session per call."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock,
                 read_sessions: sessionmaker[Session] | None = None) -> None:
        """`read_sessions` serve the reads (building a message, finding one): on SQLite they
        never take the write lock, which acknowledgements wait for."""
        self._sessions = sessions
        self._readers = read_sessions or sessions
        self._clock = clock

    # --- reads --------------------------------------------------------------------------

    def view(self, request_id: int) -> RequestView:
        with self._readers() as s:
            return request_view(s, request_id, now=self._clock.now())

    def message(self, request_id: int, role: str) -> Posted | None:
        with self._readers() as s:
            row = s.scalars(select(SlackMessage).where(
                SlackMessage.request_id == request_id, SlackMessage.role == role)).first()
            return _posted(row) if row is not None else None

    def kept(self, request_id: int, event_roles: Sequence[str]) -> tuple[list[Posted], dict[int, Event]]:
        """A request's messages, and the audit events those with a role `<kind>:<event id>` (for
        a kind in `event_roles`) are about, in one read."""
        with self._readers() as s:
            messages = [_posted(m) for m in s.scalars(
                select(SlackMessage).where(SlackMessage.request_id == request_id))]
            ids = [int(key) for kind, _, key in (m.role.partition(":") for m in messages)
                   if kind in event_roles and key.isdigit()]
            if not ids:
                return messages, {}
            return messages, {e.id: _event(e) for e in s.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))}

    def event(self, event_id: int) -> Event:
        with self._readers() as s:
            row = s.get(AuditEvent, event_id)
            if row is None:
                raise PermanentFailure(f"audit event {event_id} is gone")
            return _event(row)

    def export_zip(self, council: str, directory: str) -> str:
        """The council's record (cxbot.reports.export, CSV), zipped into `directory`, read in one
        transaction; returns the zip's path (named after the council and today)."""
        day = self._clock.now().date()
        with self._readers() as s:
            found = find_council(s, council)
            scope = export.Scope(council_id=found.id, council=found.key)
            files = os.path.join(directory, "files")
            os.makedirs(files)
            written = export.export(s, scope, files, "csv")
        path = os.path.join(directory, f"cx-record-{found.key}-{day.isoformat()}.zip")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for w in written:
                archive.write(w.path, arcname=os.path.basename(w.path))
        return path

    def objection_of(self, request_id: int, user: str) -> str | None:
        """What `user` last said objecting to the request (the follow-up reminds them), or None."""
        with self._readers() as s:
            return s.scalar(select(Vote.note).where(Vote.request_id == request_id, Vote.user_id == user,
                                                    Vote.kind == VoteKind.OBJECT).order_by(Vote.id.desc()).limit(1))

    def parent_failed(self, request_id: int) -> bool:
        """True when the request's parent message can never be posted (its item is dead)."""
        with self._readers() as s:
            return s.scalar(select(OutboxItem.id).where(
                OutboxItem.lane == outbox.request_lane(request_id), OutboxItem.kind == notices.POST_REQUEST,
                OutboxItem.status == outbox.DEAD).limit(1)) is not None

    def known_dm_channel(self, user: str) -> str:
        with self._readers() as s:
            person = s.get(Person, user)
            return person.dm_channel if person is not None else ""

    def language(self, user: str) -> str:
        """The language `user` reads their DMs in (`people.reader`), from what is stored: no Slack call."""
        return people.reader(self._connect, user, self._clock.now()).language

    def dm_language(self, channel: str) -> str:
        """The language of whoever the bot's DM channel `channel` is with (a DM kept up to date)."""
        with self._readers() as s:
            user = s.scalar(select(Person.user_id).where(Person.dm_channel == channel).limit(1))
        return self.language(user or "")

    def _connect(self) -> Connection:
        return self._readers.kw["bind"].connect()  # type: ignore[no-any-return]

    def admins(self, lane: str = "") -> list[str]:
        """Who hears of a delivery that failed for good: the admins (or the chair when there
        are none) of the council the item's lane is about (a request's, or a council's
        digest), or of every council when it is about none."""
        with self._readers() as s:
            councils: list[Council] = []
            if lane.startswith("request:") and (request_id := parse_id(lane.split(":")[1])) is not None:
                request = s.get(ReviewRequest, request_id)
                councils = [council_of(s, request)] if request is not None else []
            elif lane.startswith("digest:") and lane.count(":") == 2:
                councils = list(s.scalars(select(Council).where(Council.key == lane.split(":")[1])))
            if not councils:
                councils = list(s.scalars(select(Council).order_by(Council.id)))
            return list(dict.fromkeys(user for council in councils
                                      for user in (list(council.admins) or [council.chair])))

    def chair(self, council: str | None = None) -> str:
        """The chair of `council` (a key; the only council without one)."""
        with self._readers() as s:
            return find_council(s, council).chair

    def council_channel(self, council: str | None = None) -> str:
        with self._readers() as s:
            return find_council(s, council).channel

    def _digest_send(self, s: Session, week: str, council: str | None) -> DigestSend | None:
        return s.get(DigestSend, (find_council(s, council).id, week))

    def digest_claim(self, week: str, council: str | None = None) -> DigestClaim:
        with self._readers() as s:
            claim = self._digest_send(s, week, council)
            if claim is None:
                raise PermanentFailure(f"the digest of {week} was never claimed")
            return DigestClaim(claim.dm_channel, claim.dm_ts, claim.sent_at is not None)

    def digest(self, week: str, council: str | None = None) -> Digest:
        return digests.digest(UnitOfWork(self._readers), week=week, clock=self._clock, council=council)

    # --- what Slack answered, each in its own short transaction -------------------------

    def posted(self, request_id: int, role: str, channel: str, ts: str, content_hash: str) -> None:
        with self._sessions() as s:
            s.add(SlackMessage(request_id=request_id, role=role, channel=channel, ts=ts, content_hash=content_hash))
            s.commit()

    def updated(self, message_id: int, content_hash: str) -> None:
        self._remember(message_id, content_hash=content_hash)

    def permalink(self, message_id: int, permalink: str) -> None:
        self._remember(message_id, permalink=permalink)

    def _remember(self, message_id: int, **fields: str) -> None:
        """Store what Slack answered about a posted message (gone messages are left alone)."""
        with self._sessions() as s:
            row = s.get(SlackMessage, message_id)
            if row is not None:
                for name, value in fields.items():
                    setattr(row, name, value)
                s.commit()

    def channel_locale(self, channel: str, locale: str | None) -> None:
        """Remember what Slack said of the council channel's locale (None: nothing), and when."""
        with self._sessions() as s:
            remember_channel_locale(s, channel, locale, self._clock.now())
            s.commit()

    def dm_opened(self, user: str, channel: str) -> None:
        """Remember a DM channel (conversations.open is Tier 3: open it once)."""
        with self._sessions() as s:
            person = s.get(Person, user)
            if person is None:
                # fetched_at in the distant past: the time zone is still to be looked up.
                s.add(Person(user_id=user, timezone="", fetched_at=datetime.min.replace(tzinfo=UTC),
                             dm_channel=channel))
            else:
                person.dm_channel = channel
            try:
                s.commit()
            except IntegrityError:
                s.rollback()  # another process remembered it first

    def daily_reminder(self, user: str, day: date) -> DailyReminderView | None:
        """A person's reminder DM of `day` as it stands now (None: no such day claimed)."""
        with self._readers() as s:
            return reminders.daily_view(s, user, day, self._clock.now())

    def home(self, user: str) -> home.HomeView:
        """`user`'s Home tab as it stands now."""
        with self._readers() as s:
            return home.home_view(s, user, self._clock.now())

    def daily_reminder_posted(self, user: str, day: date, channel: str, ts: str, content_hash: str) -> None:
        reminders.posted(self._sessions, user, day, channel, ts, content_hash)

    def digest_posted(self, week: str, channel: str, ts: str, council: str | None = None) -> None:
        with self._sessions() as s:
            claim = self._digest_send(s, week, council)
            if claim is not None:
                claim.dm_channel, claim.dm_ts = channel, ts
                s.commit()

    def digest_sent(self, week: str, council: str | None = None) -> None:
        with self._sessions() as s:
            row = self._digest_send(s, week, council)
            if row is not None:
                row.sent_at = self._clock.now()
                s.commit()


# --- the fate of outbox items, for the outbox worker ----------------------------------------


def delivered(session: Session, ids: Sequence[int], now: datetime) -> None:
    outbox.settle(session, ids, outbox.DONE, "", now)


def retry(session: Session, item: outbox.Item, reason: str, when: datetime) -> None:
    outbox.retry_at(session, item.id, item.attempts + 1, when, reason)


def gave_up(session: Session, item: outbox.Item, error: str, now: datetime, *, attempts: int | None = None,
            tell: bool = True) -> None:
    """Settle the item dead and, in the same transaction, queue one alert to the admins
    (never for an alert, or for a refusal meant for one person)."""
    outbox.settle(session, [item.id], outbox.DEAD, error, now, attempts)
    if tell and item.kind not in SILENT_KINDS and not _told(session, item.lane, error, now):
        notices.delivery_failed(session, item_id=item.id, kind=item.kind, lane=item.lane, error=error, now=now)


def _told(session: Session, lane: str, error: str, now: datetime) -> bool:
    """Whether the admins were told of this refusal in this lane lately."""
    # As `notices.delivery_failed` queues them: in the lane "admin", the first 300 characters of the error.
    recent = session.scalars(select(OutboxItem.payload).where(
        OutboxItem.lane == "admin", OutboxItem.kind == notices.ADMIN_ALERT,
        OutboxItem.created_at >= now - TELL_AGAIN_AFTER))
    return any(p.get("lane") == lane and p.get("error") == error[:300] for p in recent)


# --- the token refused: delivery stops as a whole -------------------------------------------


def halt(session: Session) -> Halt | None:
    row = session.get(DeliveryHalt, HALT_ID)
    return Halt(row.reason, row.since, row.checked_at) if row is not None else None


def halted(read_sessions: sessionmaker[Session]) -> Halt | None:
    """Whether delivery is stopped, and why (for /healthz and the outbox worker)."""
    with read_sessions() as s:
        return halt(s)


def stop(sessions: sessionmaker[Session], reason: str, now: datetime) -> None:
    """Stop all delivery: Slack refused the token. Kept from the first refusal; idempotent."""
    with sessions() as s:
        row = s.get(DeliveryHalt, HALT_ID)
        if row is None:
            try:
                with s.begin_nested():
                    s.add(DeliveryHalt(id=HALT_ID, reason=reason[:200], since=now, checked_at=now))
            except IntegrityError:
                pass  # another process stopped it first
        else:
            row.checked_at = now
        s.commit()


def checked(sessions: sessionmaker[Session], reason: str, now: datetime) -> None:
    """The token was tried again and still refused."""
    with sessions() as s:
        row = s.get(DeliveryHalt, HALT_ID)
        if row is not None:
            row.reason, row.checked_at = reason[:200], now
            s.commit()


def resume(sessions: sessionmaker[Session]) -> None:
    """Slack accepts the token again: delivery goes on where it stopped."""
    with sessions() as s:
        row = s.get(DeliveryHalt, HALT_ID)
        if row is not None:
            s.delete(row)
            s.commit()
