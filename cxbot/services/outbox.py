"""The outbox: Slack side effects stored with the change that caused them, delivered after commit.

Items are grouped in lanes (one per request) and delivered in id order within a lane. A
deliverer first takes a lease on the lane, so several processes on one database never
deliver the same lane at once and a lane's order holds. An item that failed for a passing
reason blocks its lane until its retry time, so a thread reply never overtakes its parent
message; an item that can never be delivered is settled dead at once, and the lane moves on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
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


@dataclass(frozen=True)
class Item:
    """A plain snapshot of an outbox item, what a deliverer is given: no session, no lazy loads."""

    id: int
    lane: str
    kind: str
    payload: dict[str, Any]
    coalesce_key: str | None
    attempts: int
    revision: int = 0


class RetryLater(Exception):
    """A passing failure (429, 5xx, timeout): try the item again after `after` seconds at the least."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.after = reason, after


class PermanentFailure(Exception):
    """Retrying cannot help (channel_not_found, invalid_blocks…): settle the item dead, report it
    once, and go on with the lane. `trace` is what identifies the refused call on the other
    side (Slack's request id), for the log; `tell=False` for an item given up only because
    another one was (the admins heard of that one)."""

    def __init__(self, reason: str, trace: str = "", *, tell: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.trace, self.tell = reason, trace, tell


class CredentialsRefused(Exception):
    """Nothing can be delivered until an operator acts (the token was revoked or is invalid):
    delivery stops as a whole, and the item stays pending, its attempts not counted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def snapshots(items: Sequence[OutboxItem]) -> list[Item]:
    return [Item(i.id, i.lane, i.kind, dict(i.payload), i.coalesce_key, i.attempts, i.revision) for i in items]


def settle(session: Session, ids: Sequence[int], status: str, error: str, now: datetime,
           attempts: int | None = None) -> None:
    """Record the items' fate: done (delivered now) or dead (after `attempts`, when given)."""
    values: dict[str, Any] = {"status": status, "delivered_at": now if status == DONE else None,
                              "last_error": error[:500]}
    if attempts is not None:
        values["attempts"] = attempts
    session.execute(update(OutboxItem).where(OutboxItem.id.in_(list(ids))).values(**values)
                    .execution_options(synchronize_session=False))


def retry_at(session: Session, item_id: int, attempts: int, when: datetime, error: str) -> None:
    """Leave the item pending until `when`, with its attempts counted."""
    session.execute(
        update(OutboxItem).where(OutboxItem.id == item_id)
        .values(status=PENDING, attempts=attempts, next_attempt_at=when, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )


def renew_lease(session: Session, lane: str, owner: str, now: datetime) -> None:
    session.execute(update(OutboxLane).where(OutboxLane.lane == lane, OutboxLane.owner == owner)
                    .values(lease_until=now + LEASE)
                    .execution_options(synchronize_session=False))


def backoff(attempts: int, hint: float | None) -> timedelta:
    """Exponential from 2 s, capped at 10 minutes; never sooner than Slack's Retry-After."""
    seconds = min(600.0, 2.0 * 2 ** max(0, attempts - 1))
    if hint is not None:
        seconds = max(seconds, hint)
    return timedelta(seconds=seconds)


def depth(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == PENDING)) or 0


def prune_delivered(session: Session, before: datetime, batch: int) -> int:
    """Delete up to `batch` items delivered before `before` (oldest first), in one short
    statement; returns how many went. Dead and pending items are kept: a dead item is the
    record of a message that never went out (`parent_failed` reads it), a pending one is
    still to be delivered."""
    oldest = (select(OutboxItem.id).where(OutboxItem.status == DONE, OutboxItem.delivered_at < before)
              .order_by(OutboxItem.delivered_at).limit(batch).scalar_subquery())
    return session.execute(delete(OutboxItem).where(OutboxItem.id.in_(oldest))
                           .execution_options(synchronize_session=False)).rowcount or 0
