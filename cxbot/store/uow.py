"""The unit of work: one transaction per use case, committed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """`with uow: ...; uow.commit()` — anything not committed is rolled back on exit."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session], on_commit: Callable[[], None] | None = None) -> None:
        self._factory = session_factory
        self._on_commit = on_commit

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        """Commit, then wake whoever delivers the outbox (the change may have queued Slack calls)."""
        self.session.commit()
        if self._on_commit is not None:
            self._on_commit()
