"""The calendar invite (iCalendar, RFC 5545 / iTIP RFC 5546) sent with every appointment e-mail.

Times are never floating and never only UTC: DTSTART/DTEND carry TZID=Europe/Bucharest and the calendar
embeds a VTIMEZONE for it, so a phone set to another zone still shows the office's 10:00 at the right
instant (the "two hours early" complaint of other booking tools).

The VTIMEZONE is written with yearly RRULEs (last Sunday of March / October), the form Google Calendar and
Outlook emit. Outlook ignores RDATE in VTIMEZONE (MS-OXCICAL 2.1.3.1.1.19 keeps only DTSTART, RRULE and the
offsets), so the RDATE list icalendar's `Timezone.from_tzid` produces would be read as "no summer time" and
a July appointment would show an hour off. The rule is derived from zoneinfo and checked against it for the
years around the appointment; a zone whose changes follow no such rule gets each change listed (icalendar's
own generator is not used: in 7.3 it writes some onsets in the local time after the change, an hour late).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vText

PRODID = "-//AJOFM Cluj//intake//RO"
METHODS = {"REQUEST": "CONFIRMED", "CANCEL": "CANCELLED"}
REMINDER_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class InviteData:
    uid: str
    sequence: int
    start: datetime  # aware
    end: datetime  # aware
    summary: str  # Romanian
    description: str
    location: str
    organizer_email: str
    organizer_name: str
    attendee_email: str
    timezone: str = "Europe/Bucharest"
    alarm_text: str = ""  # Romanian text of the alarm a day before; empty: no alarm


def build_invite(data: InviteData, *, method: str = "REQUEST", stamp: datetime) -> bytes:
    """A VCALENDAR with one VEVENT: METHOD:REQUEST to book or update, METHOD:CANCEL (same UID, higher SEQUENCE)."""
    _check(data, method, stamp)
    zone = ZoneInfo(data.timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(vtimezone(data.timezone, data.start.astimezone(zone).date()))
    calendar.add_component(_event(data, method, stamp, zone))
    return calendar.to_ical()


def _check(data: InviteData, method: str, stamp: datetime) -> None:
    if method not in METHODS:
        raise ValueError(f"unsupported iTIP method {method!r}")
    for name, moment in (("start", data.start), ("end", data.end), ("stamp", stamp)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if data.end <= data.start:
        raise ValueError("end must be after start")
    if data.sequence < 0:
        raise ValueError("sequence must not be negative")


def _event(data: InviteData, method: str, stamp: datetime, zone: ZoneInfo) -> Event:
    event = Event()
    event.add("uid", data.uid)
    event.add("sequence", data.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    # Converted to the office zone so icalendar writes TZID=<zone> with local wall-clock time.
    event.add("dtstart", data.start.astimezone(zone))
    event.add("dtend", data.end.astimezone(zone))
    event.add("summary", vText(data.summary), parameters={"LANGUAGE": "ro"})
    event.add("description", vText(data.description), parameters={"LANGUAGE": "ro"})
    event.add("location", vText(data.location), parameters={"LANGUAGE": "ro"})
    event.add("status", METHODS[method])
    event.add("transp", "OPAQUE")
    event.add("organizer", _organizer(data))
    event.add("attendee", _attendee(data))
    if method == "REQUEST" and data.alarm_text:
        event.add_component(_alarm(data.alarm_text))
    return event


def _organizer(data: InviteData) -> vCalAddress:
    organizer = vCalAddress(f"mailto:{data.organizer_email}")
    organizer.params["CN"] = vText(data.organizer_name)
    return organizer


def _attendee(data: InviteData) -> vCalAddress:
    attendee = vCalAddress(f"mailto:{data.attendee_email}")
    attendee.params["CUTYPE"] = vText("INDIVIDUAL")
    attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
    # The appointment is booked already: we ask for no RSVP, changes go through the link in the e-mail.
    attendee.params["PARTSTAT"] = vText("NEEDS-ACTION")
    attendee.params["RSVP"] = vText("FALSE")
    return attendee


def _alarm(text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", -REMINDER_BEFORE)
    return alarm


# --- VTIMEZONE ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC instant of the change
    offset_from: timedelta
    offset_to: timedelta
    name: str  # abbreviation after the change (EET, EEST)
    daylight: bool


@dataclass(frozen=True)
class _YearlyRule:
    month: int
    weekday: int  # Monday = 0
    ordinal: int  # 1..4, or -1 for "last"
    clock: timedelta  # local time of day (in the offset before the change)

    def onset(self, year: int) -> datetime:
        """Local wall-clock onset in `year` (naive, in the offset before the change)."""
        if self.ordinal == -1:
            first_next = date(year + (self.month == 12), self.month % 12 + 1, 1)
            last = first_next - timedelta(days=1)
            day = last - timedelta(days=(last.weekday() - self.weekday) % 7)
        else:
            first = date(year, self.month, 1)
            day = first + timedelta(days=(self.weekday - first.weekday()) % 7 + 7 * (self.ordinal - 1))
        return datetime.combine(day, datetime.min.time()) + self.clock

    def rrule(self) -> dict[str, object]:
        byday = f"{self.ordinal}{_ICAL_DAYS[self.weekday]}"
        return {"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": byday}


_ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def vtimezone(tzid: str, around: date) -> Timezone:
    """A VTIMEZONE for `tzid` valid for the year of `around` and the years next to it."""
    zone = ZoneInfo(tzid)
    transitions = list(_transitions(zone, around.year))
    if not transitions:
        return _fixed_offset(tzid, zone, around)
    rules = [_rule_for(t) for t in transitions]
    pairs = list(zip(transitions, rules, strict=True))
    if len(pairs) == 2 and all(_rule_holds(zone, rule, transition, around.year) for transition, rule in pairs):
        return _rrule_timezone(tzid, transitions, rules, around.year - 1)
    # Irregular zone (a rule change, Ramadan switches): every change listed, for the years around the date.
    listed = [t for year in (around.year - 1, around.year, around.year + 1) for t in _transitions(zone, year)]
    return _listed_timezone(tzid, listed)


@lru_cache(maxsize=64)
def _transitions(zone: ZoneInfo, year: int) -> tuple[_Transition, ...]:
    """The offset changes of `zone` during `year` (kept: 8,760 hourly probes a year, for every invitation)."""
    return tuple(_scan_transitions(zone, year))


def _scan_transitions(zone: ZoneInfo, year: int) -> Iterator[_Transition]:
    """The offset changes of `zone` during `year`, found hour by hour and refined to the minute."""
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    previous = _offset(zone, moment)
    while moment < end:
        following = moment + timedelta(hours=1)
        offset = _offset(zone, following)
        if offset != previous:
            at = _first_minute_with(zone, moment, offset)
            local = at.astimezone(zone)
            yield _Transition(at, previous, offset, local.tzname() or "", bool(local.dst()))
            previous = offset
        moment = following


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta(0)


def _first_minute_with(zone: ZoneInfo, after: datetime, offset: timedelta) -> datetime:
    moment = after
    while _offset(zone, moment) != offset:
        moment += timedelta(minutes=1)
    return moment


def _rule_for(transition: _Transition) -> _YearlyRule:
    onset = (transition.at + transition.offset_from).replace(tzinfo=None)
    is_last = (onset + timedelta(days=7)).month != onset.month
    ordinal = -1 if is_last else (onset.day - 1) // 7 + 1
    clock = onset - datetime.combine(onset.date(), datetime.min.time())
    return _YearlyRule(onset.month, onset.weekday(), ordinal, clock)


def _rule_holds(zone: ZoneInfo, rule: _YearlyRule, transition: _Transition, year: int) -> bool:
    """Does the rule give zoneinfo's change, with the same offsets, in the year before and the two after?"""
    for candidate in (year - 1, year, year + 1, year + 2):
        at = (rule.onset(candidate) - transition.offset_from).replace(tzinfo=UTC)
        before = _offset(zone, at - timedelta(minutes=1))
        if before != transition.offset_from or _offset(zone, at) != transition.offset_to:
            return False
    return True


def _rrule_timezone(tzid: str, transitions: list[_Transition], rules: list[_YearlyRule], first_year: int) -> Timezone:
    timezone = Timezone()
    timezone.add("tzid", tzid)
    for transition, rule in sorted(zip(transitions, rules, strict=True), key=lambda pair: not pair[0].daylight):
        observance = TimezoneDaylight() if transition.daylight else TimezoneStandard()
        observance.add("dtstart", rule.onset(first_year))
        observance.add("rrule", rule.rrule())
        observance.add("tzoffsetfrom", transition.offset_from)
        observance.add("tzoffsetto", transition.offset_to)
        observance.add("tzname", transition.name)
        timezone.add_component(observance)
    return timezone


def _listed_timezone(tzid: str, transitions: list[_Transition]) -> Timezone:
    timezone = Timezone()
    timezone.add("tzid", tzid)
    for transition in transitions:
        observance = TimezoneDaylight() if transition.daylight else TimezoneStandard()
        # An onset is written in the local time before the change (RFC 5545 3.6.5).
        observance.add("dtstart", (transition.at + transition.offset_from).replace(tzinfo=None))
        observance.add("tzoffsetfrom", transition.offset_from)
        observance.add("tzoffsetto", transition.offset_to)
        observance.add("tzname", transition.name)
        timezone.add_component(observance)
    return timezone


def _fixed_offset(tzid: str, zone: ZoneInfo, around: date) -> Timezone:
    """A zone without summer time: one STANDARD observance (Outlook needs one to read the offset)."""
    moment = datetime(around.year, 1, 1, tzinfo=UTC).astimezone(zone)
    offset = moment.utcoffset() or timedelta(0)
    timezone = Timezone()
    timezone.add("tzid", tzid)
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", offset)
    standard.add("tzoffsetto", offset)
    standard.add("tzname", moment.tzname() or tzid)
    timezone.add_component(standard)
    return timezone
