"""What the recipisă and the e-mails say about a case's visit: the appointment paragraph, the ICS invite, the
notice and its management link. Shared by the `receipt` stage and the booking decisions (`service`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from intake.appointments.case import (
    Request,
    active_appointment,
    calendar_for,
    case_root,
    change_for_receipt,
    held_for_staff,
    request_of,
    verification_state,
)
from intake.appointments.ics import build_invite
from intake.appointments.notices import (
    AppointmentNotice,
    appointment_paragraph,
    change_preface,
    invite_data,
    no_slot_paragraph,
    pending_paragraph,
)
from intake.appointments.tokens import make_token
from intake.case_file import case_findings
from intake.clock import local
from intake.models import Appointment, Submission, VerificationState
from intake.receipts import compose
from intake.registry import registration_label
from intake.runtime import Runtime


def pending_text(rt: Runtime, root: Submission) -> str:
    request = request_of(root)
    return pending_paragraph(
        rt.settings.office.name, applicant=request.applicant, decision=request.decision, request_name=request.name
    )


@dataclass(frozen=True)
class AppointmentText:
    paragraph: str
    invite: bytes | None
    method: str = "REQUEST"  # of the invite: REQUEST books or updates, CANCEL removes
    verifying: bool = False  # no visit yet: the complete file is being verified (the recipisă's heading says so)


def appointment_text(rt: Runtime, session: Session, submission: Submission, to_address: str) -> AppointmentText | None:
    """The appointment paragraph (and ICS invite) for the recipisă and the reply of this submission's case: the
    visit, or that the complete file is being verified, preceded by what this message's processing changed."""
    root = case_root(session, submission)
    change = change_for_receipt(session, root, submission)
    appointment = active_appointment(session, root.id or 0)
    timezone = rt.settings.office.timezone
    if appointment is None:
        if change.kind == "cancelled" and change.appointment is not None and change.previous is not None:
            preface = change_preface(change.previous, timezone, cancelled=True)
            invite = invite_for(rt, root, change.appointment, to_address, "CANCEL")
            return AppointmentText(f"{preface}\n\n{pending_text(rt, root)}", invite, "CANCEL", verifying=True)
        if verification_state(session, root) == VerificationState.PENDING:
            return AppointmentText(pending_text(rt, root), None, verifying=True)
        unavailable = any(
            f.code == "appointment_unavailable" and not f.staff_only for f in case_findings(session, root)
        )
        if not unavailable and held_for_staff(session, root):
            # Past the hourly ceiling: "we could not book automatically, a clerk will contact you" (no deadline
            # promise: the clerk books within it).
            return AppointmentText(
                no_slot_paragraph(None, rt.settings.office.name, rt.settings.office.short_name), None
            )
        if not unavailable:
            return None
        deadline = calendar_for(rt).clarification_deadline(root.received_at)
        paragraph = no_slot_paragraph(deadline, rt.settings.office.name, rt.settings.office.short_name)
        if change.kind == "no_slot" and change.appointment is not None and change.previous is not None:
            # The visit this message's findings replaced could not be rebooked: its invite is withdrawn.
            preface = change_preface(change.previous, timezone, cancelled=True)
            invite = invite_for(rt, root, change.appointment, to_address, "CANCEL")
            return AppointmentText(f"{preface}\n\n{paragraph}", invite, "CANCEL")
        return AppointmentText(paragraph, None)
    # The recipisă and its e-mail list the findings already; the paragraph need not repeat them.
    paragraph = appointment_paragraph(notice_for(rt, appointment, root, with_reasons=False))
    if change.kind == "moved" and change.previous is not None:
        paragraph = f"{change_preface(change.previous, timezone, cancelled=False)}\n\n{paragraph}"
    return AppointmentText(paragraph, invite_for(rt, root, appointment, to_address, "REQUEST"))


def invite_for(rt: Runtime, root: Submission, appointment: Appointment, to_address: str, method: str) -> bytes:
    notice = notice_for(rt, appointment, root, with_reasons=False)
    data = invite_data(
        notice,
        correspondent(rt, to_address),
        uid=appointment.uid,
        sequence=appointment.sequence,
        registration=registration_label(root, rt.settings.office.timezone),
    )
    return build_invite(data, method=method, stamp=rt.clock.now())


def notice_for(
    rt: Runtime, appointment: Appointment, root: Submission | None = None, *, with_reasons: bool = True
) -> AppointmentNotice:
    office = rt.settings.office
    token, until = manage_token(rt, appointment)
    request = request_of(root) if root is not None else Request()
    return AppointmentNotice(
        purpose=appointment.purpose,
        start=appointment.start,
        end=appointment.end,
        office_name=office.name,
        office_address=office.address,
        office_short=office.short_name,
        timezone=office.timezone,
        reasons=tuple(appointment.reasons) if with_reasons else (),
        deadline=local(appointment.deadline, office.timezone).date() if appointment.deadline else None,
        manage_url=f"{rt.settings.appointments.public_base_url.rstrip('/')}/programare/{token}",
        overflow=appointment.overflow,
        manage_until=until,
        applicant=request.applicant,
        decision=request.decision,
        request_name=request.name,
    )


def manage_token(rt: Runtime, appointment: Appointment) -> tuple[str, datetime]:
    """A link valid for `link_validity_days`, never beyond the appointment itself."""
    until = min(rt.clock.now() + timedelta(days=rt.settings.appointments.link_validity_days), appointment.start)
    return make_token(appointment.id or 0, appointment.sequence, until, rt.link_secret), until


def correspondent(rt: Runtime, to_address: str, status_url: str | None = None) -> compose.Correspondent:
    smtp = rt.settings.smtp
    return compose.Correspondent(
        from_address=smtp.from_address,
        from_name=smtp.from_name,
        to_address=to_address,
        timezone=rt.settings.office.timezone,
        status_url=status_url,
    )
