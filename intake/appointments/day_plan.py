"""The visits of a few days seated at the office's desks: the clerk's day sheet (`/ziua`, issue 12 point 8).

Visits are not tied to a desk in the database (a slot has `appointments.desks` places), so they are seated the way
the counter fills them: in each slot by order of booking, desk 1 first; a visit booked into the extra capacity
(`overflow`) sits at the extra desk ("suplimentar").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from intake.clock import local
from intake.models import Appointment, AppointmentState, Submission
from intake.registry import registration_label
from intake.runtime import Runtime
from intake.texts import labels, long_date

EXTRA_DESK = "suplimentar"


@dataclass
class DayPlan:
    day: date
    title: str
    desks: list[str]
    # (time "09:30", {desk: visit}) in order of time
    slots: list[tuple[str, dict[str, dict[str, Any]]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(seats) for _, seats in self.slots)


def day_plans(session: Session, rt: Runtime, first: date, days: int = 2) -> list[DayPlan]:
    """The booked visits of `days` days from `first`, seated at desks (see the module's docstring)."""
    timezone = rt.settings.office.timezone
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(first + timedelta(days=days), time(), zone)
    rows = session.exec(
        select(Appointment, Submission)
        .join(Submission, col(Submission.id) == col(Appointment.submission_id))
        .where(
            Appointment.office == rt.office,
            Appointment.state == AppointmentState.BOOKED,
            col(Appointment.start) >= start,
            col(Appointment.start) < end,
        )
        .order_by(col(Appointment.start), col(Appointment.overflow), col(Appointment.id))
    ).all()
    regular = [str(number) for number in range(1, rt.settings.appointments.desks + 1)]
    plans = {
        first + timedelta(days=offset): DayPlan(first + timedelta(days=offset), "", list(regular))
        for offset in range(days)
    }
    for offset, plan in enumerate(plans.values()):
        plan.title = f"{'Azi' if offset == 0 else 'Mâine' if offset == 1 else ''} {long_date(plan.day)}".strip()
    for appointment, submission in rows:
        begins = local(appointment.start, timezone)
        plan = plans[begins.date()]
        at = f"{begins:%H:%M}"
        if not plan.slots or plan.slots[-1][0] != at:
            plan.slots.append((at, {}))
        seats = plan.slots[-1][1]
        free = [desk for desk in regular if desk not in seats]
        desk = free[0] if free and not appointment.overflow else EXTRA_DESK
        if desk == EXTRA_DESK and EXTRA_DESK in seats:
            desk = f"{EXTRA_DESK} {sum(key.startswith(EXTRA_DESK) for key in seats) + 1}"
        if desk.startswith(EXTRA_DESK) and desk not in plan.desks:
            plan.desks.append(desk)
        seats[desk] = {
            "case_id": submission.id,
            "registration": registration_label(submission, timezone) or None,
            "name": submission.sender_name or submission.sender or "—",
            "purpose_ro": labels.label(appointment.purpose, "scop"),
            "end": f"{local(appointment.end, timezone):%H:%M}",
            "reasons": appointment.reasons,
        }
    return list(plans.values())
