"""Appointments of a case: book (the `book` stage), reschedule or cancel (the beneficiary's link or staff),
and remind (the working day before).

One case has at most one active appointment, held by its first message. A flagged case gets a
clarification appointment no later than the legal deadline counted from the first message's receipt; a
case in order gets a decision appointment. Every change raises the ICS SEQUENCE and drops any reminder
already sent, so the new time gets its own.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from intake.alerts import raise_alert
from intake.appointments.booking import Booker, BookingChoice, Slot
from intake.appointments.calendar import OfficeCalendar
from intake.appointments.ics import build_invite
from intake.appointments.notices import (
    AppointmentNotice,
    appointment_paragraph,
    build_appointment_update,
    invite_data,
    no_slot_paragraph,
)
from intake.appointments.tokens import make_token
from intake.clock import local
from intake.db import transaction
from intake.models import Appointment, AppointmentState, Event, Submission
from intake.outbox import enqueue
from intake.receipts import compose
from intake.records import add_finding, open_findings
from intake.registry import format_registration
from intake.runtime import Runtime

log = logging.getLogger(__name__)

NO_SLOT_RO = (
    "Nu a fost găsit niciun loc liber pentru programare în termenul legal; un funcționar vă va contacta "
    "pentru stabilirea programării."
)


def calendar_for(rt: Runtime) -> OfficeCalendar:
    return OfficeCalendar(rt.settings.appointments, rt.settings.office.timezone)


def booker_for(rt: Runtime) -> Booker:
    return Booker(calendar_for(rt), rt.settings.appointments, rt.office)


def case_root(session: Session, submission: Submission) -> Submission:
    if submission.case_id is None:
        return submission
    return session.get_one(Submission, submission.case_id)


def active_appointment(session: Session, root_id: int) -> Appointment | None:
    return session.exec(
        select(Appointment)
        .where(Appointment.submission_id == root_id, Appointment.state == AppointmentState.BOOKED)
        .order_by(col(Appointment.id).desc())
    ).first()


def book(rt: Runtime, session: Session, submission: Submission) -> None:
    """The `book` stage: make sure the case has the appointment its state calls for."""
    root = case_root(session, submission)
    # open_findings leaves out staff-only findings: a clerk confirms those; they never call the citizen in.
    flagged = bool(open_findings(session, root)) or bool(open_findings(session, submission))
    purpose = "clarification" if flagged else "decision"
    current = active_appointment(session, root.id or 0)
    if current is not None and current.purpose == purpose:
        current.reasons = _reasons(session, root, submission)
        session.add(current)
        return
    if current is not None and purpose == "decision":
        # The file is now in order: the same visit serves to check identity and hand over the decision.
        _change(rt, session, current, purpose="decision", reasons=[])
        return
    booker = booker_for(rt)
    choice = booker.find(
        session,
        purpose=purpose,
        now=rt.clock.now(),
        received_at=root.received_at,
        exclude_appointment_id=current.id if current else None,
    )
    if choice is None:
        _no_slot(rt, session, root, submission, purpose, current)
        return
    if current is not None:
        _change(rt, session, current, purpose=purpose, slot=choice.slot, reasons=_reasons(session, root, submission))
        return
    _create(rt, session, root, submission, purpose, choice)


def _create(
    rt: Runtime, session: Session, root: Submission, submission: Submission, purpose: str, choice: BookingChoice
) -> Appointment:
    now = rt.clock.now()
    deadline = calendar_for(rt).deadline_end(root.received_at) if purpose == "clarification" else None
    appointment = Appointment(
        office=rt.office,
        submission_id=root.id or 0,
        purpose=purpose,
        start=choice.slot.start,
        end=choice.slot.end,
        overflow=choice.overflow,
        deadline=deadline,
        uid=f"intake-{rt.office.lower()}-{root.id}-{secrets.token_hex(4)}@{_domain(rt)}",
        reasons=_reasons(session, root, submission),
        created_at=now,
        updated_at=now,
    )
    session.add(appointment)
    session.flush()
    session.add(
        Event(
            submission_id=root.id,
            at=now,
            action="appointment_booked",
            detail={"purpose": purpose, "start": choice.slot.start.isoformat(), "overflow": choice.overflow},
        )
    )
    if choice.overflow:
        raise_alert(
            session,
            rt,
            "booking_overflow",
            f"submission {root.id}",
            f"Regular capacity was full until the legal deadline; case {root.id} was booked into overflow "
            f"capacity at {local(choice.slot.start, rt.settings.office.timezone):%d.%m.%Y %H:%M}. "
            "Add desks or open extra hours.",
        )
        root.flagged = True
    return appointment


def _change(
    rt: Runtime,
    session: Session,
    appointment: Appointment,
    *,
    purpose: str | None = None,
    slot: Slot | None = None,
    reasons: list[str] | None = None,
) -> None:
    before = {"purpose": appointment.purpose, "start": appointment.start.isoformat()}
    if purpose is not None:
        appointment.purpose = purpose
        if purpose == "decision":
            appointment.deadline = None
    if slot is not None:
        appointment.start, appointment.end = slot.start, slot.end
        appointment.reminder_sent_at = None
    if reasons is not None:
        appointment.reasons = reasons
    appointment.sequence += 1
    appointment.updated_at = rt.clock.now()
    session.add(appointment)
    after = {"purpose": appointment.purpose, "start": appointment.start.isoformat()}
    session.add(
        Event(
            submission_id=appointment.submission_id,
            at=rt.clock.now(),
            action="appointment_changed",
            detail={"before": before, "after": after},
        )
    )


def _no_slot(
    rt: Runtime, session: Session, root: Submission, submission: Submission, purpose: str, current: Appointment | None
) -> None:
    """Never book past the legal deadline silently: tell staff and ops, and tell the sender we will call."""
    add_finding(session, rt, submission, "appointment_unavailable", NO_SLOT_RO, detail={"purpose": purpose})
    raise_alert(
        session,
        rt,
        "booking_impossible",
        f"submission {root.id}",
        f"No {purpose} slot (regular or overflow) before the deadline for case {root.id}: staff must arrange it.",
    )
    if current is not None:
        current.state = AppointmentState.SUPERSEDED
        current.sequence += 1
        session.add(current)


def _reasons(session: Session, root: Submission, submission: Submission) -> list[str]:
    seen: dict[str, None] = {}
    for message in (root, submission):
        for finding in open_findings(session, message):
            seen.setdefault(finding.message, None)
    return list(seen)


# --- what the beneficiary reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentText:
    paragraph: str
    invite: bytes | None


def appointment_text(rt: Runtime, session: Session, submission: Submission, to_address: str) -> AppointmentText | None:
    """The appointment paragraph (and ICS invite) for the recipisă and the reply of this submission's case."""
    root = case_root(session, submission)
    appointment = active_appointment(session, root.id or 0)
    if appointment is None:
        unavailable = any(f.code == "appointment_unavailable" for f in open_findings(session, submission))
        if not unavailable:
            return None
        deadline = calendar_for(rt).clarification_deadline(root.received_at)
        return AppointmentText(no_slot_paragraph(deadline, rt.settings.office.name), None)
    # The recipisă and its e-mail list the findings already; the paragraph need not repeat them.
    notice = notice_for(rt, appointment, with_reasons=False)
    registration = _registration(rt, root)
    invite = build_invite(
        invite_data(
            notice,
            _correspondent(rt, to_address),
            uid=appointment.uid,
            sequence=appointment.sequence,
            registration=registration,
        ),
        method="REQUEST",
        stamp=rt.clock.now(),
    )
    return AppointmentText(appointment_paragraph(notice), invite)


def notice_for(rt: Runtime, appointment: Appointment, *, with_reasons: bool = True) -> AppointmentNotice:
    office = rt.settings.office
    token, until = manage_token(rt, appointment)
    return AppointmentNotice(
        purpose=appointment.purpose,
        start=appointment.start,
        end=appointment.end,
        office_name=office.name,
        office_address=office.address,
        timezone=office.timezone,
        reasons=tuple(appointment.reasons) if with_reasons else (),
        deadline=local(appointment.deadline, office.timezone).date() if appointment.deadline else None,
        manage_url=f"{rt.settings.appointments.public_base_url.rstrip('/')}/programare/{token}",
        overflow=appointment.overflow,
        manage_until=until,
    )


def manage_token(rt: Runtime, appointment: Appointment) -> tuple[str, datetime]:
    """A link valid for `link_validity_days`, never beyond the appointment itself."""
    until = min(rt.clock.now() + timedelta(days=rt.settings.appointments.link_validity_days), appointment.start)
    return make_token(appointment.id or 0, appointment.sequence, until, rt.link_secret), until


# --- changes by the beneficiary (the link) or by staff ------------------------------------------------------


def reschedule(rt: Runtime, session: Session, appointment: Appointment, start: datetime, actor: str) -> None:
    """Move to another free slot of the allowed window; the beneficiary gets an updated invite."""
    root = session.get_one(Submission, appointment.submission_id)
    slots = booker_for(rt).free_slots(
        session,
        purpose=appointment.purpose,
        now=rt.clock.now(),
        received_at=root.received_at,
        exclude_appointment_id=appointment.id,
    )
    slot = next((s for s in slots if s.start == start), None)
    if slot is None:
        raise ValueError("that slot is not free or not allowed")
    _change(rt, session, appointment, slot=slot)
    session.add(Event(submission_id=root.id, at=rt.clock.now(), actor=actor, action="appointment_rescheduled"))
    _notify(rt, session, appointment, root, "rescheduled")


def confirm_in_order(rt: Runtime, session: Session, submission: Submission, actor: str) -> bool:
    """Staff cleared what was wrong: the clarification visit becomes the decision visit (procedure step 8),
    at the same time, and the beneficiary gets the updated invite. True when it changed."""
    root = case_root(session, submission)
    if open_findings(session, root) or open_findings(session, submission):
        return False
    appointment = active_appointment(session, root.id or 0)
    if appointment is None or appointment.purpose != "clarification":
        return False
    _change(rt, session, appointment, purpose="decision", reasons=[])
    session.add(Event(submission_id=root.id, at=rt.clock.now(), actor=actor, action="appointment_now_decision"))
    _notify(rt, session, appointment, root, "rescheduled")
    return True


def cancel(rt: Runtime, session: Session, appointment: Appointment, actor: str) -> None:
    root = session.get_one(Submission, appointment.submission_id)
    appointment.state = AppointmentState.CANCELLED
    appointment.sequence += 1
    appointment.updated_at = rt.clock.now()
    session.add(appointment)
    session.add(Event(submission_id=root.id, at=rt.clock.now(), actor=actor, action="appointment_cancelled"))
    _notify(rt, session, appointment, root, "cancelled")


def send_reminders(rt: Runtime) -> int:
    """Queue a reminder for every appointment on the next working day, from `reminder_hour` the day before."""
    now = rt.clock.now()
    settings = rt.settings
    today = local(now, settings.office.timezone)
    if today.hour < settings.appointments.reminder_hour:
        return 0
    next_day = calendar_for(rt).next_working_day(today.date())
    sent = 0
    with transaction(rt.engine) as session:
        due = session.exec(
            select(Appointment).where(
                Appointment.office == rt.office,
                Appointment.state == AppointmentState.BOOKED,
                col(Appointment.reminder_sent_at).is_(None),
                col(Appointment.start) > now,
            )
        ).all()
        for appointment in due:
            if local(appointment.start, settings.office.timezone).date() > next_day:
                continue
            if local(appointment.updated_at, settings.office.timezone).date() >= today.date():
                continue  # booked or moved today: that e-mail is fresher than a reminder would be
            root = session.get_one(Submission, appointment.submission_id)
            _notify(rt, session, appointment, root, "reminder")
            appointment.reminder_sent_at = now
            session.add(appointment)
            sent += 1
    return sent


def _notify(rt: Runtime, session: Session, appointment: Appointment, root: Submission, kind: str) -> None:
    if not root.sender or not root.reply_allowed:
        return
    who = _correspondent(rt, root.sender)
    notice = notice_for(rt, appointment)
    registration = _registration(rt, root)
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    invite = build_invite(
        invite_data(notice, who, uid=appointment.uid, sequence=appointment.sequence, registration=registration),
        method=method,
        stamp=rt.clock.now(),
    )
    message = build_appointment_update(
        who,
        notice=notice,
        invite=invite,
        kind=kind,
        registration=registration,
        message_id=compose.make_message_id(
            f"{kind}.{appointment.id}.{appointment.sequence}", rt.office, root.id or 0, rt.settings.smtp.from_address
        ),
        now=rt.clock.now(),
        in_reply_to=root.message_id,
        references=tuple(root.references),
    )
    enqueue(session, rt, root, kind=f"appointment_{kind}", message=message)


def _correspondent(rt: Runtime, to_address: str) -> compose.Correspondent:
    smtp = rt.settings.smtp
    return compose.Correspondent(
        from_address=smtp.from_address,
        from_name=smtp.from_name,
        to_address=to_address,
        timezone=rt.settings.office.timezone,
    )


def _registration(rt: Runtime, submission: Submission) -> str:
    if submission.number is None or submission.registered_at is None:
        return ""
    return format_registration(submission.number, local(submission.registered_at, rt.settings.office.timezone))


def _domain(rt: Runtime) -> str:
    return rt.settings.smtp.from_address.rpartition("@")[2] or "intake.invalid"
