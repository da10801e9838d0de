"""Delivers outbox items, lane by lane, with no database transaction open during a Slack call.

One worker thread runs in each process that does background work (the jobs worker of
`cxbot serve`, `cxbot socket`); `kick()` wakes it right after a use case commits (from a
web worker, through `cxbot.jobs.wake`), and it also wakes on its own every few seconds
for retries that came due. The delivery function is given a plain snapshot of the item and opens its own short
transactions, so a slow Slack never holds a database lock (on SQLite, the write lock).

What happened to each item is recorded through `cxbot.services.delivery`: delivered, retried
later (a passing failure holds its lane until then), or dead (tried once, the admins told
once, the lane goes on). When Slack refuses the token itself, the worker stops claiming
anything, leaves every item pending, and asks Slack with `auth.test` every minute or so;
delivery resumes on its own once the token is accepted again.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.jobs.worker import WorkerThread
from cxbot.logs import review_context
from cxbot.services import delivery, outbox
from cxbot.services.outbox import Item

log = logging.getLogger(__name__)


def review_of(lane: str) -> int | None:
    """The CX review a lane belongs to (`request:12`), for the log lines about it."""
    kind, _, key = lane.partition(":")
    return int(key) if kind == "request" and key.isdigit() else None


Deliver = Callable[[Item], None]
Observer = Callable[[Item, str, str], None]   # (item, result: done/retry/dead/halted, error)
Probe = Callable[[], None]                     # raises CredentialsRefused while the token is refused


class OutboxWorker(WorkerThread):
    thread_name = "cxbot-outbox"

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, deliver: Deliver,
                 *, poll_seconds: float = 2.0, min_update_interval: float = 1.0,
                 updates_per_minute: float = 50.0, observe: Observer | None = None,
                 read_sessions: sessionmaker[Session] | None = None, probe: Probe | None = None) -> None:
        super().__init__()
        self._sessions = session_factory
        self._readers = read_sessions or session_factory  # finding work takes no SQLite write lock
        self._clock = clock
        self._deliver = deliver
        self._poll = poll_seconds
        self._observe = observe
        self._probe = probe
        self._halted = False  # Slack refused the token during this drain
        self._probed = False   # a process starts by trying a stopped delivery's token at once
        # Updates of one message at most this often (wall time): a burst of votes on one
        # request becomes a handful of chat.update calls (Tier 3, ~50 a minute), each
        # showing everything committed by then.
        self.min_update_interval = min_update_interval
        self._last_update: dict[str, float] = {}
        # Coalesced items waiting for their turn (item id -> monotonic time it may go): the
        # lane's later items overtake them, and no drain claims a lane just to wait on them.
        self._waiting: dict[int, float] = {}
        self._next_wake: float | None = None
        # And all updates together stay within Slack's rate for chat.update (Tier 3, about 50
        # a minute): a token bucket with a small burst. Updates wait; they are never lost, and
        # the one that goes out shows the latest state.
        # While the budget is spent (until `_updates_after`), every update waits for the next
        # token: drains leave them all out instead of claiming each one's lane only to find it
        # must wait.
        self.updates_per_minute = updates_per_minute
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def _run(self) -> None:
        while not self._stop.is_set():
            timeout = self._poll
            if self._next_wake is not None:
                timeout = max(0.01, min(timeout, self._next_wake - time.monotonic()))
            self._wake.wait(timeout)
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # the loop must survive a database outage
                log.exception("outbox drain failed")

    def drain(self) -> int:
        """Deliver everything due now; returns how many items were settled (done or dead)."""
        settled = 0
        self._next_wake = None
        with self._lock:
            if self._stopped_by_slack():
                return 0
            self._halted = False
            while not self._stop.is_set():
                now = time.monotonic()
                self._waiting = {i: at for i, at in self._waiting.items() if at > now}
                for ready in self._waiting.values():
                    self._wake_at(ready)
                budget_spent = self._updates_after > now
                if budget_spent:
                    self._wake_at(self._updates_after)
                with self._readers() as s:
                    lanes = outbox.due_lanes(s, self._clock.now(), skip=tuple(self._waiting),
                                             skip_updates=budget_spent)
                if not lanes:
                    return settled
                progressed = False
                for lane in lanes:
                    if not budget_spent and self._updates_after > time.monotonic():
                        # The budget ran out in this pass: the lanes left were found for
                        # their updates, which must wait now. Look again for lanes with
                        # something else due, rather than claim each only to release it.
                        progressed = True
                        break
                    with self._sessions() as s:
                        if not outbox.claim_lane(s, lane, self.owner, self._clock.now()):
                            continue
                    try:
                        with review_context(review_of(lane)):
                            n = self._deliver_lane(lane)
                    finally:
                        with self._sessions() as s:
                            outbox.release_lane(s, lane, self.owner)
                    settled += n
                    progressed = progressed or n > 0
                    if self._halted:
                        return settled
                if not progressed:
                    return settled
        return settled

    def _deliver_lane(self, lane: str) -> int:
        with self._readers() as s:
            now = self._clock.now()
            items = outbox.snapshots([i for i in outbox.pending_in_lane(s, lane) if i.next_attempt_at <= now])
            s.rollback()
        settled = 0
        skip: set[int] = set()
        for item in items:
            if item.id in skip:
                continue
            if item.coalesce_key and self._too_soon(item):
                # The update waits for its turn; the lane's later items (thread replies, DMs)
                # go ahead of it: it shows the state at delivery time whenever it goes.
                continue
            twins = [o.id for o in items if o.coalesce_key and o.coalesce_key == item.coalesce_key and o.id != item.id]
            try:
                self._deliver(item)
            except outbox.RetryLater as exc:
                self._retry(item, exc)
                return settled
            except outbox.PermanentFailure as exc:
                log.error("outbox item %s (%s, %s) failed for good: %s%s", item.id, item.kind, item.lane,
                          exc.reason, f" (Slack request {exc.trace})" if exc.trace else "")
                self._give_up(item, exc.reason, lane=lane, tell=exc.tell)
                settled += 1
                continue
            except outbox.CredentialsRefused as exc:
                log.error("Slack refused the bot's token (%s): all delivery stops until it is accepted again; "
                          "outbox item %s (%s, %s) waits", exc.reason, item.id, item.kind, item.lane)
                delivery.stop(self._sessions, exc.reason, self._clock.now())
                self._report(item, "halted", exc.reason)
                self._halted = self._probed = True
                return settled
            except Exception as exc:
                log.exception("outbox item %s (%s, %s) raised", item.id, item.kind, item.lane)
                self._retry(item, outbox.RetryLater(f"{type(exc).__name__}: {exc}"))
                return settled
            if item.coalesce_key:
                self._last_update[item.coalesce_key] = time.monotonic()
                self._spend_token()
                # Asked for again while it was being delivered: it stays pending for the next round.
                done = self._settle_coalesced(item, twins, lane)
                if not done:
                    self._waiting[item.id] = time.monotonic() + self.min_update_interval
                    self._wake_at(self._waiting[item.id])
            else:
                with self._sessions() as s:
                    delivery.delivered(s, [item.id], self._clock.now())
                    outbox.renew_lease(s, lane, self.owner, self._clock.now())
                    s.commit()
                done = True
            self._report(item, "done", "")
            skip.update(twins)
            settled += len(twins) + (1 if done else 0)
        return settled

    @property
    def updates_per_minute(self) -> float:
        return self._rate * 60.0

    @updates_per_minute.setter
    def updates_per_minute(self, value: float) -> None:
        """Slack's rate for chat.update; the budget starts full, and updates held back for
        the old rate are looked at again."""
        with self._lock:
            self._rate = value / 60.0
            self._burst = max(1.0, min(10.0, value / 6))
            self._tokens, self._refilled, self._updates_after = self._burst, time.monotonic(), 0.0
            self._waiting = {}
        self.kick()

    def _refill(self, now: float) -> None:
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._tokens < 1:
            self._updates_after = now + (1 - self._tokens) / self._rate

    def _spend_token(self) -> None:
        """One update went out; when that spent the budget, every update waits for the next token."""
        self._refill(time.monotonic())
        self._tokens -= 1
        self._refill(self._refilled)

    def _too_soon(self, item: Item) -> bool:
        """True when this message was updated too recently, or the update budget is spent."""
        assert item.coalesce_key is not None
        now = time.monotonic()
        last = self._last_update.get(item.coalesce_key)
        ready = last + self.min_update_interval if last is not None else now
        self._refill(now)
        if self._tokens < 1:
            ready = max(ready, self._updates_after)
        if now >= ready:
            return False
        self._waiting[item.id] = ready
        self._wake_at(ready)
        return True

    def _wake_at(self, ready: float) -> None:
        self._next_wake = ready if self._next_wake is None else min(self._next_wake, ready)

    def _report(self, item: Item, result: str, error: str) -> None:
        if self._observe is not None:
            try:
                self._observe(item, result, error)
            except Exception:
                log.exception("outbox observer failed")

    def _stopped_by_slack(self) -> bool:
        """True while Slack refuses the token (here or in another process). The token is
        tried again with `auth.test` when this process starts and every `PROBE_EVERY`;
        once Slack takes it, delivery resumes where it stopped."""
        halt = delivery.halted(self._readers)
        if halt is None:
            return False
        now = self._clock.now()
        if self._probe is None or (self._probed and now - halt.checked_at < delivery.PROBE_EVERY):
            return True
        self._probed = True
        try:
            self._probe()
        except outbox.CredentialsRefused as exc:
            delivery.checked(self._sessions, exc.reason, now)
            return True
        except Exception as exc:  # Slack unreachable, say: ask again later
            log.warning("could not check the Slack token while delivery is stopped: %s", exc)
            delivery.checked(self._sessions, halt.reason, now)
            return True
        log.warning("Slack accepts the bot's token again: delivery resumes (stopped since %s: %s)",
                    halt.since.isoformat(), halt.reason)
        delivery.resume(self._sessions)
        return False

    def _give_up(self, item: Item, error: str, *, lane: str | None = None, attempts: int | None = None,
                 tell: bool = True) -> None:
        """Settle the item dead (the admins are told in the same transaction); with `lane`,
        also renew this worker's lease on it."""
        with self._sessions() as s:
            delivery.gave_up(s, item, error, self._clock.now(), attempts=attempts, tell=tell)
            if lane is not None:
                outbox.renew_lease(s, lane, self.owner, self._clock.now())
            s.commit()
        self._report(item, "dead", error)

    def _settle_coalesced(self, item: Item, twins: list[int], lane: str) -> bool:
        with self._sessions() as s:
            done = outbox.settle_delivered(s, item.id, item.revision, twins, self._clock.now())
            outbox.renew_lease(s, lane, self.owner, self._clock.now())
            s.commit()
        return done

    def _retry(self, item: Item, exc: outbox.RetryLater) -> None:
        attempts = item.attempts + 1
        if attempts >= outbox.MAX_ATTEMPTS:
            log.error("outbox item %s (%s, %s) gave up after %d attempts: %s",
                      item.id, item.kind, item.lane, attempts, exc.reason)
            self._give_up(item, exc.reason, attempts=attempts)
            return
        self._report(item, "retry", exc.reason)
        log.warning("outbox item %s (%s, %s) will be retried: %s", item.id, item.kind, item.lane, exc.reason)
        with self._sessions() as s:
            delivery.retry(s, item, exc.reason, self._clock.now() + outbox.backoff(attempts, exc.after))
            s.commit()
