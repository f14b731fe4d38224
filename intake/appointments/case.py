"""Where a case's visit stands: read-only look-ups shared by the booking decisions (`service`) and by what the
recipisă and the e-mails say about the visit (`text`), so that neither reaches into the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlmodel import Session, col, select

from intake.appointments import wording
from intake.appointments.booking import Booker
from intake.appointments.calendar import OfficeCalendar
from intake.appointments.notices import Previous
from intake.case_file import case_findings
from intake.models import (
    Appointment,
    AppointmentState,
    CaseVerification,
    Event,
    Finding,
    Submission,
    VerificationState,
)
from intake.runtime import Runtime

# Findings about the booking itself: they are ours, not the beneficiary's, so they never decide the case's step.
BOOKING_CODES = frozenset(
    {"appointment_unavailable", "appointment_held", "deadline_missed", "documents_after_confirmation"}
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


def verification_of(session: Session, root: Submission) -> CaseVerification | None:
    return session.exec(select(CaseVerification).where(CaseVerification.submission_id == root.id)).first()


def verification_state(session: Session, submission: Submission) -> str | None:
    """The contract's `verification`: "pending" while a complete case waits for a clerk, "confirmed" once the
    decision visit may be booked, None otherwise (a clarification, or not assessed yet)."""
    verification = verification_of(session, case_root(session, submission))
    if verification is None or verification.state == VerificationState.REOPENED:
        return None
    return verification.state


def citizen_findings(session: Session, root: Submission) -> list[Finding]:
    """The open findings of the whole case that the beneficiary must settle: what calls for a clarification."""
    return [finding for finding in case_findings(session, root) if finding.code not in BOOKING_CODES]


@dataclass(frozen=True)
class Request:
    applicant: str = wording.NATURAL_PERSON
    decision: bool = True
    name: str | None = None


@lru_cache(maxsize=1)
def _request_types() -> dict[str, Request]:
    from intake.validation.checklist import default_checklists

    return {
        code: Request(applicant=kind.applicant, decision=kind.decision, name=kind.name)
        for code, kind in default_checklists().items()
    }


def request_of(root: Submission) -> Request:
    """Unknown type: the natural person and the decision wording, the common case (the type is asked for anyway)."""
    return _request_types().get(root.request_type or "", Request())


@dataclass(frozen=True)
class Change:
    """What happened to the case's visit.

    kind: "none"; "booked" (a new visit); "moved" (the visit changed purpose and time, `previous` says from what);
    "reasons" (same visit, new reasons); "cancelled" (the clarification visit is no longer needed); "pending"
    (back to verification with no visit to cancel); "no_slot" (nothing could be booked before the deadline).
    """

    kind: str
    appointment: Appointment | None = None
    previous: Previous | None = None


NO_CHANGE = Change("none")


def held_for_staff(session: Session, root: Submission) -> bool:
    """The ceiling stopped this case's automatic booking: its sender is told that a clerk will call."""
    return any(
        finding.code == "appointment_held" and (finding.detail or {}).get("reason") == "ceiling"
        for finding in case_findings(session, root, staff=True)
    )


# The change a follow-up's book stage made, kept for the recipisă that follows it (its own transaction).
TOLD_BY_RECEIPT = "visit_change"


def change_for_receipt(session: Session, root: Submission, submission: Submission) -> Change:
    events = session.exec(
        select(Event)
        .where(Event.submission_id == root.id, Event.action == TOLD_BY_RECEIPT)
        .order_by(col(Event.id).desc())
    ).all()
    for event in events:
        detail = event.detail or {}
        if detail.get("by") != submission.id:
            continue
        appointment = session.get(Appointment, detail["appointment"]) if detail.get("appointment") else None
        previous = None
        if isinstance(detail.get("previous"), dict):
            before = detail["previous"]
            previous = Previous(str(before["purpose"]), datetime.fromisoformat(str(before["start"])))
        return Change(str(detail.get("kind")), appointment, previous)
    return NO_CHANGE
