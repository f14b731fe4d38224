"""The calendar invite: explicit Europe/Bucharest times that land on the right instant, summer and winter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Timezone

from intake.appointments.ics import InviteData, build_invite, vtimezone

BUCHAREST = ZoneInfo("Europe/Bucharest")
STAMP = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def invite(start: datetime, *, sequence: int = 0, minutes: int = 15, alarm: str = "Mâine: programare") -> InviteData:
    return InviteData(
        uid="appointment-7@intake.ajofm-cluj.ro",
        sequence=sequence,
        start=start,
        end=start + timedelta(minutes=minutes),
        summary="Programare la AJOFM Cluj: clarificarea dosarului nr. 12/23.11.2026",
        description="Aduceți actul de identitate în original.\nȘi adeverința de venit.",
        location="AJOFM Cluj, str. Călărașilor nr. 1, Cluj-Napoca",
        organizer_email="registratura@ajofm-cluj.ro",
        organizer_name="Registratura AJOFM Cluj",
        attendee_email="ion.popescu@example.com",
        alarm_text=alarm,
    )


def parse(raw: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(raw)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    return calendar, events[0]


def unfolded_lines(raw: bytes) -> list[str]:
    return raw.decode("utf-8").replace("\r\n ", "").split("\r\n")


def embedded_zone(calendar: Calendar) -> Timezone:
    zones = list(calendar.walk("VTIMEZONE"))
    assert [str(zone["TZID"]) for zone in zones] == ["Europe/Bucharest"]
    return zones[0]


@pytest.mark.parametrize(
    ("local_start", "utc_start"),
    [
        (datetime(2026, 7, 9, 10, 0), datetime(2026, 7, 9, 7, 0, tzinfo=UTC)),  # EEST, +03:00
        (datetime(2026, 11, 26, 10, 0), datetime(2026, 11, 26, 8, 0, tzinfo=UTC)),  # EET, +02:00
        (datetime(2027, 3, 26, 10, 0), datetime(2027, 3, 26, 8, 0, tzinfo=UTC)),  # Friday before the switch
        (datetime(2027, 3, 29, 10, 0), datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),  # Monday after it
    ],
)
def test_local_ten_o_clock_is_the_right_instant(local_start: datetime, utc_start: datetime) -> None:
    raw = build_invite(invite(local_start.replace(tzinfo=BUCHAREST)), stamp=STAMP)
    calendar, event = parse(raw)

    assert f"DTSTART;TZID=Europe/Bucharest:{local_start:%Y%m%dT%H%M%S}" in unfolded_lines(raw)
    assert event["DTSTART"].params["TZID"] == "Europe/Bucharest"
    assert event.decoded("DTSTART").astimezone(UTC) == utc_start
    # The same instant through the VTIMEZONE we embed, not the TZID name (what Outlook relies on).
    own_rules = embedded_zone(calendar).to_tz(lookup_tzid=False)
    assert local_start.replace(tzinfo=own_rules).astimezone(UTC) == utc_start


def test_start_given_in_utc_is_written_in_office_time() -> None:
    raw = build_invite(invite(datetime(2026, 7, 9, 7, 0, tzinfo=UTC)), stamp=STAMP)

    lines = unfolded_lines(raw)
    assert "DTSTART;TZID=Europe/Bucharest:20260709T100000" in lines
    assert "DTEND;TZID=Europe/Bucharest:20260709T101500" in lines


def test_no_floating_or_bare_utc_event_times() -> None:
    raw = build_invite(invite(datetime(2026, 11, 26, 10, tzinfo=BUCHAREST)), stamp=STAMP)
    lines = unfolded_lines(raw)
    event = lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT")]

    times = [line for line in event if re.match(r"(DTSTART|DTEND)[;:]", line)]
    assert len(times) == 2
    assert all(line.startswith(("DTSTART;TZID=Europe/Bucharest:", "DTEND;TZID=Europe/Bucharest:")) for line in times)
    assert not any(line.endswith("Z") for line in times)
    assert "DTSTAMP:20260601T093000Z" in event


def test_vtimezone_is_written_with_yearly_rules_outlook_reads() -> None:
    raw = build_invite(invite(datetime(2026, 11, 26, 10, tzinfo=BUCHAREST)), stamp=STAMP)
    lines = unfolded_lines(raw)
    block = lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE")]

    # Outlook ignores RDATE in a VTIMEZONE; only RRULE rules survive its import.
    assert not any(line.startswith("RDATE") for line in block)
    daylight = block[block.index("BEGIN:DAYLIGHT") : block.index("END:DAYLIGHT")]
    standard = block[block.index("BEGIN:STANDARD") : block.index("END:STANDARD")]
    # EU rule: 01:00 UTC on the last Sunday of March (03:00 EET) and of October (04:00 EEST).
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in daylight
    assert "DTSTART:20250330T030000" in daylight
    assert {"TZOFFSETFROM:+0200", "TZOFFSETTO:+0300", "TZNAME:EEST"} <= set(daylight)
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in standard
    assert "DTSTART:20251026T040000" in standard
    assert {"TZOFFSETFROM:+0300", "TZOFFSETTO:+0200", "TZNAME:EET"} <= set(standard)


# Bucharest and zones with other yearly rules (RRULE); Jerusalem's "Friday before the last Sunday" has no
# RRULE form and takes the listed-changes path; Tokyo has no summer time.
ZONES = ["Europe/Bucharest", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Jerusalem", "Asia/Tokyo"]


@pytest.mark.parametrize("tzid", ZONES)
def test_vtimezone_agrees_with_zoneinfo_every_hour_of_the_year(tzid: str) -> None:
    zone = ZoneInfo(tzid)
    rules = Timezone.from_ical(vtimezone(tzid, date(2027, 5, 1)).to_ical()).to_tz(lookup_tzid=False)
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    while moment.year == 2027:
        assert moment.astimezone(rules).utcoffset() == moment.astimezone(zone).utcoffset(), moment
        moment += timedelta(hours=1)


def test_cancel_keeps_uid_and_raises_sequence() -> None:
    start = datetime(2026, 11, 26, 10, tzinfo=BUCHAREST)
    request = parse(build_invite(invite(start, sequence=0), stamp=STAMP))
    cancel = parse(build_invite(invite(start, sequence=1), method="CANCEL", stamp=STAMP + timedelta(hours=1)))

    assert str(request[0]["METHOD"]) == "REQUEST"
    assert str(cancel[0]["METHOD"]) == "CANCEL"
    assert str(request[1]["STATUS"]) == "CONFIRMED"
    assert str(cancel[1]["STATUS"]) == "CANCELLED"
    assert str(cancel[1]["UID"]) == str(request[1]["UID"])
    assert cancel[1]["SEQUENCE"] > request[1]["SEQUENCE"]
    assert not list(cancel[1].walk("VALARM"))


def test_calendar_headers_organizer_and_attendee() -> None:
    raw = build_invite(invite(datetime(2026, 11, 26, 10, tzinfo=BUCHAREST), sequence=3), stamp=STAMP)
    calendar, event = parse(raw)

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//AJOFM Cluj//")
    assert event["SEQUENCE"] == 3
    assert str(event["ORGANIZER"]) == "mailto:registratura@ajofm-cluj.ro"
    assert event["ORGANIZER"].params["CN"] == "Registratura AJOFM Cluj"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:ion.popescu@example.com"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee.params["RSVP"] == "FALSE"


def test_romanian_text_survives_and_lines_are_crlf() -> None:
    raw = build_invite(invite(datetime(2026, 11, 26, 10, tzinfo=BUCHAREST)), stamp=STAMP)
    _, event = parse(raw)

    assert str(event["DESCRIPTION"]) == "Aduceți actul de identitate în original.\nȘi adeverința de venit."
    assert str(event["LOCATION"]) == "AJOFM Cluj, str. Călărașilor nr. 1, Cluj-Napoca"
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))


def test_alarm_one_day_before_only_when_asked() -> None:
    start = datetime(2026, 11, 26, 10, tzinfo=BUCHAREST)
    _, with_alarm = parse(build_invite(invite(start), stamp=STAMP))
    _, without = parse(build_invite(invite(start, alarm=""), stamp=STAMP))

    [alarm] = list(with_alarm.walk("VALARM"))
    assert alarm.decoded("TRIGGER") == -timedelta(days=1)
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert not list(without.walk("VALARM"))


@pytest.mark.parametrize(
    ("start", "end", "method"),
    [
        (datetime(2026, 11, 26, 10), datetime(2026, 11, 26, 10, 15), "REQUEST"),  # floating
        (datetime(2026, 11, 26, 10, tzinfo=BUCHAREST), datetime(2026, 11, 26, 10, tzinfo=BUCHAREST), "REQUEST"),
        (datetime(2026, 11, 26, 10, tzinfo=BUCHAREST), datetime(2026, 11, 26, 11, tzinfo=BUCHAREST), "PUBLISH"),
    ],
)
def test_refuses_what_would_mislead(start: datetime, end: datetime, method: str) -> None:
    data = invite(datetime(2026, 11, 26, 10, tzinfo=BUCHAREST))
    data = InviteData(**{**data.__dict__, "start": start, "end": end})
    with pytest.raises(ValueError):
        build_invite(data, method=method, stamp=STAMP)
