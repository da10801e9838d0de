"""The council's working time: which days and hours count, in which time zone.

Deadlines, reminders and escalations must land on working time, and a reminder must land
on the *recipient's* working time, not the council's. Everything here works on aware
datetimes and returns aware UTC (the program's internal convention, see `cxbot.clock`);
a zone is applied only to decide which local date and hour an instant falls on.

Local times are built with `ZoneInfo` and converted, never by adding hours to a UTC time,
so that a week spanning a daylight-saving change still ends at 17:00 on the wall clock.
A working window on a date is the half-open interval of *instants* from the start of
hours to the end of hours on that date, which keeps every method consistent even when the
start or end falls in a skipped (spring) or repeated (autumn) hour.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HOURS_HINT = 'hours must be two times like ["09:00", "17:00"] with the start before the end'
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
_JSON_KEYS = ("timezone", "days", "hours")
# A window can be empty only on a day whose hours vanish in a daylight-saving jump, and that
# happens at most twice a year, so a fortnight always holds a non-empty window.
_SEARCH_DAYS = 14


@dataclass(frozen=True)
class WorkingTime:
    """Working days and hours in one IANA time zone.

    Invariants (checked on construction, so a bad value fails where it is set, not at the
    first reminder): the zone exists, `days` is a non-empty subset of 0..6 (Monday=0),
    `start` < `end` on the same day, and both are whole minutes without a tzinfo (they
    are wall-clock times in `timezone`, and whole minutes so they round-trip as "HH:MM").
    """

    timezone: str = "UTC"
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: time = time(9, 0)
    end: time = time(17, 0)

    def __post_init__(self) -> None:
        _check_zone(self.timezone)
        # Accept any iterable of ints but store a frozenset, so instances stay hashable.
        object.__setattr__(self, "days", frozenset(self.days))
        _check_day_numbers(self.days)
        _check_hours(self.start, self.end)

    # --- building and storing -------------------------------------------------------------

    @classmethod
    def parse(cls, *, timezone: str, days: list[str] | None, hours: list[str] | None) -> WorkingTime:
        """Build from the settings a person writes (council file, admin command).

        `None` means "the default" so a council only states what differs. Every error names
        the bad value, because the person reading it has to find and fix it in their file.
        """
        default = cls()
        start, end = (default.start, default.end) if hours is None else _parse_hours(hours)
        return cls(
            timezone=timezone,
            days=default.days if days is None else _parse_days(days),
            start=start,
            end=end,
        )

    def to_json(self) -> dict[str, Any]:
        """Plain strings and lists, in the same shape `parse` reads, so settings stay legible."""
        return {
            "timezone": self.timezone,
            "days": [WEEKDAYS[d] for d in sorted(self.days)],
            "hours": [_format_time(self.start), _format_time(self.end)],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkingTime:
        """The inverse of `to_json`; missing keys take the defaults, unknown keys are refused.

        Unknown keys are refused because a misspelt key ("hour") would otherwise silently
        fall back to the default hours.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"working time must be an object with {', '.join(_JSON_KEYS)}, not {data!r}")
        unknown = [k for k in data if k not in _JSON_KEYS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a working-time setting (expected {', '.join(_JSON_KEYS)})")
        return cls.parse(timezone=data.get("timezone", "UTC"), days=data.get("days"), hours=data.get("hours"))

    def in_zone(self, timezone: str) -> WorkingTime:
        """The same days and hours read on another clock, e.g. a reminder recipient's own."""
        return replace(self, timezone=timezone)

    # --- questions about instants ---------------------------------------------------------

    def local_date(self, at: datetime) -> date:
        """The calendar date `at` falls on in this zone (what "today" means to the reader)."""
        # Through UTC first: `astimezone` to the same tzinfo is a no-op and would keep a
        # wall time that does not exist (inside a spring-forward gap) as if it did.
        return _utc(at).astimezone(self._zone()).date()

    def is_working(self, at: datetime) -> bool:
        """Whether `at` is inside working hours [start, end) of a working day in this zone."""
        window = self._window(self.local_date(at))
        return window is not None and window[0] <= _utc(at) < window[1]

    def next_working_moment(self, at: datetime) -> datetime:
        """`at` itself if it is working time, else the next start of working hours (aware UTC).

        Used to hold a reminder that would otherwise arrive at night or on a weekend.
        """
        instant = _utc(at)
        day = self.local_date(instant)
        for _ in range(_SEARCH_DAYS):
            window = self._window(day)
            if window is not None and instant < window[1]:
                return max(instant, window[0])
            day += timedelta(days=1)
        raise AssertionError("unreachable: every fortnight holds a working window")  # pragma: no cover

    def end_of_working_day(self, d: date) -> datetime:
        """The end of working hours on local date `d`, as aware UTC, working day or not."""
        return self._instant(d, self.end)

    def add_working_days(self, at: datetime, days: int) -> datetime:
        """The deadline `days` working days after `at`: end of hours on that working day, UTC.

        Counting starts the day after `at`'s local date, so "one working day" from Friday
        afternoon is Monday at the end of hours. `days=0` means "by the end of today" when
        today is a working day that has not ended yet, else the end of the next working day,
        so a deadline is always in the future and always at the end of a working day.
        """
        if days < 0:
            raise ValueError(f"working days to add must be 0 or more, not {days}")
        instant = _utc(at)
        day = self.local_date(instant)
        if days == 0:
            if day.weekday() in self.days and instant < self.end_of_working_day(day):
                return self.end_of_working_day(day)
            days = 1
        for _ in range(days):
            day = self._next_working_date(day)
        return self.end_of_working_day(day)

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """How many whole working days have passed from `a` to `b` (for escalation counts).

        The number of working days d with local_date(a) < d <= local_date(b); 0 if b <= a.
        Counted by whole weeks plus a remainder so a long-forgotten request costs no loop.
        """
        if _utc(b) <= _utc(a):
            return 0
        first, last = self.local_date(a), self.local_date(b)
        weeks, rest = divmod((last - first).days, 7)
        tail = (first + timedelta(days=i) for i in range(1, rest + 1))
        return weeks * len(self.days) + sum(1 for d in tail if d.weekday() in self.days)

    # --- helpers --------------------------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _instant(self, d: date, t: time) -> datetime:
        """Wall time `t` on local date `d` as aware UTC.

        A wall time skipped by a spring-forward jump maps to the same instant the clock
        would show one jump later (fold=0); a repeated autumn wall time maps to its first
        occurrence. Both are what a person means by "at 17:00 that day".
        """
        return datetime.combine(d, t, tzinfo=self._zone()).astimezone(UTC)

    def _window(self, d: date) -> tuple[datetime, datetime] | None:
        """Working instants [start, end) on local date `d`, or None if there are none."""
        if d.weekday() not in self.days:
            return None
        start, end = self._instant(d, self.start), self._instant(d, self.end)
        # Empty only when both ends fall into the same daylight-saving jump.
        return (start, end) if start < end else None

    def _next_working_date(self, d: date) -> date:
        """The first working date strictly after `d` (days is never empty, so within a week)."""
        d += timedelta(days=1)
        while d.weekday() not in self.days:
            d += timedelta(days=1)
        return d


# --- validation and parsing ---------------------------------------------------------------


def _utc(at: datetime) -> datetime:
    """`at` as aware UTC; a naive datetime is refused because its zone would be a guess.

    Normalising to UTC also avoids Python comparing two datetimes that share a tzinfo by
    wall time, which is wrong across a daylight-saving change.
    """
    if not isinstance(at, datetime):
        raise TypeError(f"expected a datetime, not {at!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass an aware datetime")
    return at.astimezone(UTC)


def _check_zone(timezone: object) -> None:
    hint = f'{timezone!r} is not an IANA time zone (like "Europe/Oslo" or "UTC")'
    if not isinstance(timezone, str):
        raise ValueError(hint)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(hint) from None


def _check_day_numbers(days: frozenset[int]) -> None:
    if not days:
        raise ValueError('days must list at least one weekday, like ["mon", "tue"]')
    bad = [d for d in days if not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a weekday number (Monday=0 … Sunday=6)")


def _check_hours(start: time, end: time) -> None:
    for t in (start, end):
        if not isinstance(t, time) or t.tzinfo is not None or t.second or t.microsecond:
            raise ValueError(f"{t!r} is not a wall-clock time in whole minutes, like time(9, 0)")
    if not start < end:
        raise ValueError(f"{_HOURS_HINT}; got {_format_time(start)}–{_format_time(end)}")


def _parse_days(days: list[str]) -> frozenset[int]:
    """Weekday names to numbers; a repeat is an error because it usually hides a typo."""
    if isinstance(days, str) or not isinstance(days, list | tuple):
        raise ValueError(f'days must be a list like ["mon", "tue"], not {days!r}')
    if not days:
        raise ValueError('days must list at least one weekday, like ["mon", "tue"]')
    seen: set[int] = set()
    for name in days:
        number = _weekday_number(name)
        if number in seen:
            raise ValueError(f"{name!r} is listed twice in days")
        seen.add(number)
    return frozenset(seen)


def _weekday_number(name: object) -> int:
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in WEEKDAYS:
        raise ValueError(f"{name!r} is not a weekday (mon … sun)")
    return WEEKDAYS.index(key)


def _parse_hours(hours: list[str]) -> tuple[time, time]:
    if isinstance(hours, str) or not isinstance(hours, list | tuple) or len(hours) != 2:
        raise ValueError(f"{_HOURS_HINT}; got {hours!r}")
    start, end = _parse_time(hours[0]), _parse_time(hours[1])
    if not start < end:
        raise ValueError(f"{_HOURS_HINT}; got {list(hours)!r}")
    return start, end


def _parse_time(text: object) -> time:
    match = _TIME_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'{text!r} is not a time of day like "09:00" (00:00 … 23:59)')
    return time(int(match[1]), int(match[2]))


def _format_time(t: time) -> str:
    return t.strftime("%H:%M")
