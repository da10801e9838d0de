"""What the press worker remembers of each request's votes from one round to the next.

A round of presses counts every standing vote of each request it touches, though it changes
only a few of them: reading them all again each round and building their ballots took
about a third of the press worker's time under load (50 requests of 56 advocates, in
`bench.load`). The book keeps, for each request, its votes as the last round this worker
committed left them, under the request's `votes_revision` then. A round takes a request's
page only if the revision it reads under the request's lock is still that one: every flush
that changes a vote raises it (`cxbot.store.models`), whoever made the change (a vote with a
note, an amendment, a resolved objection, another replica's round, a command-line tool), so
a page never stands for votes that have changed since.

The book lives in the press worker's thread and is only read and written there; a round
that fails keeps nothing (its requests' revisions did not change either).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cxbot.services.lifecycle import Counted
from cxbot.store.models import ReviewRequest

Page = dict[str, Counted]   # user -> their vote on the request


class VoteBook:
    """Pages of counted votes by request, the `limit` most recently kept."""

    def __init__(self, limit: int = 2000) -> None:
        self._limit = limit
        self._pages: dict[int, tuple[int, Page]] = {}

    def page(self, request: ReviewRequest) -> Page | None:
        """The request's votes, if nothing changed them since they were kept."""
        kept = self._pages.get(request.id)
        if kept is None or kept[0] != request.votes_revision:
            return None
        return kept[1]

    def keep(self, request: ReviewRequest, votes: Iterable[Any]) -> None:
        """Remember every vote of the request (objects, rows of `COUNTED` or `Counted`), as
        committed at its current `votes_revision`."""
        page = {v.user_id: v if type(v) is Counted else Counted(v) for v in votes}
        self._pages.pop(request.id, None)  # the most recent last, so the oldest go first
        self._pages[request.id] = (request.votes_revision, page)
        while len(self._pages) > self._limit:
            del self._pages[next(iter(self._pages))]
