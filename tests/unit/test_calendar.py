"""Working-day arithmetic against dates checked by hand on a printed calendar.

The expected values below were written by hand, not computed with the `holidays` package: they are the
independent check of it. Romanian public holidays (Codul muncii art. 139) used for 2026-2027:
1-2 Jan, 6-7 Jan (since 2024), 24 Jan, Orthodox Good Friday, Easter Sunday and Monday, 1 May, 1 June,
Pentecost Sunday and Monday, 15 Aug, 30 Nov, 1 Dec, 25-26 Dec.
Orthodox Easter: 12 Apr 2026, 2 May 2027 (Meeus' Julian algorithm + 13 days; dateutil EASTER_ORTHODOX agrees).
Pentecost = Easter + 49 days: 31 May 2026 (so Pentecost Monday 2026 is 1 June, also Children's Day),
20 June 2027.
Default office hours: Mon-Thu 08:30-12:30 and 13:00-16:00, Fri 08:30-13:30. Europe/Bucharest is UTC+2 in
winter and UTC+3 in summer; in 2027 summer time runs from Sun 28 March to Sun 31 October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.appointments.calendar import OfficeCalendar
from intake.settings import AppointmentsSettings, ClosureSettings

BUCHAREST = ZoneInfo("Europe/Bucharest")


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """An office-time instant."""
    return datetime(y, mo, d, h, mi, tzinfo=BUCHAREST)


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def make_calendar(**overrides: object) -> OfficeCalendar:
    return OfficeCalendar(AppointmentsSettings(**overrides))  # type: ignore[arg-type]


# --- the holidays the package must know (hand list) ------------------------------------------------------------

# One line per group of holidays, to read like the calendar it was checked against.
# fmt: off
HOLIDAYS_BY_HAND = {
    2026: {
        date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 6), date(2026, 1, 7), date(2026, 1, 24),
        date(2026, 4, 10), date(2026, 4, 12), date(2026, 4, 13),  # Good Friday, Easter Sunday, Monday
        date(2026, 5, 1), date(2026, 5, 31), date(2026, 6, 1),  # 1 June = Children's Day and Pentecost Monday
        date(2026, 8, 15), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 25), date(2026, 12, 26),
    },
    2027: {
        date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 6), date(2027, 1, 7), date(2027, 1, 24),
        date(2027, 4, 30), date(2027, 5, 2), date(2027, 5, 3),  # Good Friday, Easter Sunday, Monday
        date(2027, 5, 1), date(2027, 6, 1), date(2027, 6, 20), date(2027, 6, 21),
        date(2027, 8, 15), date(2027, 11, 30), date(2027, 12, 1), date(2027, 12, 25), date(2027, 12, 26),
    },
}
# fmt: on


@pytest.mark.parametrize("year", sorted(HOLIDAYS_BY_HAND))
def test_the_package_knows_exactly_the_hand_listed_holidays(year: int) -> None:
    calendar = make_calendar()
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(366)]
    named = {d for d in days if d.year == year and calendar.closed_reason(d) not in (None, "sâmbătă", "duminică")}
    assert named == HOLIDAYS_BY_HAND[year]
    open_weekdays = {d for d in days if d.year == year and d.weekday() < 5 and calendar.is_working_day(d)}
    assert not open_weekdays & HOLIDAYS_BY_HAND[year]
    assert len(open_weekdays) == sum(1 for d in days if d.year == year and d.weekday() < 5) - len(
        {d for d in HOLIDAYS_BY_HAND[year] if d.weekday() < 5}
    )


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 12, 1), "Ziua Națională a României"),
        (date(2027, 4, 30), "Vinerea Mare"),
        (date(2027, 5, 1), "Ziua Muncii"),  # a Saturday: the holiday is the more useful name
        (date(2027, 6, 21), "Rusaliile"),
        (date(2026, 11, 28), "sâmbătă"),
        (date(2026, 11, 29), "duminică"),
        (date(2026, 11, 27), None),
    ],
)
def test_closed_reason_is_romanian(day: date, reason: str | None) -> None:
    assert make_calendar().closed_reason(day) == reason


def test_closed_reason_of_configured_days() -> None:
    calendar = make_calendar(
        extra_closed_days=[date(2027, 1, 8)],
        closures=[ClosureSettings(start=date(2027, 3, 15), end=date(2027, 3, 17), reason="inventar")],
        hours={"monday": ["08:30-16:00"]},
    )
    assert calendar.closed_reason(date(2027, 1, 8)) == "zi liberă stabilită de Guvern"
    assert calendar.closed_reason(date(2027, 3, 17)) == "inventar"
    assert calendar.closed_reason(date(2027, 3, 18)) == "zi fără program cu publicul"  # a Thursday, no hours
    assert calendar.is_working_day(date(2027, 3, 22))


# --- the deadline table (all checked by hand) -----------------------------------------------------------------

DEADLINES = [
    # (why, received_at, calendar day of receipt (office time), 5th working day after it). Procedure 000: "nu mai
    # târziu de 5 zile lucrătoare de la primirea documentelor": the count runs from the day of receipt whatever the
    # hour or the weekday; closing time and weekends no longer shift its start.
    ("ordinary Monday", at(2026, 11, 23), date(2026, 11, 23), date(2026, 12, 2)),  # 30 Nov, 1 Dec skipped
    ("same, given in UTC", utc(2026, 11, 23, 8), date(2026, 11, 23), date(2026, 12, 2)),
    ("Sunday: booked by Friday", at(2026, 11, 22), date(2026, 11, 22), date(2026, 11, 27)),  # Mon 23 ... Fri 27
    ("Sunday 23:59", at(2026, 11, 22, 23, 59), date(2026, 11, 22), date(2026, 11, 27)),
    ("Friday before 30 Nov-1 Dec", at(2026, 11, 27), date(2026, 11, 27), date(2026, 12, 8)),
    ("Friday 19:00, after hours", at(2026, 11, 27, 19), date(2026, 11, 27), date(2026, 12, 8)),
    ("Friday 13:45, Friday closes 13:30", at(2026, 11, 27, 13, 45), date(2026, 11, 27), date(2026, 12, 8)),
    ("Friday 13:29, still open", at(2026, 11, 27, 13, 29), date(2026, 11, 27), date(2026, 12, 8)),
    ("Saturday", at(2026, 11, 28), date(2026, 11, 28), date(2026, 12, 8)),  # Wed 2, Thu 3, Fri 4, Mon 7, Tue 8
    ("Saturday, in UTC", utc(2026, 11, 28, 21), date(2026, 11, 28), date(2026, 12, 8)),
    ("stack-notes fact", at(2026, 12, 18), date(2026, 12, 18), date(2026, 12, 28)),
    ("before Christmas", at(2026, 12, 23), date(2026, 12, 23), date(2026, 12, 31)),
    ("Christmas Eve", at(2026, 12, 24), date(2026, 12, 24), date(2027, 1, 4)),
    ("over New Year and 6-7 Jan", at(2026, 12, 30), date(2026, 12, 30), date(2027, 1, 11)),
    ("between New Year and 6-7 Jan", at(2027, 1, 5), date(2027, 1, 5), date(2027, 1, 14)),
    ("before Orthodox Easter 2027", at(2027, 4, 29), date(2027, 4, 29), date(2027, 5, 10)),
    ("on Good Friday 2027 (holiday)", at(2027, 4, 30), date(2027, 4, 30), date(2027, 5, 10)),  # Tue 4 ... Mon 10
    ("before Pentecost Monday 2027", at(2027, 6, 18), date(2027, 6, 18), date(2027, 6, 28)),
    ("before 1 June 2027", at(2027, 5, 31), date(2027, 5, 31), date(2027, 6, 8)),
    ("before 30 Nov-1 Dec 2027", at(2027, 11, 25), date(2027, 11, 25), date(2027, 12, 6)),
    # DST: 2027-03-28 and 2027-10-31. 21:30 UTC on Sunday 28 March is already Monday 00:30 (UTC+3).
    ("Sunday night UTC = Monday local", utc(2027, 3, 28, 21, 30), date(2027, 3, 29), date(2027, 4, 5)),
    ("Sunday 31 Oct 22:30 UTC = Mon 00:30", utc(2027, 10, 31, 22, 30), date(2027, 11, 1), date(2027, 11, 8)),
    ("Sunday 31 Oct 21:30 UTC = Sun 23:30", utc(2027, 10, 31, 21, 30), date(2027, 10, 31), date(2027, 11, 5)),
    # Friday closing 13:30 is 10:30 UTC in summer and 11:30 UTC in winter: the hour no longer matters.
    ("summer Friday 10:15 UTC = 13:15", utc(2027, 10, 29, 10, 15), date(2027, 10, 29), date(2027, 11, 5)),
    ("summer Friday 10:45 UTC = 13:45", utc(2027, 10, 29, 10, 45), date(2027, 10, 29), date(2027, 11, 5)),
    ("winter Friday 11:15 UTC = 13:15", utc(2027, 11, 5, 11, 15), date(2027, 11, 5), date(2027, 11, 12)),
]


@pytest.mark.parametrize(("why", "received_at", "receipt_day", "deadline"), DEADLINES, ids=[d[0] for d in DEADLINES])
def test_clarification_deadline(why: str, received_at: datetime, receipt_day: date, deadline: date) -> None:
    calendar = make_calendar()
    assert calendar.receipt_day(received_at) == receipt_day
    assert calendar.clarification_deadline(received_at) == deadline
    assert calendar.is_working_day(deadline)


@pytest.mark.parametrize(
    ("received_at", "deadline"),
    [
        (at(2027, 1, 5), date(2027, 1, 15)),  # 8 Jan closed: Mon 11 ... Fri 15
        (at(2026, 12, 30), date(2027, 1, 12)),  # Thu 31, Mon 4, Tue 5, Mon 11, Tue 12
    ],
)
def test_bridge_day_moves_the_deadline(received_at: datetime, deadline: date) -> None:
    calendar = make_calendar(extra_closed_days=[date(2027, 1, 8)])
    assert calendar.clarification_deadline(received_at) == deadline


def test_received_on_a_bridge_day_counts_from_that_day() -> None:
    calendar = make_calendar(extra_closed_days=[date(2027, 1, 8)])
    # Friday 8 January 2027, a bridge day (closed): the count runs Mon 11 ... Fri 15, as from any Friday.
    assert calendar.clarification_deadline(at(2027, 1, 8, 9)) == date(2027, 1, 15)
    assert calendar.notice_start(at(2027, 1, 8, 9)) == at(2027, 1, 11, 12)


@pytest.mark.parametrize(
    ("received_at", "deadline"),
    [
        (at(2027, 3, 12), date(2027, 3, 24)),  # Fri 12; 15-17 closed: Thu 18, Fri 19, Mon 22, Tue 23, Wed 24
        (at(2027, 3, 16), date(2027, 3, 24)),  # received during the closure: Thu 18 is the first of the five
    ],
)
def test_office_closure_moves_the_deadline(received_at: datetime, deadline: date) -> None:
    closure = ClosureSettings(start=date(2027, 3, 15), end=date(2027, 3, 17), reason="inventar")
    calendar = make_calendar(closures=[closure])
    assert calendar.clarification_deadline(received_at) == deadline


def test_deadline_end_is_closing_time_in_office_time_across_dst() -> None:
    calendar = make_calendar()
    # Thu 25 March (UTC+2) -> Thu 1 April, closing 16:00 summer time = 13:00 UTC.
    assert calendar.deadline_end(at(2027, 3, 25)) == utc(2027, 4, 1, 13)
    # Mon 25 October (UTC+3) -> Mon 1 November (not a Romanian holiday), 16:00 winter time = 14:00 UTC.
    end = calendar.deadline_end(at(2027, 10, 25))
    assert end == utc(2027, 11, 1, 14)
    assert end.tzinfo is not None and end.astimezone(BUCHAREST).hour == 16
    # A Friday deadline closes at 13:30.
    assert calendar.deadline_end(at(2026, 11, 27, 19)).astimezone(BUCHAREST) == at(2026, 12, 8, 16)
    assert calendar.deadline_end(at(2026, 12, 18)).astimezone(BUCHAREST) == at(2026, 12, 28, 16)


def test_friday_deadline_closes_at_friday_hours() -> None:
    calendar = make_calendar()
    # Fri 4 Dec 2026 -> Mon 7, Tue 8, Wed 9, Thu 10, Fri 11: Friday closes at 13:30.
    assert calendar.deadline_end(at(2026, 12, 4)) == at(2026, 12, 11, 13, 30)
    # Sat 2 Jan 2027 (a holiday) -> Mon 4, Tue 5, Fri 8, Mon 11, Tue 12.
    assert calendar.clarification_deadline(at(2027, 1, 2)) == date(2027, 1, 12)


# --- the building blocks -------------------------------------------------------------------------------------


def test_opening_intervals_are_aware_and_respect_breaks() -> None:
    calendar = make_calendar()
    assert calendar.opening_intervals(date(2027, 3, 29)) == [
        (at(2027, 3, 29, 8, 30), at(2027, 3, 29, 12, 30)),
        (at(2027, 3, 29, 13, 0), at(2027, 3, 29, 16, 0)),
    ]
    assert calendar.opening_intervals(date(2027, 3, 29))[0][0].utcoffset() == timedelta(hours=3)
    assert calendar.opening_intervals(date(2027, 3, 26))[0][0].utcoffset() == timedelta(hours=2)
    assert calendar.opening_intervals(date(2027, 3, 26)) == [(at(2027, 3, 26, 8, 30), at(2027, 3, 26, 13, 30))]
    assert calendar.opening_intervals(date(2027, 3, 27)) == []  # Saturday
    assert calendar.opening_intervals(date(2027, 5, 3)) == []  # Easter Monday


def test_next_and_add_working_days() -> None:
    calendar = make_calendar()
    assert calendar.next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert calendar.next_working_day(date(2027, 1, 5)) == date(2027, 1, 8)
    assert calendar.add_working_days(date(2026, 12, 18), 5) == date(2026, 12, 28)
    assert calendar.add_working_days(date(2026, 12, 18), 0) == date(2026, 12, 18)
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 12, 18), -1)


def test_the_hour_of_receipt_never_shifts_the_start_of_the_count() -> None:
    calendar = make_calendar()
    for hour in (0, 6, 10, 16, 23):
        assert calendar.clarification_deadline(at(2026, 11, 23, hour)) == date(2026, 12, 2)
    # Control: the next calendar day starts a new count.
    assert calendar.clarification_deadline(at(2026, 11, 24, 0)) == date(2026, 12, 3)


def test_earliest_booking_start_is_the_next_working_morning() -> None:
    calendar = make_calendar()
    assert calendar.earliest_booking_start(at(2026, 11, 23, 9)) == at(2026, 11, 24, 8, 30)  # Mon -> Tue
    assert calendar.earliest_booking_start(at(2026, 11, 23, 0, 5)) == at(2026, 11, 24, 8, 30)
    assert calendar.earliest_booking_start(at(2026, 11, 27, 9)) == at(2026, 12, 2, 8, 30)  # Fri -> Wed
    # Sunday 22:30 UTC in winter is already Monday 00:30 in Cluj: the earliest is Tuesday.
    assert calendar.earliest_booking_start(utc(2026, 11, 22, 22, 30)) == at(2026, 11, 24, 8, 30)


def test_notice_start_is_the_next_working_afternoon_by_default() -> None:
    calendar = make_calendar()
    # A message at 23:00 on Monday is never booked for 08:30 on Tuesday: 12:00 at the earliest.
    assert calendar.notice_start(at(2026, 11, 23, 23)) == at(2026, 11, 24, 12)
    assert calendar.notice_start(at(2026, 11, 23, 9)) == at(2026, 11, 24, 12)
    # Friday (before 30 Nov-1 Dec): the next working day is Wednesday.
    assert calendar.notice_start(at(2026, 11, 27, 22)) == at(2026, 12, 2, 12)
    # Control: the floor itself stays the next working day's opening.
    assert calendar.earliest_booking_start(at(2026, 11, 23, 23)) == at(2026, 11, 24, 8, 30)


@pytest.mark.parametrize(
    ("overrides", "now", "expected"),
    [
        ({"next_day_not_before": ""}, at(2026, 11, 23, 23), at(2026, 11, 24, 8, 30)),  # off: from opening
        ({"next_day_not_before": "14:30"}, at(2026, 11, 23, 23), at(2026, 11, 24, 14, 30)),
        # Past the next day's closing: the start simply lies after it (the first slot is on a later day).
        ({"next_day_not_before": "17:00"}, at(2026, 11, 23, 9), at(2026, 11, 24, 17)),
        ({"next_day_not_before": "", "minimum_notice_hours": 30}, at(2026, 11, 23, 9), at(2026, 11, 24, 15)),
        ({"minimum_notice_hours": 2}, at(2026, 11, 23, 23), at(2026, 11, 24, 12)),  # the later of the two
    ],
)
def test_notice_start_is_configurable(overrides: dict[str, object], now: datetime, expected: datetime) -> None:
    assert make_calendar(**overrides).notice_start(now) == expected


def test_next_day_not_before_must_be_a_time() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="HH:MM"):
        make_calendar(next_day_not_before="noon")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        make_calendar().receipt_day(datetime(2026, 11, 23, 10))


@pytest.mark.parametrize(
    "hours",
    [
        {"mondy": ["08:30-16:00"]},
        {"saturday": ["09:00-12:00"]},
        {"monday": ["8.30-16"]},
        {"monday": ["16:00-08:30"]},
        {"monday": ["08:30-12:30", "12:00-16:00"]},
    ],
)
def test_bad_hours_stop_start_up(hours: dict[str, list[str]]) -> None:
    with pytest.raises(ValueError, match=r"appointments\.hours"):
        make_calendar(hours=hours)


def test_holiday_names_do_not_depend_on_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert make_calendar().closed_reason(date(2027, 1, 1)) == "Anul Nou"
