"""Each council's weekly digest to its chair: preview it, send it now, or send it when it is due.

Exactly one digest per council and week: sending *claims* the week with a row whose key is
the council and the week, in the same transaction as the outbox item that delivers it, so
several replicas and restarts never send a week twice (`--force` sends it again on purpose).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cxbot.clock import Clock
from cxbot.council_file import DEFAULT_COUNCIL
from cxbot.domain.calendar import WEEKDAYS
from cxbot.domain.languages import digest_language
from cxbot.domain.moments import moments_of
from cxbot.reports.digest import compute_digest, previous_week, week_label, week_of
from cxbot.reports.model import Digest
from cxbot.services import audit
from cxbot.services.council import council_keys, council_rules, find_council
from cxbot.services.outbox import enqueue
from cxbot.store.models import DigestSend, Person
from cxbot.store.uow import UnitOfWork

DIGEST_DM = "digest_dm"            # outbox kinds, in this order in the week's lane: the chair's DM,
DIGEST_REPORT = "digest_report"    # the full HTML report attached in its thread,
DIGEST_CHANNEL = "digest_channel"  # and, if the council wants it, the same digest in the channel


def digest_lane(week: str, council: str = DEFAULT_COUNCIL) -> str:
    """The lane of a council's digest of a week (the default council's keeps its old name)."""
    return f"digest:{week}" if council == DEFAULT_COUNCIL else f"digest:{council}:{week}"


def digest(uow: UnitOfWork, *, week: str | None, clock: Clock, council: str | None = None) -> Digest:
    """The digest of `week` (default: the current week) of `council` (a key; the only council
    without one), with people's names where known: only that council's requests."""
    now = clock.now()
    with uow:
        s = uow.session
        found = find_council(s, council)
        _, working_time = council_rules(found)
        result = compute_digest(s, week or week_of(now, working_time.timezone), now=now,
                                timezone=found.timezone, stages=tuple(found.stages), council_id=found.id,
                                moments=moments_of(found.moments))
        names = {p.user_id: p.name for p in s.scalars(select(Person).where(Person.name != ""))}
        language = digest_language(council=found.language, channel_locale=found.channel_locale)
        return replace(result, names=names, language=language, council=found.key)


def send(uow: UnitOfWork, *, week: str, clock: Clock, force: bool = False, actor: str = "cxbot",
         council: str | None = None) -> bool:
    """Claim `week` of `council` (the only one without a key) and queue its delivery; False
    when it was already sent (and not forced)."""
    now = clock.now()
    with uow:
        s = uow.session
        found = find_council(s, council)
        existing = s.get(DigestSend, (found.id, week))
        if existing is not None and not force:
            return False
        if existing is None:
            s.add(DigestSend(council_id=found.id, week=week, claimed_at=now, sent_at=None, forced=False,
                             dm_channel="", dm_ts=""))
        else:
            existing.claimed_at, existing.sent_at, existing.forced = now, None, True
            existing.dm_channel, existing.dm_ts = "", ""
        try:
            s.flush()
        except IntegrityError:
            return False  # another process claimed it a moment ago
        audit.record(s, kind="digest_claimed", actor=actor, at=now, week=week, forced=force, council=found.key)
        policy, _ = council_rules(found)
        kinds = [DIGEST_DM, DIGEST_REPORT] + ([DIGEST_CHANNEL] if policy.digest.post_to_channel else [])
        for kind in kinds:
            enqueue(s, lane=digest_lane(week, found.key), kind=kind, payload={"week": week, "council": found.key},
                    now=now)
        uow.commit()
        return True


def due_week(uow: UnitOfWork, *, clock: Clock, council: str | None = None) -> str | None:
    """The week whose digest is due now for `council`: the previous ISO week, once this
    week's send time (the council's day and time, in its zone) has passed. None before that."""
    now = clock.now()
    with uow:
        policy, working_time = council_rules(find_council(uow.session, council))
    zone = ZoneInfo(working_time.timezone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    hour, minute = (int(p) for p in policy.digest.time.split(":"))
    due = datetime.combine(monday + timedelta(days=WEEKDAYS.index(policy.digest.day)), time(hour, minute), zone)
    if now < due:
        return None
    return previous_week(week_label(monday))


def send_when_due(new_uow: Callable[[], UnitOfWork], *, clock: Clock) -> str | None:
    """Called every minute by the sweep: send each council's digest of last week once its
    time has come (each council's own day, time and zone). Returns the week it queued (for
    some council), or None."""
    with new_uow() as uow:
        keys = council_keys(uow.session)
    queued = None
    for key in keys:
        week = due_week(new_uow(), clock=clock, council=key)
        if week is not None and send(new_uow(), week=week, clock=clock, council=key):
            queued = week
    return queued
