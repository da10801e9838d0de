"""Retention: delivered outbox items are deleted once they are older than the council's
`[outbox] retention_days` (default 14).

Only the outbox is pruned: votes, comments and the audit trail are the council's record
and are never deleted. The jobs worker's scheduler runs this every minute; each run deletes
in small batches, each its own transaction, with a pause between them, so on SQLite the
write lock is never held for long and a vote press is never kept waiting behind a pruning.
A backlog (the first run on a large database) is worked off over several runs.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.domain.policy import CouncilPolicy
from cxbot.services import outbox
from cxbot.store.models import Council


class OutboxRetention:
    """Deletes delivered outbox items older than the retention, `batch` at a time, for at
    most `budget` seconds a run."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, *, batch: int = 500,
                 budget: float = 5.0, pause: float = 0.05, read_sessions: sessionmaker[Session] | None = None) -> None:
        self._sessions, self._clock = sessions, clock
        self._readers = read_sessions or sessions
        self.batch, self.budget, self.pause = batch, budget, pause

    def retention_days(self) -> int:
        """The council's retention; the outbox is shared, so with several councils the longest wins."""
        with self._readers() as s:
            days = [CouncilPolicy.from_json(p).retention_days for p in s.scalars(select(Council.policy))]
        return max(days, default=CouncilPolicy().retention_days)

    def __call__(self) -> str | None:
        before = self._clock.now() - timedelta(days=self.retention_days())
        pruned, stop = 0, time.monotonic() + self.budget
        while True:
            with self._sessions() as s:
                n = outbox.prune_delivered(s, before, self.batch)
                s.commit()
            pruned += n
            if n < self.batch or time.monotonic() >= stop:
                break
            time.sleep(self.pause)  # let waiting writers have the lock
        return f"pruned {pruned} delivered outbox item(s) older than {before.isoformat()}" if pruned else None
