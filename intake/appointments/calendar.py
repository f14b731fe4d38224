"""The office calendar: working days, opening hours and the legal deadline of clarification appointments.

A working day is Monday to Friday, with opening hours configured, not a Romanian public holiday (the `holidays`
package), not a configured extra closed day (government bridge days, which the package cannot know) and not
inside a configured office closure.

The legal rule (procedure 000, "Programarea prealabilă"): a clarification appointment must fall "nu mai târziu
de 5 zile lucrătoare de la primirea documentelor". Receipt is the IMAP INTERNALDATE read in the office time zone,
and the count runs strictly from its calendar day: the deadline is the 5th working day after that day, whatever
the hour or the day of the week. A message received on Sunday is booked by Friday; one received at 23:00 counts
from the same day as one received at 09:00 (the text counts from receipt, not from the office's next opening).

Minimum notice is separate from the deadline: the slot intake chooses is never today, never before
`next_day_not_before` on the next working day and never within `minimum_notice_hours`; when that leaves no room
before the deadline, the deadline wins (see `Booker.find`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

from intake.settings import AppointmentsSettings

# Legal working days are Monday-Friday whatever the opening hours say (Codul muncii, "zile lucrătoare").
WEEKDAY_NAMES: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")
WEEKEND_NAMES: dict[int, str] = {5: "sâmbătă", 6: "duminică"}  # date.weekday() -> Romanian name

REASON_BRIDGE_DAY = "zi liberă stabilită de Guvern"
REASON_CLOSURE = "sediul este închis"  # a closure configured without a reason
REASON_NO_HOURS = "zi fără program cu publicul"

# A calendar that never opens (a closure of years, empty hours) must fail loudly, not loop forever.
MAX_SEARCH_DAYS = 2 * 366

Interval = tuple[time, time]


class OfficeCalendar:
    def __init__(self, settings: AppointmentsSettings, timezone: str = "Europe/Bucharest") -> None:
        self.settings = settings
        self.tz = ZoneInfo(timezone)
        self._hours = _parse_hours(settings.hours)
        self._extra_closed = frozenset(settings.extra_closed_days)
        self._holidays: dict[int, holidays.HolidayBase] = {}

    # --- which days -------------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        return self.closed_reason(day) is None

    def closed_reason(self, day: date) -> str | None:
        """Why the office is closed on `day` (Romanian, for staff and beneficiaries), or None when it is open.

        The most specific reason wins: a public holiday on a Saturday is named as the holiday.
        """
        holiday = self._public_holidays(day.year).get(day)
        if holiday is not None:
            return str(holiday)
        if day in self._extra_closed:
            return REASON_BRIDGE_DAY
        for closure in self.settings.closures:
            if closure.start <= day <= closure.end:
                return closure.reason or REASON_CLOSURE
        if day.weekday() in WEEKEND_NAMES:
            return WEEKEND_NAMES[day.weekday()]
        if not self._hours.get(WEEKDAY_NAMES[day.weekday()]):
            return REASON_NO_HOURS
        return None

    def opening_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening hours of `day` as aware datetimes in the office time zone; [] when the office is closed."""
        if not self.is_working_day(day):
            return []
        return [(self._at(day, start), self._at(day, end)) for start, end in self._hours[WEEKDAY_NAMES[day.weekday()]]]

    def closing_time(self, day: date) -> datetime | None:
        intervals = self.opening_intervals(day)
        return intervals[-1][1] if intervals else None

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for candidate in _days_after(day):
            if self.is_working_day(candidate):
                return candidate
        raise RuntimeError(f"no working day within {MAX_SEARCH_DAYS} days after {day}: check hours and closures")

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n=0 gives `day` itself)."""
        if n < 0:
            raise ValueError("n must not be negative")
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    # --- the legal deadline -----------------------------------------------------------------------------------

    def receipt_day(self, received_at: datetime) -> date:
        """The calendar day of receipt in the office time zone: the count of the deadline starts after it."""
        return self._local(received_at).date()

    def clarification_deadline(self, received_at: datetime) -> date:
        """The last day a clarification appointment may fall on: the n-th working day after the day of receipt."""
        return self.add_working_days(self.receipt_day(received_at), self.settings.deadline_working_days)

    def deadline_end(self, received_at: datetime) -> datetime:
        """The closing time of the deadline day (aware, office time zone)."""
        day = self.clarification_deadline(received_at)
        closing = self.closing_time(day)
        assert closing is not None  # the deadline is a working day by construction
        return closing

    # --- booking ----------------------------------------------------------------------------------------------

    def earliest_booking_start(self, now: datetime) -> datetime:
        """The floor of every booking: the opening of the first working day strictly after today (never the same
        day, so the beneficiary always gets the e-mail before the visit; being tomorrow it is never in the past)."""
        today = self._local(now).date()
        return self.opening_intervals(self.next_working_day(today))[0][0]

    def notice_start(self, now: datetime) -> datetime:
        """The earliest start of a slot intake chooses itself: the floor, but not before `next_day_not_before` on
        that next working day (a message sent at night is not booked for 08:30 next morning), and not within
        `minimum_notice_hours` of `now`. A limit past the day's closing simply moves to the following days."""
        floor = self.earliest_booking_start(now)
        start = floor
        if self.settings.next_day_not_before:
            not_before = time.fromisoformat(self.settings.next_day_not_before)
            start = max(start, self._at(floor.date(), not_before))
        if self.settings.minimum_notice_hours:
            start = max(start, self._local(now) + timedelta(hours=self.settings.minimum_notice_hours))
        return start

    # --- helpers ----------------------------------------------------------------------------------------------

    def _public_holidays(self, year: int) -> holidays.HolidayBase:
        # language="ro" explicitly: without it the package picks the language from the process locale
        # (LANG=C.UTF-8 gives English names).
        if year not in self._holidays:
            self._holidays[year] = holidays.country_holidays("RO", years=year, language="ro")
        return self._holidays[year]

    def _at(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.tz)

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: give the instant with its time zone")
        return moment.astimezone(self.tz)


def _days_after(day: date) -> Iterator[date]:
    for offset in range(1, MAX_SEARCH_DAYS + 1):
        yield day + timedelta(days=offset)


def _parse_hours(hours: dict[str, list[str]]) -> dict[str, list[Interval]]:
    """Validate the configured opening hours once, so a typo stops start-up instead of closing a weekday."""
    parsed: dict[str, list[Interval]] = {}
    for name, intervals in hours.items():
        key = name.strip().lower()
        if key in ("saturday", "sunday"):
            raise ValueError(f"appointments.hours.{name}: working days are Monday-Friday only")
        if key not in WEEKDAY_NAMES:
            raise ValueError(f"appointments.hours.{name}: unknown weekday (use monday ... friday)")
        parsed[key] = _parse_day(name, intervals)
    return parsed


def _parse_day(name: str, intervals: list[str]) -> list[Interval]:
    result = [_parse_interval(name, text) for text in intervals]
    result.sort()
    for (_, previous_end), (start, _) in pairwise(result):
        if start < previous_end:
            raise ValueError(f"appointments.hours.{name}: intervals overlap")
    return result


def _parse_interval(name: str, text: str) -> Interval:
    try:
        start_text, end_text = text.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise ValueError(f"appointments.hours.{name}: {text!r} is not HH:MM-HH:MM") from None
    if start >= end:
        raise ValueError(f"appointments.hours.{name}: {text!r} ends before it starts")
    return start, end
