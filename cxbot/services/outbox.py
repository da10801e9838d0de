"""The outbox: Slack side effects stored with the change that caused them, delivered after commit.

Items are grouped in lanes (one per request) and delivered in id order within a lane. A
deliverer first takes a lease on the lane, so several processes on one database never
deliver the same lane at once and a lane's order holds. A failed item blocks its lane
until its retry time, so a thread reply never overtakes its parent message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.store.db import one_of
from cxbot.store.models import OutboxItem, OutboxLane

PENDING, DONE, DEAD = "pending", "done", "dead"
# Backoff doubles from 2 s to a 10-minute cap: 40 attempts keep trying for about five hours,
# so an hour without Slack loses nothing.
MAX_ATTEMPTS = 40
# A lane's lease is renewed after each item; a process that dies (kill -9) holds its lanes
# no longer than this, and a delivery never runs past it (the Slack client times out in 10 s).
LEASE = timedelta(seconds=20)


class RetryLater(Exception):
    """A passing failure (429, 5xx, timeout): try the item again after `after` seconds at the least."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.after = reason, after


class PermanentFailure(Exception):
    """Retrying cannot help (channel_not_found, invalid_blocks…): stop and report it."""


def request_lane(request_id: int) -> str:
    return f"request:{request_id}"


def enqueue(
    session: Session, *, lane: str, kind: str, payload: dict[str, Any], now: datetime,
    coalesce_key: str | None = None,
) -> OutboxItem:
    item = OutboxItem(
        lane=lane, kind=kind, payload=payload, coalesce_key=coalesce_key, status=PENDING,
        attempts=0, next_attempt_at=now, created_at=now, last_error="",
    )
    session.add(item)
    return item


def enqueue_coalesced(session: Session, *, lane: str, kind: str, payload: dict[str, Any], now: datetime,
                      coalesce_key: str) -> None:
    """Ask for a coalesced item (a message rendered from the state at delivery): if one is
    pending already, its revision goes up instead of queuing a twin, so a burst of votes
    keeps one pending update a request, and a delivery that read an older revision leaves
    the item pending for another round (see `settle_delivered`)."""
    enqueue_coalesced_many(session, [(lane, kind, payload, coalesce_key)], now=now)


Coalesced = tuple[str, str, dict[str, Any], str]   # lane, kind, payload, coalesce key


def enqueue_coalesced_many(session: Session, wanted: Sequence[Coalesced], *, now: datetime) -> None:
    """`enqueue_coalesced` for many items, in two statements and an insert for those not pending."""
    keys = [key for *_, key in wanted]
    if not keys:
        return
    pending = and_(one_of(session, OutboxItem.coalesce_key, keys), OutboxItem.status == PENDING)
    session.execute(update(OutboxItem).where(pending).values(revision=OutboxItem.revision + 1)
                    .execution_options(synchronize_session=False))
    asked = set(session.scalars(select(OutboxItem.coalesce_key).where(pending)))
    for lane, kind, payload, key in wanted:
        if key not in asked:
            enqueue(session, lane=lane, kind=kind, payload=payload, now=now, coalesce_key=key)
            asked.add(key)


def settle_delivered(session: Session, item_id: int, revision: int, twins: Sequence[int], now: datetime) -> bool:
    """Mark a delivered item (and twins it stood for) done, unless the item was asked for again
    since it was read; True when it is done."""
    if twins:
        session.execute(update(OutboxItem).where(OutboxItem.id.in_(list(twins)))
                        .values(status=DONE, delivered_at=now, last_error="")
                        .execution_options(synchronize_session=False))
    return bool(session.execute(
        update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.revision == revision)
        .values(status=DONE, delivered_at=now, last_error="")
        .execution_options(synchronize_session=False)
    ).rowcount)


def due_lanes(session: Session, now: datetime, limit: int = 50, *, include_held: bool = False,
              skip: Sequence[int] = (), skip_updates: bool = False) -> list[str]:
    """Lanes whose first pending item (leaving out the items in `skip`, and with
    `skip_updates` every coalesced message update) is due and which nobody else holds (or,
    with `include_held`, whether held or not: what is still to be delivered)."""
    pending = OutboxItem.status == PENDING
    if skip_updates:
        pending = and_(pending, OutboxItem.coalesce_key.is_(None))
    if skip:
        pending = and_(pending, OutboxItem.id.not_in(list(skip)))
    first = (
        select(OutboxItem.lane, func.min(OutboxItem.id).label("first_id"))
        .where(pending)
        .group_by(OutboxItem.lane)
        .subquery()
    )
    rows = session.execute(
        select(first.c.lane)
        .join(OutboxItem, OutboxItem.id == first.c.first_id)
        .outerjoin(OutboxLane, OutboxLane.lane == first.c.lane)
        .where(OutboxItem.next_attempt_at <= now)
        .where(or_(include_held, OutboxLane.lane.is_(None), OutboxLane.lease_until.is_(None),
                   OutboxLane.lease_until < now))
        .order_by(first.c.first_id)
        .limit(limit)
    )
    return [r[0] for r in rows]


def claim_lane(session: Session, lane: str, owner: str, now: datetime) -> bool:
    """Take the lane's lease if it is free or expired; commits. True when this owner holds it."""
    if session.get(OutboxLane, lane) is None:
        try:
            with session.begin_nested():
                session.add(OutboxLane(lane=lane, owner="", lease_until=None))
        except IntegrityError:
            pass
    result = session.execute(
        update(OutboxLane)
        .where(OutboxLane.lane == lane)
        .where(or_(OutboxLane.lease_until.is_(None), OutboxLane.lease_until < now))
        .values(owner=owner, lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def release_lane(session: Session, lane: str, owner: str) -> None:
    session.execute(
        update(OutboxLane)
        .where(and_(OutboxLane.lane == lane, OutboxLane.owner == owner))
        .values(owner="", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def pending_in_lane(session: Session, lane: str) -> Sequence[OutboxItem]:
    return session.scalars(
        select(OutboxItem).where(OutboxItem.lane == lane, OutboxItem.status == PENDING).order_by(OutboxItem.id)
    ).all()


def backoff(attempts: int, hint: float | None) -> timedelta:
    """Exponential from 2 s, capped at 10 minutes; never sooner than Slack's Retry-After."""
    seconds = min(600.0, 2.0 * 2 ** max(0, attempts - 1))
    if hint is not None:
        seconds = max(seconds, hint)
    return timedelta(seconds=seconds)


def depth(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == PENDING)) or 0
