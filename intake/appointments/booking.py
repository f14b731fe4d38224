"""Finding a free appointment slot.

Capacity rules, per slot:
- every appointment takes one desk; a slot has `desks` desks;
- decision appointments may use at most `desks - clarification_reserved_desks` of them, so a clarification
  (which has a legal deadline) always finds room that decisions (no legal limit) cannot take;
- when no regular desk is free before the legal deadline, a clarification may use one of `overflow_desks`
  extra places (the caller raises an alert); it is never booked past the deadline.

Notice, per booking: the slot intake chooses respects the minimum notice (`OfficeCalendar.notice_start`); a
clarification whose deadline leaves no room for it gets a shorter notice (never the same day), because the
legal deadline wins over our courtesy. A slot the beneficiary picks (`free_slots`) only has the floor: they
choose it knowingly.

Taken places are read with one query per search, not one per slot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from intake.appointments.calendar import OfficeCalendar
from intake.models import Appointment, AppointmentState
from intake.settings import AppointmentsSettings

CLARIFICATION = "clarification"
DECISION = "decision"
PURPOSES = (CLARIFICATION, DECISION)


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, office time zone
    end: datetime


@dataclass(frozen=True)
class BookingChoice:
    slot: Slot
    overflow: bool  # booked into overflow_desks to keep the legal deadline
    short_notice: bool = False  # earlier than the minimum notice, to keep the legal deadline


@dataclass(frozen=True)
class Occupancy:
    """What is already booked in one slot."""

    total: int = 0
    decisions: int = 0


class Booker:
    def __init__(self, calendar: OfficeCalendar, settings: AppointmentsSettings, office: str) -> None:
        self.calendar = calendar
        self.settings = settings
        self.office = office

    # --- the grid -------------------------------------------------------------------------------------------

    def slots(self, start: datetime, last_day: date) -> Iterator[Slot]:
        """Every slot starting at or after `start`, up to `last_day` inclusive, in time order.

        Slots are laid from the opening of each interval; a slot that would cross a break or the closing time
        is left out rather than shortened.
        """
        length = timedelta(minutes=self.settings.slot_minutes)
        day = start.astimezone(self.calendar.tz).date()
        while day <= last_day:
            for opens, closes in self.calendar.opening_intervals(day):
                slot_start = opens
                while slot_start + length <= closes:
                    if slot_start >= start:
                        yield Slot(slot_start, slot_start + length)
                    slot_start += length
            day += timedelta(days=1)

    # --- capacity -------------------------------------------------------------------------------------------

    def capacity(self, purpose: str) -> int:
        """Regular places per slot for `purpose` (overflow not included)."""
        _check_purpose(purpose)
        if purpose == CLARIFICATION:
            return self.settings.desks
        return max(0, self.settings.desks - self.settings.clarification_reserved_desks)

    def taken(self, session: Session, slot: Slot) -> int:
        """Booked appointments of this office that occupy `slot`."""
        return self._occupancy(session, slot.start, slot.end, None).get(_key(slot.start), Occupancy()).total

    # --- searching ------------------------------------------------------------------------------------------

    def window_end(self, purpose: str, now: datetime, received_at: datetime | None) -> date:
        """The last day an appointment for `purpose` may fall on."""
        _check_purpose(purpose)
        if purpose == CLARIFICATION:
            if received_at is None:
                raise ValueError("a clarification appointment needs the receipt time (received_at)")
            return self.calendar.clarification_deadline(received_at)
        # N working days after today: the first bookable day plus N-1 more.
        today = now.astimezone(self.calendar.tz).date()
        return self.calendar.add_working_days(today, self.settings.decision_horizon_working_days)

    def find(
        self,
        session: Session,
        *,
        purpose: str,
        now: datetime,
        received_at: datetime | None = None,
        exclude_appointment_id: int | None = None,
        last_day: date | None = None,
    ) -> BookingChoice | None:
        """The earliest slot, trying in this order: a regular place with the minimum notice; for a clarification,
        a regular place with a shorter notice (the deadline wins over the notice); then an overflow place with,
        and without, the notice. None when there is none of these (the caller must not book past the deadline).

        `last_day` replaces the window's end: the caller's choice when the legal deadline has already passed.
        """
        window = self._window(session, purpose, now, received_at, exclude_appointment_id, last_day)
        notice = self.calendar.notice_start(now)
        ladder = [(False, True)]
        if purpose == CLARIFICATION:
            ladder += [(False, False), (True, True), (True, False)]
        for overflow, with_notice in ladder:
            for slot, occupancy in window:
                if with_notice and slot.start < notice:
                    continue
                fits = self._has_overflow_room(occupancy) if overflow else self._has_room(purpose, occupancy)
                if fits:
                    return BookingChoice(slot, overflow=overflow, short_notice=slot.start < notice)
        return None

    def free_slots(
        self,
        session: Session,
        *,
        purpose: str,
        now: datetime,
        received_at: datetime | None = None,
        exclude_appointment_id: int | None = None,
        limit: int = 200,
        last_day: date | None = None,
    ) -> list[Slot]:
        """The slots a beneficiary may move to: regular free places only, so overflow capacity stays for the
        bookings that need it to keep the deadline; never a day past the window's end (`last_day` if given)."""
        window = self._window(session, purpose, now, received_at, exclude_appointment_id, last_day)
        return [slot for slot, occupancy in window if self._has_room(purpose, occupancy)][:limit]

    # --- helpers --------------------------------------------------------------------------------------------

    def _window(
        self,
        session: Session,
        purpose: str,
        now: datetime,
        received_at: datetime | None,
        exclude_appointment_id: int | None,
        last_day: date | None = None,
    ) -> list[tuple[Slot, Occupancy]]:
        """Every slot of the allowed window from the booking floor (never today), with what is booked in it, read
        in one query."""
        _check_purpose(purpose)
        start = self.calendar.earliest_booking_start(now)
        end = last_day if last_day is not None else self.window_end(purpose, now, received_at)
        slots = list(self.slots(start, end))
        if not slots:
            return []
        booked = self._occupancy(session, slots[0].start, slots[-1].end, exclude_appointment_id)
        return [(slot, booked.get(_key(slot.start), Occupancy())) for slot in slots]

    def _has_overflow_room(self, occupancy: Occupancy) -> bool:
        return occupancy.total < self.settings.desks + self.settings.overflow_desks

    def _has_room(self, purpose: str, occupancy: Occupancy) -> bool:
        if occupancy.total >= self.settings.desks:
            return False
        return purpose == CLARIFICATION or occupancy.decisions < self.capacity(DECISION)

    def _occupancy(
        self, session: Session, start: datetime, end: datetime, exclude_appointment_id: int | None
    ) -> dict[datetime, Occupancy]:
        """Booked places per slot start (UTC) between `start` and `end`.

        An appointment counts in every slot it overlaps, not only the one it starts in, so changing
        `slot_minutes` with appointments already booked can never double-book a desk.
        """
        query = (
            select(Appointment.start, Appointment.end, Appointment.purpose, func.count())
            .where(
                Appointment.office == self.office,
                Appointment.state == AppointmentState.BOOKED,
                col(Appointment.start) < end,
                col(Appointment.end) > start,
            )
            .group_by(col(Appointment.start), col(Appointment.end), col(Appointment.purpose))
        )
        if exclude_appointment_id is not None:
            query = query.where(Appointment.id != exclude_appointment_id)
        total: Counter[datetime] = Counter()
        decisions: Counter[datetime] = Counter()
        for booked_start, booked_end, purpose, count in session.exec(query).all():
            for slot_start in self._slot_starts(booked_start, booked_end):
                total[slot_start] += count
                if purpose == DECISION:
                    decisions[slot_start] += count
        return {key: Occupancy(total[key], decisions[key]) for key in total}

    def _slot_starts(self, booked_start: datetime, booked_end: datetime) -> Iterator[datetime]:
        """The starts (UTC) of the grid slots that an appointment from `booked_start` to `booked_end` overlaps."""
        day = booked_start.astimezone(self.calendar.tz).date()
        for slot in self.slots(booked_start - timedelta(minutes=self.settings.slot_minutes), day):
            if slot.start < booked_end and slot.end > booked_start:
                yield _key(slot.start)


def _key(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown appointment purpose {purpose!r} (expected one of {', '.join(PURPOSES)})")
