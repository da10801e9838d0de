"""Applying stored vote button presses: rounds over many requests at once, and the
fallbacks when a round fails (one request, then one press at a time, then dropping a
press with a message to the person). The press worker (cxbot.jobs.press_worker) runs
them; the votes themselves are changed by `cxbot.services.votes.Ballot`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from cxbot.clock import Clock
from cxbot.i18n import N_
from cxbot.services import notices
from cxbot.services.readmodel import load_request, lock_requests
from cxbot.services.votebook import VoteBook
from cxbot.services.votes import Ballot, Batch
from cxbot.store.journal import Waiting
from cxbot.store.models import Press
from cxbot.store.uow import UnitOfWork


@dataclass(frozen=True)
class Round:
    taken: int           # presses read (applied, or found applied already and deleted)
    left: bool = False   # some requests were left to another replica applying them
    applied: int = 0     # presses applied


def apply_round(uow: UnitOfWork, *, clock: Clock, limit: int = 500, book: VoteBook | None = None) -> Round:
    """Apply the oldest waiting presses (about `limit`, all of a request's at once) of every
    request they name, in one transaction: each request's tally and status are worked out
    once from what was read once for all (the votes nobody pressed on, from the `book` where
    it has them as they are; it keeps what this round leaves once it is committed)."""
    now = clock.now()
    with uow:
        s = uow.session
        waiting = Waiting(s)
        waiting.adopt()
        ids = sorted(set(waiting.read(_OLDEST, {"limit": limit})))
        if not ids:
            return Round(0)
        # Requests another replica is applying are left to it. Presses are read after the locks,
        # so a round another replica finished meanwhile is not applied again. The lock lets the
        # foreign-key check of a press being stored through, so an acknowledgement never waits
        # for a round (nor deadlocks with one).
        requests = lock_requests(s, ids)
        left = len(requests) < len(ids) and not waiting.drop_orphans(ids, requests)
        ids = [r.id for r in requests]
        read = waiting.read(_PRESSES_OF, {"ids": ids})
        rows = waiting.fresh(requests, read)
        if rows:
            batch = Batch.read(s, requests, now, people={(row.request_id, row.user_id) for row in rows}, book=book)
            by_request: dict[int, list[Press]] = {}
            for row in rows:
                by_request.setdefault(row.request_id, []).append(row)
            ballots = []
            for request in requests:
                ballot = Ballot(s, request, now, batch=batch, defer=True)
                ballot.take(by_request.get(request.id, []))
                ballots.append(ballot)
            s.flush()  # the round's new votes, in one statement: the audit events need their ids
            refresh = []
            for ballot in ballots:
                ballot.record_deferred()
                ballot.close(refresh=False)
                if ballot.needs_refresh:
                    refresh.append(ballot.request.id)
            notices.refresh_many(s, refresh, now)
        waiting.done(requests, read)
        if read:
            uow.commit()
            if rows and book is not None:
                for ballot in ballots:
                    book.keep(ballot.request, [*batch.others[ballot.request.id].values(), *ballot.votes.values()])
        return Round(len(read), left, len(rows))


# Built once: a round runs many times a second, and building a statement costs more than running it.
_WAITING = select(Press.request_id).order_by(Press.id).limit(bindparam("limit")).subquery()
_OLDEST = select(_WAITING.c.request_id).distinct()
_PRESSES_OF = select(Press).where(Press.request_id.in_(bindparam("ids", expanding=True))).order_by(Press.id)
_PENDING = select(Press.request_id).group_by(Press.request_id).order_by(func.min(Press.id)).limit(bindparam("limit"))


def pending_requests(uow: UnitOfWork, limit: int = 50) -> list[int]:
    """Requests with presses waiting, the longest waiting first."""
    with uow:
        return Waiting(uow.session).read(_PENDING, {"limit": limit})


def apply_pending(uow: UnitOfWork, *, request_id: int, clock: Clock, limit: int = 200) -> int:
    """Apply up to `limit` waiting presses of one request in one transaction: the tally,
    the status and the message update once for all of them. Returns how many were taken."""
    now = clock.now()
    with uow:
        s = uow.session
        waiting = Waiting(s)
        ballot = Ballot(s, load_request(s, request_id, lock=True), now)
        rows = ballot.apply_presses(waiting, limit)
        if rows:
            ballot.close()
            uow.commit()
        return len(rows)


def give_up_press(uow: UnitOfWork, *, request_id: int, clock: Clock, attempts: int = 3) -> bool:
    """The oldest press of a request failed to apply (a fault, not a refusal): count the
    attempt, and after `attempts` drop it and tell the person it was not recorded. True
    when it was dropped."""
    now = clock.now()
    with uow:
        s = uow.session
        waiting = Waiting(s)
        request = load_request(s, request_id, lock=True)
        rows = waiting.of_request(request, limit=1)
        if not rows:
            return False
        row = rows[0]
        waiting.count_attempt(row)
        dropped = row.attempts >= attempts
        if dropped:
            notices.ephemeral(s, request_id, channel=row.channel, user=row.user_id, text=NOT_RECORDED,
                              thread_ts=row.thread_ts, now=now)
            waiting.done([request], rows)
        uow.commit()
        return dropped


NOT_RECORDED = N_("Something went wrong on cxbot's side and your vote was not recorded. "
                  "Please press the button again in a minute.")
