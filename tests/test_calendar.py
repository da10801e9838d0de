"""Working time: parsing, edges of the working day, deadlines, recipients' zones and DST."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxbot.domain.calendar import WEEKDAYS, WorkingTime

OSLO = ZoneInfo("Europe/Oslo")
NEW_YORK = ZoneInfo("America/New_York")
COUNCIL = WorkingTime.parse(timezone="Europe/Oslo", days=None, hours=None)


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parsing and storing ------------------------------------------------------------------


def test_parse_defaults_to_weekdays_nine_to_five() -> None:
    assert COUNCIL == WorkingTime("Europe/Oslo", frozenset({0, 1, 2, 3, 4}), time(9), time(17))
    assert WorkingTime() == WorkingTime.parse(timezone="UTC", days=None, hours=None)


def test_parse_reads_days_case_insensitively_and_hours() -> None:
    wt = WorkingTime.parse(timezone="Asia/Tokyo", days=["Sun", "MON", "tue"], hours=["08:30", "16:45"])
    assert wt.days == frozenset({6, 0, 1})
    assert (wt.start, wt.end) == (time(8, 30), time(16, 45))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": ["mon", "funday"]}, "'funday' is not a weekday (mon … sun)"),
        ({"days": ["mon", 3]}, "3 is not a weekday (mon … sun)"),
        ({"days": ["mon", "Mon"]}, "'Mon' is listed twice in days"),
        ({"days": []}, 'days must list at least one weekday, like ["mon", "tue"]'),
        ({"days": "mon"}, "days must be a list like [\"mon\", \"tue\"], not 'mon'"),
        (
            {"hours": ["09:00"]},
            'hours must be two times like ["09:00", "17:00"] with the start before the end; got [\'09:00\']',
        ),
        (
            {"hours": ["17:00", "09:00"]},
            'hours must be two times like ["09:00", "17:00"] with the start before the end; '
            "got ['17:00', '09:00']",
        ),
        (
            {"hours": ["09:00", "09:00"]},
            'hours must be two times like ["09:00", "17:00"] with the start before the end; '
            "got ['09:00', '09:00']",
        ),
        ({"hours": ["9am", "17:00"]}, '\'9am\' is not a time of day like "09:00" (00:00 … 23:59)'),
        ({"hours": ["09:00", "24:00"]}, '\'24:00\' is not a time of day like "09:00" (00:00 … 23:59)'),
        ({"timezone": "Mars/Olympus"}, '\'Mars/Olympus\' is not an IANA time zone (like "Europe/Oslo" or "UTC")'),
        ({"timezone": "Europe"}, '\'Europe\' is not an IANA time zone (like "Europe/Oslo" or "UTC")'),
        ({"timezone": "../etc/passwd"}, "'../etc/passwd' is not an IANA time zone"),
    ],
)
def test_parse_errors_name_the_bad_value(kwargs: dict, message: str) -> None:
    args = {"timezone": "UTC", "days": None, "hours": None} | kwargs
    with pytest.raises(ValueError) as error:
        WorkingTime.parse(**args)
    assert str(error.value).startswith(message)


def test_direct_construction_keeps_the_invariants() -> None:
    with pytest.raises(ValueError, match="start before the end"):
        WorkingTime(start=time(17), end=time(9))
    with pytest.raises(ValueError, match="7 is not a weekday number"):
        WorkingTime(days=frozenset({7}))
    with pytest.raises(ValueError, match="at least one weekday"):
        WorkingTime(days=frozenset())
    with pytest.raises(ValueError, match="whole minutes"):
        WorkingTime(start=time(9, 0, 30))
    assert WorkingTime(days={0, 1}).days == frozenset({0, 1})  # type: ignore[arg-type]


def test_json_round_trips_through_plain_values() -> None:
    wt = WorkingTime.parse(timezone="America/New_York", days=["sat", "mon"], hours=["07:05", "23:59"])
    data = wt.to_json()
    assert data == {"timezone": "America/New_York", "days": ["mon", "sat"], "hours": ["07:05", "23:59"]}
    assert WorkingTime.from_json(data) == wt
    assert WorkingTime.from_json(COUNCIL.to_json()) == COUNCIL
    assert WorkingTime.from_json({}) == WorkingTime()


def test_from_json_refuses_unknown_keys_so_typos_do_not_fall_back_silently() -> None:
    with pytest.raises(ValueError, match="'hour' is not a working-time setting"):
        WorkingTime.from_json({"timezone": "UTC", "hour": ["08:00", "16:00"]})
    with pytest.raises(ValueError, match="'funday' is not a weekday"):
        WorkingTime.from_json({"timezone": "UTC", "days": ["funday"]})


def test_in_zone_keeps_days_and_hours() -> None:
    recipient = COUNCIL.in_zone("America/New_York")
    assert recipient == WorkingTime("America/New_York", COUNCIL.days, COUNCIL.start, COUNCIL.end)
    assert COUNCIL.timezone == "Europe/Oslo"
    with pytest.raises(ValueError, match="'Nowhere/Land' is not an IANA time zone"):
        COUNCIL.in_zone("Nowhere/Land")


def test_weekday_names() -> None:
    assert [date(2026, 6, 1 + i).strftime("%a").lower() for i in range(7)] == list(WEEKDAYS)


# --- is_working and local_date ------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "working"),
    [
        (oslo(2026, 6, 1, 9, 0), True),  # Monday, start is inclusive
        (oslo(2026, 6, 1, 8, 59, 59), False),
        (oslo(2026, 6, 1, 16, 59, 59), True),
        (oslo(2026, 6, 1, 17, 0), False),  # end is exclusive
        (oslo(2026, 6, 6, 12, 0), False),  # Saturday
        (oslo(2026, 6, 7, 12, 0), False),  # Sunday
        (utc(2026, 6, 1, 7, 0), True),  # 09:00 in Oslo (CEST, UTC+2)
        (utc(2026, 6, 1, 6, 59), False),
        (utc(2026, 1, 5, 8, 0), True),  # 09:00 in Oslo (CET, UTC+1)
        (utc(2026, 1, 5, 7, 59), False),
        (datetime(2026, 6, 1, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo")), True),  # 16:30 Oslo
    ],
)
def test_is_working_at_the_edges(at: datetime, working: bool) -> None:
    assert COUNCIL.is_working(at) is working


def test_a_recipient_in_new_york_works_on_their_own_clock() -> None:
    recipient = COUNCIL.in_zone("America/New_York")
    morning_in_oslo = utc(2026, 6, 1, 8, 0)  # Mon 10:00 Oslo, 04:00 New York
    friday_afternoon_in_new_york = datetime(2026, 6, 5, 16, 30, tzinfo=NEW_YORK)  # Fri 22:30 Oslo
    assert COUNCIL.is_working(morning_in_oslo) and not recipient.is_working(morning_in_oslo)
    assert recipient.is_working(friday_afternoon_in_new_york)
    assert not COUNCIL.is_working(friday_afternoon_in_new_york)
    assert recipient.next_working_moment(morning_in_oslo) == utc(2026, 6, 1, 13, 0)  # 09:00 EDT


def test_local_date_is_the_date_in_the_calendars_zone() -> None:
    late_sunday_utc = utc(2026, 6, 7, 23, 30)
    assert COUNCIL.local_date(late_sunday_utc) == date(2026, 6, 8)
    assert COUNCIL.in_zone("America/New_York").local_date(late_sunday_utc) == date(2026, 6, 7)


@pytest.mark.parametrize(
    "call",
    [
        lambda at: COUNCIL.is_working(at),
        lambda at: COUNCIL.next_working_moment(at),
        lambda at: COUNCIL.add_working_days(at, 1),
        lambda at: COUNCIL.working_days_between(at, utc(2026, 6, 1)),
        lambda at: COUNCIL.working_days_between(utc(2026, 6, 1), at),
        lambda at: COUNCIL.local_date(at),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        call(datetime(2026, 6, 1, 12, 0))


# --- next_working_moment ------------------------------------------------------------------


def test_next_working_moment_is_now_when_working() -> None:
    at = oslo(2026, 6, 3, 11, 15)
    assert COUNCIL.next_working_moment(at) == at
    assert COUNCIL.next_working_moment(at).tzinfo is UTC


def test_friday_evening_waits_for_monday_morning_in_utc() -> None:
    assert COUNCIL.next_working_moment(oslo(2026, 6, 5, 18, 0)) == utc(2026, 6, 8, 7, 0)  # Mon 09:00 CEST
    assert COUNCIL.next_working_moment(oslo(2026, 6, 5, 17, 0)) == utc(2026, 6, 8, 7, 0)  # end is exclusive


def test_early_morning_waits_for_the_same_day() -> None:
    assert COUNCIL.next_working_moment(oslo(2026, 6, 3, 6, 0)) == utc(2026, 6, 3, 7, 0)


def test_next_working_moment_over_both_dst_changes() -> None:
    # Autumn: Friday 23 Oct is CEST (UTC+2), Monday 26 Oct is CET (UTC+1).
    assert COUNCIL.next_working_moment(oslo(2026, 10, 23, 18, 0)) == utc(2026, 10, 26, 8, 0)
    # Spring: Friday 27 March is CET (UTC+1), Monday 30 March is CEST (UTC+2).
    assert COUNCIL.next_working_moment(oslo(2026, 3, 27, 18, 0)) == utc(2026, 3, 30, 7, 0)


def test_hours_swallowed_by_the_spring_jump_are_skipped() -> None:
    # 02:00–03:00 does not exist in Oslo on Sunday 29 March 2026: no working time that day.
    night = WorkingTime.parse(timezone="Europe/Oslo", days=list(WEEKDAYS), hours=["02:00", "03:00"])
    assert night.next_working_moment(oslo(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 0, 0)  # Mon 02:00 CEST
    assert not night.is_working(utc(2026, 3, 29, 1, 0))


def test_hours_lengthened_by_the_autumn_change_last_three_hours() -> None:
    # 01:00 CEST to 03:00 CET on Sunday 25 October 2026 is three real hours.
    night = WorkingTime.parse(timezone="Europe/Oslo", days=["sun"], hours=["01:00", "03:00"])
    assert night.next_working_moment(oslo(2026, 10, 24, 12, 0)) == utc(2026, 10, 24, 23, 0)
    assert night.is_working(utc(2026, 10, 25, 1, 59))
    assert not night.is_working(utc(2026, 10, 25, 2, 0))


# --- add_working_days and end_of_working_day ----------------------------------------------


def test_friday_plus_one_working_day_is_monday_end_of_day() -> None:
    assert COUNCIL.add_working_days(oslo(2026, 6, 5, 10, 0), 1) == utc(2026, 6, 8, 15, 0)  # Mon 17:00 CEST


def test_counting_starts_the_day_after_even_before_hours() -> None:
    assert COUNCIL.add_working_days(oslo(2026, 6, 1, 6, 0), 1) == utc(2026, 6, 2, 15, 0)
    assert COUNCIL.add_working_days(oslo(2026, 6, 1, 10, 0), 5) == utc(2026, 6, 8, 15, 0)


@pytest.mark.parametrize(
    ("at", "deadline"),
    [
        (oslo(2026, 6, 3, 10, 0), utc(2026, 6, 3, 15, 0)),  # working: end of today
        (oslo(2026, 6, 3, 7, 0), utc(2026, 6, 3, 15, 0)),  # before hours on a working day: today
        (oslo(2026, 6, 3, 16, 59), utc(2026, 6, 3, 15, 0)),
        (oslo(2026, 6, 3, 17, 0), utc(2026, 6, 4, 15, 0)),  # at the end: tomorrow
        (oslo(2026, 6, 5, 20, 0), utc(2026, 6, 8, 15, 0)),  # Friday evening: Monday
        (oslo(2026, 6, 6, 12, 0), utc(2026, 6, 8, 15, 0)),  # Saturday: Monday
    ],
)
def test_zero_working_days_is_the_end_of_the_current_or_next_working_day(at: datetime, deadline: datetime) -> None:
    assert COUNCIL.add_working_days(at, 0) == deadline


def test_adding_working_days_over_dst_ends_at_five_on_the_wall_clock() -> None:
    autumn = COUNCIL.add_working_days(oslo(2026, 10, 23, 10, 0), 1)
    spring = COUNCIL.add_working_days(oslo(2026, 3, 27, 10, 0), 1)
    assert autumn == utc(2026, 10, 26, 16, 0)  # 17:00 CET
    assert spring == utc(2026, 3, 30, 15, 0)  # 17:00 CEST
    assert autumn.astimezone(OSLO).time() == spring.astimezone(OSLO).time() == time(17)
    # A whole week spanning the change: Monday 19 Oct (CEST) + 5 → Monday 26 Oct (CET).
    assert COUNCIL.add_working_days(oslo(2026, 10, 19, 12, 0), 5) == utc(2026, 10, 26, 16, 0)
    assert COUNCIL.add_working_days(oslo(2026, 3, 23, 12, 0), 5) == utc(2026, 3, 30, 15, 0)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        COUNCIL.add_working_days(oslo(2026, 6, 1, 10, 0), -1)


def test_end_of_working_day_even_on_a_weekend() -> None:
    assert COUNCIL.end_of_working_day(date(2026, 6, 6)) == utc(2026, 6, 6, 15, 0)
    assert COUNCIL.end_of_working_day(date(2026, 1, 10)) == utc(2026, 1, 10, 16, 0)
    assert COUNCIL.end_of_working_day(date(2026, 10, 25)) == utc(2026, 10, 25, 16, 0)  # the DST Sunday


# --- working_days_between -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        (oslo(2026, 6, 5, 16, 0), oslo(2026, 6, 8, 9, 0), 1),  # Friday → Monday morning
        (oslo(2026, 6, 1, 9, 0), oslo(2026, 6, 1, 16, 0), 0),  # same day
        (oslo(2026, 6, 6, 9, 0), oslo(2026, 6, 7, 16, 0), 0),  # over a weekend only
        (oslo(2026, 6, 1, 9, 0), oslo(2026, 6, 8, 9, 0), 5),  # a week
        (oslo(2026, 6, 1, 9, 0), oslo(2026, 6, 29, 9, 0), 20),  # four weeks
        (oslo(2026, 6, 3, 12, 0), oslo(2026, 6, 1, 12, 0), 0),  # b before a
        (oslo(2026, 6, 3, 12, 0), oslo(2026, 6, 3, 12, 0), 0),  # b == a
        (oslo(2026, 10, 23, 12, 0), oslo(2026, 10, 26, 12, 0), 1),  # over the autumn change
        (utc(2026, 6, 7, 21, 30), utc(2026, 6, 7, 22, 30), 1),  # midnight into Monday in Oslo
    ],
)
def test_working_days_between(a: datetime, b: datetime, count: int) -> None:
    assert COUNCIL.working_days_between(a, b) == count


def test_working_days_between_counts_in_the_calendars_zone() -> None:
    a, b = utc(2026, 6, 7, 21, 30), utc(2026, 6, 7, 22, 30)  # Sunday evening in New York
    assert COUNCIL.in_zone("America/New_York").working_days_between(a, b) == 0


# --- properties ---------------------------------------------------------------------------

# Zones with awkward transitions: 30-minute DST, DST at midnight, odd offsets, none at all.
ZONES = [
    "UTC", "Europe/Oslo", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
    "America/Sao_Paulo", "Pacific/Chatham", "Asia/Tehran",
]


@st.composite
def working_times(draw: st.DrawFn) -> WorkingTime:
    start, end = sorted(draw(st.lists(st.integers(0, 24 * 60 - 1), min_size=2, max_size=2, unique=True)))
    return WorkingTime(
        timezone=draw(st.sampled_from(ZONES)),
        days=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        start=time(*divmod(start, 60)),
        end=time(*divmod(end, 60)),
    )


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1),
    timezones=st.sampled_from([ZoneInfo(z) for z in ZONES]),
)


@given(wt=working_times(), at=instants, n=st.integers(0, 30))
def test_add_working_days_is_the_nth_working_day_end(wt: WorkingTime, at: datetime, n: int) -> None:
    """The result is the end of a working day, and exactly the right number of them away.

    From the definitions: for n >= 1 the result is the end of the n-th working day after
    local_date(at), so exactly n working days lie in (local_date(at), its date]. For n == 0
    it is today's end (0 days) if today is working and not yet over, else the next working
    day's end (1 day). Since the result's date is a working day, this count pins it down.
    """
    result = wt.add_working_days(at, n)
    day = wt.local_date(result)
    today = wt.local_date(at)
    still_today = today.weekday() in wt.days and at < wt.end_of_working_day(today)
    assert result.tzinfo is UTC
    assert day.weekday() in wt.days
    assert result == wt.end_of_working_day(day)
    assert result > at
    assert wt.working_days_between(at, result) == max(n, 0 if still_today else 1)


@given(wt=working_times(), at=instants)
def test_next_working_moment_is_working_and_not_before(wt: WorkingTime, at: datetime) -> None:
    moment = wt.next_working_moment(at)
    assert moment >= at
    assert wt.is_working(moment)
    # In UTC: Python never finds a wall time in a DST gap or fold equal to one in another zone.
    assert (moment == at.astimezone(UTC)) is wt.is_working(at)
