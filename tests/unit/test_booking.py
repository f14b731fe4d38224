"""Booking: the earliest free slot, capacity per slot, the reserved and overflow desks, the legal deadline.

Real SQLite, appointments inserted directly. Dates: Mon 2026-11-23 received during office hours has its
clarification deadline on Wed 2026-12-02 (30 Nov and 1 Dec are public holidays), so the window from the
next working morning is Tue 24, Wed 25, Thu 26, Fri 27 November and Wed 2 December: five working days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from intake.appointments.booking import Booker, BookingChoice, Slot
from intake.appointments.calendar import OfficeCalendar
from intake.db import make_engine, transaction
from intake.models import Appointment, AppointmentState, Submission
from intake.settings import AppointmentsSettings

BUCHAREST = ZoneInfo("Europe/Bucharest")
OFFICE = "CJ"
RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=BUCHAREST)  # Monday, deadline Wed 2026-12-02
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BUCHAREST)
WINDOW_DAYS = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27), date(2026, 12, 2)]
# One 90-minute slot a day, still open at RECEIVED (10:00), so the receipt day stays Monday.
ONE_SLOT_A_DAY = {day: ["09:00-10:30"] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BUCHAREST)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'booking.db'}")


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with transaction(engine) as open_session:
        submission = Submission(office=OFFICE, sha256="0" * 64, size=1, received_at=RECEIVED, claimed_at=RECEIVED)
        open_session.add(submission)
        open_session.flush()
        yield open_session


def make_booker(office: str = OFFICE, **overrides: object) -> Booker:
    """Without the next-day notice unless a test sets it: the capacity rules read more simply from opening time,
    and the notice has its own tests below."""
    overrides.setdefault("next_day_not_before", "")
    settings = AppointmentsSettings(**overrides)  # type: ignore[arg-type]
    return Booker(OfficeCalendar(settings), settings, office)


def add(
    session: Session,
    start: datetime,
    *,
    purpose: str = "clarification",
    minutes: int = 15,
    state: str = AppointmentState.BOOKED,
    office: str = OFFICE,
) -> Appointment:
    appointment = Appointment(
        office=office,
        submission_id=1,
        purpose=purpose,
        start=start,
        end=start + timedelta(minutes=minutes),
        state=state,
        uid=f"test-{start.isoformat()}-{purpose}",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(appointment)
    session.flush()
    return appointment


def book(session: Session, choice: BookingChoice | None, purpose: str = "clarification") -> BookingChoice:
    assert choice is not None
    minutes = int((choice.slot.end - choice.slot.start).total_seconds() // 60)
    add(session, choice.slot.start, purpose=purpose, minutes=minutes)
    return choice


def clarification(booker: Booker, session: Session, now: datetime = NOW, **kwargs: object) -> BookingChoice | None:
    return booker.find(session, purpose="clarification", now=now, received_at=RECEIVED, **kwargs)  # type: ignore[arg-type]


# --- the slot grid ----------------------------------------------------------------------------------------


def test_slots_respect_breaks_and_closing_time() -> None:
    booker = make_booker(slot_minutes=25)
    day = list(booker.slots(at(2026, 11, 24, 0), date(2026, 11, 24)))
    # 08:30-12:30 holds nine 25-minute slots (the tenth would cross the break), 13:00-16:00 holds seven.
    assert len(day) == 16
    assert day[8] == Slot(at(2026, 11, 24, 11, 50), at(2026, 11, 24, 12, 15))
    assert day[9].start == at(2026, 11, 24, 13, 0)
    assert day[-1] == Slot(at(2026, 11, 24, 15, 30), at(2026, 11, 24, 15, 55))
    intervals = booker.calendar.opening_intervals(date(2026, 11, 24))
    assert all(any(opens <= s.start and s.end <= closes for opens, closes in intervals) for s in day)


def test_slots_skip_closed_days_and_start_at_the_given_instant() -> None:
    booker = make_booker(hours=ONE_SLOT_A_DAY, slot_minutes=90)
    slots = list(booker.slots(at(2026, 11, 24, 9, 10), date(2026, 12, 2)))
    assert [s.start.date() for s in slots] == WINDOW_DAYS[1:]  # Tue's only slot began before 09:10
    assert all(s.start.tzinfo is not None for s in slots)


# --- finding ----------------------------------------------------------------------------------------------


def test_earliest_slot_is_the_next_working_morning(session: Session) -> None:
    choice = clarification(make_booker(), session)
    assert choice == BookingChoice(Slot(at(2026, 11, 24, 8, 30), at(2026, 11, 24, 8, 45)), overflow=False)


def test_minimum_notice_never_today_even_with_free_slots(session: Session) -> None:
    # Monday 09:00: Monday afternoon is free, but the earliest is Tuesday's opening.
    booker = make_booker()
    for now in (at(2026, 11, 23, 9), at(2026, 11, 23, 7), datetime(2026, 11, 23, 7, 0, tzinfo=UTC)):
        assert clarification(booker, session, now=now).slot.start == at(2026, 11, 24, 8, 30)  # type: ignore[union-attr]
    # Friday morning: the next working morning is Wednesday (30 Nov and 1 Dec are holidays).
    choice = booker.find(session, purpose="decision", now=at(2026, 11, 27, 9))
    assert choice is not None and choice.slot.start == at(2026, 12, 2, 8, 30)


def test_capacity_per_slot(session: Session) -> None:
    booker = make_booker(desks=2)
    first = book(session, clarification(booker, session))
    second = book(session, clarification(booker, session))
    third = clarification(booker, session)
    assert first.slot == second.slot == Slot(at(2026, 11, 24, 8, 30), at(2026, 11, 24, 8, 45))
    assert third is not None and third.slot.start == at(2026, 11, 24, 8, 45) and not third.overflow
    assert booker.taken(session, first.slot) == 2
    assert booker.taken(session, third.slot) == 0


def test_a_full_morning_moves_to_after_the_break(session: Session) -> None:
    booker = make_booker(desks=1, slot_minutes=60)
    for hour in (8, 9, 10, 11):
        add(session, at(2026, 11, 24, hour, 30), minutes=60)
    choice = clarification(booker, session)
    assert choice is not None and choice.slot == Slot(at(2026, 11, 24, 13), at(2026, 11, 24, 14))


def test_decisions_never_take_the_reserved_desk(session: Session) -> None:
    booker = make_booker(desks=2, clarification_reserved_desks=1)
    assert booker.capacity("decision") == 1 and booker.capacity("clarification") == 2
    first = book(session, booker.find(session, purpose="decision", now=NOW), purpose="decision")
    second = booker.find(session, purpose="decision", now=NOW)
    assert second is not None and second.slot.start == first.slot.start + timedelta(minutes=15)
    # The desk left in the first slot is still there for a clarification.
    assert clarification(booker, session) == BookingChoice(first.slot, overflow=False)


def test_a_decision_may_share_a_slot_with_a_clarification(session: Session) -> None:
    # One clarification on a regular desk leaves the non-reserved desk free: decisions may use it.
    booker = make_booker(desks=2, clarification_reserved_desks=1)
    add(session, at(2026, 11, 24, 8, 30))
    choice = booker.find(session, purpose="decision", now=NOW)
    assert choice is not None and choice.slot.start == at(2026, 11, 24, 8, 30)


def test_decisions_never_use_overflow(session: Session) -> None:
    booker = make_booker(
        hours=ONE_SLOT_A_DAY,
        slot_minutes=90,
        desks=1,
        clarification_reserved_desks=0,
        overflow_desks=3,
        decision_horizon_working_days=2,
    )
    assert booker.window_end("decision", NOW, None) == date(2026, 11, 25)
    book(session, booker.find(session, purpose="decision", now=NOW), purpose="decision")
    book(session, booker.find(session, purpose="decision", now=NOW), purpose="decision")
    assert booker.find(session, purpose="decision", now=NOW) is None


def test_more_clarifications_than_capacity_overflow_then_none(session: Session) -> None:
    booker = make_booker(
        hours=ONE_SLOT_A_DAY, slot_minutes=90, desks=1, clarification_reserved_desks=1, overflow_desks=1
    )
    deadline_end = booker.calendar.deadline_end(RECEIVED)
    assert deadline_end == at(2026, 12, 2, 10, 30)
    choices = [book(session, clarification(booker, session)) for _ in range(10)]
    assert [c.overflow for c in choices] == [False] * 5 + [True] * 5
    assert [c.slot.start.date() for c in choices] == WINDOW_DAYS * 2
    assert all(c.slot.end <= deadline_end for c in choices)
    assert clarification(booker, session) is None  # never past the deadline
    assert booker.free_slots(session, purpose="clarification", now=NOW, received_at=RECEIVED) == []


def test_booking_late_on_the_day_before_the_deadline_gets_the_deadline_day(session: Session) -> None:
    booker = make_booker()
    choice = clarification(booker, session, now=at(2026, 12, 1, 20))  # Tue 1 Dec, a holiday, evening
    assert choice is not None and choice.slot.start == at(2026, 12, 2, 8, 30) and not choice.overflow


def test_booking_on_the_deadline_day_itself_finds_nothing(session: Session) -> None:
    # Minimum notice pushes the earliest start past the deadline: no slot, and certainly not a later one.
    booker = make_booker()
    for now in (at(2026, 12, 2, 8), at(2026, 12, 2, 15, 50)):
        assert clarification(booker, session, now=now) is None
        assert booker.free_slots(session, purpose="clarification", now=now, received_at=RECEIVED) == []


def test_rescheduling_frees_its_own_slot(session: Session) -> None:
    booker = make_booker(hours=ONE_SLOT_A_DAY, slot_minutes=90, desks=1, overflow_desks=0)
    own = add(session, at(2026, 11, 24, 9), minutes=90)
    without = clarification(booker, session)
    assert without is not None and without.slot.start == at(2026, 11, 25, 9)
    again = clarification(booker, session, exclude_appointment_id=own.id)
    assert again is not None and again.slot.start == at(2026, 11, 24, 9)
    free = booker.free_slots(
        session, purpose="clarification", now=NOW, received_at=RECEIVED, exclude_appointment_id=own.id
    )
    assert [s.start.date() for s in free] == WINDOW_DAYS
    free = booker.free_slots(session, purpose="clarification", now=NOW, received_at=RECEIVED)
    assert [s.start.date() for s in free] == WINDOW_DAYS[1:]


def test_only_booked_appointments_of_this_office_count(session: Session) -> None:
    booker = make_booker(desks=1)
    start = at(2026, 11, 24, 8, 30)
    add(session, start, state=AppointmentState.CANCELLED)
    add(session, start, state=AppointmentState.SUPERSEDED)
    add(session, start, office="BH")
    slot = Slot(start, start + timedelta(minutes=15))
    assert booker.taken(session, slot) == 0
    assert clarification(booker, session) == BookingChoice(slot, overflow=False)


def test_a_longer_appointment_blocks_every_slot_it_overlaps(session: Session) -> None:
    # Booked when slots were 30 minutes long; now they are 15: both 15-minute halves are taken.
    booker = make_booker(desks=1)
    add(session, at(2026, 11, 24, 8, 30), minutes=30)
    assert booker.taken(session, Slot(at(2026, 11, 24, 8, 45), at(2026, 11, 24, 9))) == 1
    choice = clarification(booker, session)
    assert choice is not None and choice.slot.start == at(2026, 11, 24, 9)


def test_free_slots_lists_the_window_in_order_with_a_limit(session: Session) -> None:
    booker = make_booker(hours=ONE_SLOT_A_DAY, slot_minutes=90, desks=1)
    add(session, at(2026, 11, 25, 9), minutes=90)
    free = booker.free_slots(session, purpose="clarification", now=NOW, received_at=RECEIVED)
    assert [s.start for s in free] == [at(d.year, d.month, d.day, 9) for d in WINDOW_DAYS if d != date(2026, 11, 25)]
    assert booker.free_slots(session, purpose="clarification", now=NOW, received_at=RECEIVED, limit=2) == free[:2]


def test_one_query_per_search(engine: Engine, session: Session) -> None:
    booker = make_booker()
    for minute in (30, 45):
        add(session, at(2026, 11, 24, 8, minute))
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        booker.find(session, purpose="decision", now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_window_end() -> None:
    booker = make_booker()
    assert booker.window_end("clarification", NOW, RECEIVED) == date(2026, 12, 2)
    # 15 working days after Mon 23 Nov (30 Nov and 1 Dec skipped).
    assert booker.window_end("decision", NOW, None) == date(2026, 12, 16)
    with pytest.raises(ValueError, match="received_at"):
        booker.window_end("clarification", NOW, None)
    with pytest.raises(ValueError, match="purpose"):
        booker.capacity("visit")


def test_booked_start_round_trips_through_the_database(session: Session) -> None:
    booker = make_booker()
    choice = book(session, clarification(booker, session))
    stored = session.get_one(Appointment, 1)
    session.refresh(stored)
    assert stored.start == choice.slot.start and stored.start.tzinfo is not None


# --- minimum notice, and the deadline that wins over it --------------------------------------------------------


def test_a_message_at_night_is_not_booked_for_the_next_morning(session: Session) -> None:
    booker = make_booker(next_day_not_before="12:00")
    choice = clarification(booker, session, now=at(2026, 11, 23, 23, 40))
    assert choice == BookingChoice(Slot(at(2026, 11, 24, 12), at(2026, 11, 24, 12, 15)), overflow=False)
    decision = booker.find(session, purpose="decision", now=at(2026, 11, 23, 23, 40))
    assert decision is not None and decision.slot.start == at(2026, 11, 24, 12)
    # Control: without the notice the same booking is the next working morning.
    assert clarification(make_booker(), session, now=at(2026, 11, 23, 23, 40)).slot.start == at(2026, 11, 24, 8, 30)  # type: ignore[union-attr]


def test_minimum_notice_hours(session: Session) -> None:
    booker = make_booker(minimum_notice_hours=28)
    choice = clarification(booker, session, now=at(2026, 11, 23, 9))
    assert choice is not None and choice.slot.start == at(2026, 11, 24, 13) and not choice.short_notice


def test_the_deadline_wins_over_the_notice(session: Session) -> None:
    # Wed 2 Dec is the deadline; booked on Tue 1 Dec (a holiday) at 20:00, the notice would start Wed at 12:00,
    # but the only slot of the day is at 09:00: the deadline wins, with a shorter notice.
    booker = make_booker(hours=ONE_SLOT_A_DAY, slot_minutes=90, next_day_not_before="12:00")
    choice = clarification(booker, session, now=at(2026, 12, 1, 20))
    assert choice == BookingChoice(Slot(at(2026, 12, 2, 9), at(2026, 12, 2, 10, 30)), overflow=False, short_notice=True)
    # A decision visit has no deadline: its notice holds, the next day's 09:00 is not taken.
    decision = booker.find(session, purpose="decision", now=at(2026, 12, 1, 20))
    assert decision is not None and decision.slot.start == at(2026, 12, 3, 9) and not decision.short_notice


def test_a_regular_place_at_short_notice_comes_before_overflow(session: Session) -> None:
    booker = make_booker(
        hours=ONE_SLOT_A_DAY,
        slot_minutes=90,
        desks=1,
        clarification_reserved_desks=0,
        overflow_desks=1,
        next_day_not_before="12:00",
    )
    now = at(2026, 11, 26, 20)  # Thursday evening: Fri 27 09:00 is inside the notice, Wed 2 Dec is not
    assert clarification(booker, session, now=now) == BookingChoice(
        Slot(at(2026, 12, 2, 9), at(2026, 12, 2, 10, 30)), overflow=False
    )
    add(session, at(2026, 12, 2, 9), minutes=90)
    short = clarification(booker, session, now=now)
    assert short == BookingChoice(
        Slot(at(2026, 11, 27, 9), at(2026, 11, 27, 10, 30)), overflow=False, short_notice=True
    )
    add(session, at(2026, 11, 27, 9), minutes=90)
    overflow = clarification(booker, session, now=now)
    assert overflow == BookingChoice(Slot(at(2026, 12, 2, 9), at(2026, 12, 2, 10, 30)), overflow=True)


def test_the_beneficiary_may_pick_a_slot_inside_the_notice(session: Session) -> None:
    # free_slots (the link, the staff page) only keeps the floor: the beneficiary chooses knowingly.
    booker = make_booker(next_day_not_before="12:00")
    free = booker.free_slots(session, purpose="clarification", now=at(2026, 11, 23, 23), received_at=RECEIVED)
    assert free[0].start == at(2026, 11, 24, 8, 30)
    assert max(slot.start.date() for slot in free) == date(2026, 12, 2)  # never past the deadline


def test_last_day_replaces_the_deadline_for_a_late_booking(session: Session) -> None:
    # Booked on the deadline day itself: nothing before the deadline; the caller's own window gives the earliest.
    booker = make_booker()
    now = at(2026, 12, 2, 15)
    assert clarification(booker, session, now=now) is None
    late = clarification(booker, session, now=now, last_day=date(2026, 12, 9))
    assert late is not None and late.slot.start == at(2026, 12, 3, 8, 30)
