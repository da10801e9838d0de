"""The Slack side effects use cases ask for, named by what they mean, queued in the outbox.

Each notice names the request (and, for notes and direct messages, the audit event that
caused it); the Slack adapter renders it from the database at delivery time, so a burst
of refreshes shows the latest state once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.i18n import Msg, to_data
from cxbot.services.outbox import enqueue, enqueue_coalesced_many, request_lane
from cxbot.store.db import one_of
from cxbot.store.models import AuditEvent, DailyListing, DailyReminder

POST_REQUEST = "post_request"   # the parent message in the council channel
POST_PROMPT = "post_prompt"     # the thread reply that asks the routed advocates to vote
REFRESH = "refresh_request"     # update the parent and prompt in place
THREAD_NOTE = "thread_note"     # a reply in the thread about an audit event (objection, outcome…)
DIRECT = "direct_message"       # a DM to one person about an audit event
REMINDER = "reminder"           # a DM to someone whose department still owes an answer (closing soon, alone)
DAILY_REMINDER = "daily_reminder"   # a person's one DM of the day: everything they owe, kept up to date
EPHEMERAL = "ephemeral"         # an answer only the person who pressed a button sees (a refusal)
SUBSTITUTE_ENDED = "substitute_ended"   # a DM to an away advocate: a council load ended their substitution
ASKED = "asked_by_dm"           # a DM to someone asked whom the vote prompt had no room to mention


def request_filed(session: Session, request_id: int, event: AuditEvent, filer: str, now: datetime) -> None:
    lane = request_lane(request_id)
    enqueue(session, lane=lane, kind=POST_REQUEST, payload={"request_id": request_id}, now=now)
    enqueue(session, lane=lane, kind=POST_PROMPT, payload={"request_id": request_id}, now=now)
    direct(session, request_id, event, filer, now)
    asked_by_dm(session, request_id, now)
    homes(session, [request_id], now)


def homes(session: Session, request_ids: Sequence[int], now: datetime) -> None:
    """Publish again the Home tabs these requests' changes touch (`cxbot.services.home`)."""
    # Imported here: the Home's read model reads the council, whose loading queues notices.
    from cxbot.services.home import republish

    republish(session, request_ids, now)


@dataclass(frozen=True)
class Asks:
    """A new message that asks people about a request, for `asked_by_dm`: the vote prompt
    (everyone asked), or a thread note asking `people`, or everyone who answers for
    `departments`; it may fill `sections` sections with their mentions (readmodel's
    MENTION_SECTIONS for the prompt, NOTE_SECTIONS for a note)."""

    sections: int
    people: Sequence[str] | None = None
    departments: Sequence[str] = ()


def asked_by_dm(session: Session, request_id: int, now: datetime, *messages: Asks) -> None:
    """The one way people newly asked about a request are told: each new message that asks
    them (by default the vote prompt, at filing) mentions as many as Slack's limits let it
    (`readmodel.asking`, as the message itself is rendered), and everyone none of them could
    mention is asked by DM, once: at filing, an amendment (who is asked again, and the
    departments its new terms route to), a reopening. (Editing a message notifies nobody,
    so only new messages count.)

    One item a person, in the person's own lane: a rate-limited DM (429, retried after
    Slack's Retry-After) then holds back only that person's messages, not the request's
    thread and updates; it links to the request's parent message."""
    # Imported here: the read model reads the council, whose loading queues notices.
    from cxbot.services.readmodel import MENTION_SECTIONS, asking, request_view

    view = request_view(session, request_id, now=now)
    asked: list[str] = []
    told: set[str] = set()
    for message in messages or (Asks(MENTION_SECTIONS),):
        people = message.people
        if message.departments:
            people = [u for d in message.departments for u in view.answering(d)]
        everyone = list(people) if people is not None else [u for d in view.routed for u in view.answering(d.key)]
        left = set(asking(view, people, sections=message.sections).by_dm)
        asked += everyone
        told.update(u for u in everyone if u not in left)
    for user in dict.fromkeys(asked):
        if user not in told:
            enqueue(session, lane=f"person:{user}", kind=ASKED, payload={"request_id": request_id, "user": user},
                    now=now)


def refresh(session: Session, request_id: int, now: datetime) -> None:
    refresh_many(session, [request_id], now)


def refresh_many(session: Session, request_ids: Sequence[int], now: datetime) -> None:
    """Update these requests' messages in place: one pending update each, however often asked;
    and the reminder DMs of the last days that list them (a vote from a DM's buttons shows
    there as answered)."""
    enqueue_coalesced_many(session, [(request_lane(r), REFRESH, {"request_id": r}, f"refresh:{r}")
                                     for r in request_ids], now=now)
    if not request_ids:
        return
    homes(session, request_ids, now)
    since = now.date() - timedelta(days=2)
    candidates = {(user, day) for users, day in session.execute(
        select(DailyListing.users, DailyListing.day).where(
            one_of(session, DailyListing.request_id, request_ids), DailyListing.day >= since))
        for user in users.split(",")}
    if not candidates:
        return
    posted = session.execute(select(DailyReminder.user_id, DailyReminder.day).where(
        one_of(session, DailyReminder.user_id, sorted({user for user, _ in candidates})), DailyReminder.day >= since,
        DailyReminder.ts != "")).all()
    listing = sorted((user, day) for user, day in posted if (user, day) in candidates)
    enqueue_coalesced_many(session, [(f"person:{user}", DAILY_REMINDER, {"user": user, "day": day.isoformat()},
                                      _daily_key(user, day)) for user, day in listing], now=now)


def _daily_key(user: str, day: date) -> str:
    return f"daily:{user}:{day.isoformat()}"


def daily_reminder(session: Session, user: str, day: date, now: datetime) -> None:
    """Send (or bring up to date) `user`'s reminder DM of `day`, rendered at delivery. In the
    person's own lane, so a rate-limited DM holds back nobody else's."""
    daily_reminders(session, [(user, day)], now)


def daily_reminders(session: Session, wanted: Sequence[tuple[str, date]], now: datetime) -> None:
    """`daily_reminder` for many people and days at once (the morning sweep's)."""
    enqueue_coalesced_many(session, [(f"person:{user}", DAILY_REMINDER, {"user": user, "day": day.isoformat()},
                                      _daily_key(user, day)) for user, day in wanted], now=now)


def thread_note(session: Session, request_id: int, event: AuditEvent, now: datetime) -> None:
    enqueue(session, lane=request_lane(request_id), kind=THREAD_NOTE,
            payload={"request_id": request_id, "event_id": event.id}, now=now)


def direct(session: Session, request_id: int, event: AuditEvent, user: str, now: datetime, *,
           chair: bool = False) -> None:
    payload: dict[str, object] = {"request_id": request_id, "event_id": event.id, "user": user}
    if chair:
        payload["chair"] = True
    enqueue(session, lane=request_lane(request_id), kind=DIRECT, payload=payload, now=now)


def reminder(session: Session, request_id: int, user: str, kind: str, on_behalf_of: str | None,
             now: datetime) -> None:
    enqueue(session, lane=request_lane(request_id), kind=REMINDER,
            payload={"request_id": request_id, "user": user, "kind": kind, "on_behalf_of": on_behalf_of}, now=now)


def ephemeral(session: Session, request_id: int, *, channel: str, user: str, text: str, thread_ts: str | None,
              now: datetime) -> None:
    """Tell the person who pressed a button why nothing happened, where they pressed it: `text`
    (a `Msg`) is kept with its parameters, to be said in the person's language at delivery."""
    payload: dict[str, object] = {"channel": channel or user, "user": user, "text": text, "thread_ts": thread_ts}
    if isinstance(text, Msg):
        payload["msg"] = to_data(text)
    enqueue(session, lane=request_lane(request_id), kind=EPHEMERAL, payload=payload, now=now)


def substitute_ended(session: Session, *, advocate: str, substitute: str, reason: str, now: datetime) -> None:
    """Tell an away advocate their substitute no longer answers for them (the council changed)."""
    enqueue(session, lane=f"person:{advocate}", kind=SUBSTITUTE_ENDED,
            payload={"user": advocate, "substitute": substitute, "reason": reason}, now=now)


ADMIN_ALERT = "admin_alert"     # a DM to the council's admins: a Slack message could not be delivered


def delivery_failed(session: Session, *, item_id: int, kind: str, lane: str, error: str, now: datetime) -> None:
    enqueue(session, lane="admin", kind=ADMIN_ALERT,
            payload={"item_id": item_id, "kind": kind, "lane": lane, "error": error[:300]}, now=now)
