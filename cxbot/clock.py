"""The one source of time in cxbot.

Every use case takes a `Clock` so tests and `cxbot sweep --now …` can move time
deterministically. Times are timezone-aware and in UTC inside the program; the council's
zone is applied only when a time is shown to a person.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The computer's clock, moved by `offset` (`CXBOT_CLOCK_OFFSET`).

    The offset lets a demo or a test run cxbot's processes on another day than today: every
    date cxbot reasons about (deadlines, reminders, working hours, the digest week) follows it.
    What Slack itself dates, such as the timestamp of a signed request, is still checked against
    the computer's own clock.
    """

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def jump(self, by: timedelta) -> None:
        """Move this clock on (`cxbot demo` tells what happens weeks later, in a minute)."""
        self._offset += by


class FixedClock:
    """A clock that stands still until told to move (tests, `cxbot sweep --now`)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)
