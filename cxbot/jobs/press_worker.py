"""Applies stored vote button presses, request by request, right after they are acknowledged.

One worker thread runs in each process that does background work (the jobs worker of
`cxbot serve`, `cxbot socket`). `kick()` wakes it when a press is stored (from a web
worker, through `cxbot.jobs.wake`); it also looks on its own every `poll_seconds`, for
presses another replica stored and did not get to (it was killed, say). Each round takes
the oldest presses waiting, with every other press of the requests they name, and
applies them in one transaction (`rounds.apply_round`): what the round needs (votes,
holds, seats, substitutes, the policy) is read once for all its requests, and a burst of
fifty votes on one request costs one tally, one status check and one message update, not
fifty. So the busier it gets, the less a press costs. Several workers (replicas) on one
PostgreSQL database share out the requests (a round skips those another replica holds,
and looks again a round later), and a press is deleted in the transaction that applies
it (from a SQLite journal, once that transaction has committed, which records the last
press it applied: `cxbot.store.journal`), so each is applied once.

If a round fails, its requests are applied one by one (`rounds.apply_pending`); a press
that still fails to apply for a reason other than a refusal (a fault) is tried again a
few times, then dropped with a message to the person (`rounds.give_up_press`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from cxbot.clock import Clock
from cxbot.jobs.worker import WorkerThread
from cxbot.logs import review_context
from cxbot.services import rounds
from cxbot.services.votebook import VoteBook
from cxbot.store.uow import UnitOfWork

log = logging.getLogger(__name__)


# How many presses a round takes (with every other press of their requests). A bigger round
# costs less a press. On SQLite a round holds the database's only write lock; before presses
# were stored in a journal of their own, acknowledgements waited for it, and rounds of five
# kept them short (bench: vote p99 80 -> 44 ms against rounds of 500). With the journal,
# rounds of 500 measured a vote p99 as good as rounds of five and 5-10% more votes a second.
# Under load a round takes what came in the last `pace` seconds (tens of presses), so a
# filed request or a vote with a note waits for little.
BATCH = 500


class PressWorker(WorkerThread):
    thread_name = "cxbot-presses"

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock, *, poll_seconds: float = 1.0,
                 batch: int = BATCH, pace: float = 0.05, observe: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self._uow = uow
        self._clock = clock
        self._poll = poll_seconds
        self._batch = batch
        self._pace = pace
        self._last_round = 0.0
        self._observe = observe
        self.book = VoteBook()  # the requests' votes as this worker's last rounds left them

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            # Rounds start at most every `pace` seconds: alone, a press is applied at once; under
            # load, the presses of the last `pace` seconds are applied together, and the round's
            # fixed cost is shared by all of them instead of being paid again for each.
            pause = self._last_round + self._pace - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            self._wake.clear()
            self._last_round = time.monotonic()
            try:
                self.drain()
            except Exception:  # the loop must survive a database outage
                log.exception("applying presses failed")
                self._stop.wait(self._poll)

    def drain(self) -> int:
        """Apply every press waiting now; returns how many were taken."""
        taken = 0
        with self._lock:
            while not self._stop.is_set():
                try:
                    done = rounds.apply_round(self._uow(), clock=self._clock, limit=self._batch, book=self.book)
                except Exception:
                    log.exception("a round of presses could not be applied: applying them request by request")
                    n = sum(self._apply(request_id) for request_id in rounds.pending_requests(self._uow()))
                else:
                    n = done.taken
                    if done.applied and self._observe is not None:
                        self._observe(done.applied)
                    if done.left:  # another replica holds some of the requests: look again next round
                        self.kick()
                taken += n
                if n < self._batch:  # the round took everything that was waiting
                    return taken
        return taken

    def _apply(self, request_id: int) -> int:
        """One request's presses in their own transaction, then, if that fails, one press at a
        time, so a press that cannot be applied holds up no other."""
        with review_context(request_id):
            for limit in (self._batch, 1):
                try:
                    n = rounds.apply_pending(self._uow(), request_id=request_id, clock=self._clock, limit=limit)
                    break
                except OperationalError:
                    # The database is busy or away (a deadlock, a lost connection): nothing is
                    # wrong with the presses, and they wait for the next round.
                    log.warning("presses on review %s wait for the next round", request_id, exc_info=True)
                    return 0
                except Exception:
                    log.exception("presses on review %s could not be applied", request_id)
            else:
                n = 0
                if rounds.give_up_press(self._uow(), request_id=request_id, clock=self._clock):
                    log.error("a press on review %s was dropped after repeated failures", request_id)
                    n = 1
            if n and self._observe is not None:
                self._observe(n)
            return n
