"""Appointments of a case: which visit the case calls for, booking it, rescheduling or cancelling it (the
beneficiary's link or staff), and reminding (the working day before).

Where a case stands (procedure 000, section a, steps 7 and 8), decided on the case as a whole (the first message
and every follow-up) and kept on its first message:

  clarification  a finding the beneficiary must settle is open: a clarification visit no later than the 5th
                 working day after the calendar day the case's first message was received (step 7);
  pending        complete, nothing for the beneficiary to settle: the file waits in the "de verificat" queue for
                 a clerk's cross-checks (step 8 books the visit for a file complete *and correct*); no visit yet;
  confirmed      a clerk confirmed the file (one audited action), or nobody raised any finding for
                 `appointments.decision_auto_confirm_days` working days: the step-8 visit is booked (identity and,
                 for a request that ends with one, the decision).

Transitions, and what the beneficiary receives (every change of a booked visit raises its ICS SEQUENCE):

  new case → clarification       the recipisă carries the visit and its invite (REQUEST)
  new case → pending             the recipisă says the file is being verified and the invitation will follow
  pending → confirmed            "invitation" e-mail, invite REQUEST (SEQUENCE 0)
  pending → clarification        a finding (a follow-up, or staff): the visit and why, invite REQUEST
  confirmed → clarification      the decision visit becomes a clarification visit within the deadline (same UID,
                                 higher SEQUENCE), saying which visit it replaces
  clarification → clarification  a staff finding beside the open ones: the same visit with the new reason,
                                 updated invite (higher SEQUENCE)
  clarification → pending        the last finding is gone: the clarification visit is cancelled (invite CANCEL,
                                 higher SEQUENCE) and the beneficiary told the file is being verified

A change decided while processing a follow-up is told by that follow-up's recipisă (one e-mail, not two); a
change decided by staff or by the automatic confirmation gets its own e-mail ("clarification", "verification",
"invitation").

A clarification whose deadline has already passed when the finding appears (a late staff cross-check, a late
follow-up) is booked at the earliest possible slot; ops get an alert and staff a staff-only finding. When the
deadline has not passed but no place is left before it, nothing is booked: staff get a finding, ops an alert,
and the sender is told we will call.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from intake import texts
from intake.alerts import raise_alert, resolve_alert
from intake.appointments.booking import CLARIFICATION, DECISION, BookingChoice, Slot
from intake.appointments.case import (
    NO_CHANGE,
    TOLD_BY_RECEIPT,
    Change,
    active_appointment,
    booker_for,
    calendar_for,
    case_root,
    citizen_findings,
    held_for_staff,
    request_of,
    verification_of,
    verification_state,
)
from intake.appointments.ics import build_invite
from intake.appointments.notices import (
    Previous,
    build_appointment_update,
    invite_data,
    moment_in_words,
    no_slot_paragraph,
)
from intake.appointments.text import (
    AppointmentText,
    appointment_text,
    correspondent,
    manage_token,
    notice_for,
    pending_text,
)
from intake.case_file import case_findings
from intake.case_link import status_url
from intake.clock import local
from intake.db import transaction
from intake.models import (
    Appointment,
    AppointmentState,
    CaseVerification,
    Document,
    Event,
    Finding,
    Submission,
    VerificationState,
)
from intake.outbox import enqueue
from intake.receipts import compose
from intake.records import add_finding
from intake.registry import registration_label
from intake.runtime import Runtime
from intake.validation.id_card import INFORMATIONAL_CODES

log = logging.getLogger(__name__)

AUTO = "intake"  # the actor of what intake decides by itself (the automatic confirmation, re-assessment)

NO_SLOT_RO = (
    "Nu a fost găsit niciun loc liber pentru programare în termenul legal; un funcționar vă va contacta "
    "pentru stabilirea programării."
)
NO_DECISION_SLOT_RO = (
    "Dosarul este confirmat, dar nu există niciun loc liber pentru vizita de la pasul 8 în orizontul de "
    "programare: stabiliți ziua și ora cu beneficiarul."
)
DEADLINE_MISSED_RO = (
    "Constatarea a apărut după termenul legal de clarificare ({deadline}); programarea de clarificare a fost "
    "făcută la primul loc liber: {when}."
)
DOCUMENTS_AFTER_CONFIRMATION_RO = (
    "Beneficiarul a trimis documente după confirmarea dosarului: verificați-le înainte de vizita programată."
)


class CaseStateError(Exception):
    """An action the case's step does not allow; `key` names the reason (the web layer words it)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# --- the request: who comes, and whether the visit hands over a decision --------------------------------------


# --- what a change was, for the e-mail that tells it ------------------------------------------------------------


# --- the `book` stage and the decisions of staff ---------------------------------------------------------------


def book(rt: Runtime, session: Session, submission: Submission) -> None:
    """The `book` stage: the case gets the visit its step calls for. The recipisă that follows tells the
    beneficiary about it; if none will be sent for this message (reply not allowed), an e-mail does."""
    root = case_root(session, submission)
    file_changed = submission.id != root.id and _brings_documents(session, submission)
    held = _automatic_booking_held(rt, session, submission, root)
    if held:
        return  # nothing booked, nothing changed: staff book by hand (the findings say why)
    change = reconcile(rt, session, submission, book_missing_visit=True, file_changed=file_changed)
    if change.kind == "booked" and change.appointment is not None:
        change.appointment.automatic = True  # counts towards `max_automatic_per_hour`
        session.add(change.appointment)
    _note_documents_after_confirmation(rt, session, root, submission)
    if submission.reply_allowed:
        _record_for_receipt(rt, session, root, submission, change)
    else:
        tell(rt, session, root, change)


# --- the gate of automatic bookings (issue 10, point 14) ----------------------------------------------------------
#
# Forged mail must not use up the office's visits: ~400 messages fill the 5-working-day window and the genuine
# citizen after them gets none. So a sender whose From failed authentication, or who is over the per-sender reply
# cap, books nothing (a message with no Authentication-Results of ours is "none" and books as before), and the
# pipeline books at most `appointments.max_automatic_per_hour` visits in any 60 minutes: past that, ops get one
# alert and each case waits for a clerk (a staff-only finding), its sender told that we will call.

CEILING_ALERT = ("booking_ceiling", "automatic bookings")


def _automatic_booking_held(rt: Runtime, session: Session, submission: Submission, root: Submission) -> bool:
    """Whether this message's case would get a new visit now and must not: then the reason is recorded."""
    if not _would_book(session, root):
        return False
    if submission.authentication == "fail":
        return True  # its staff-only finding (`sender_unauthenticated`) says that no visit was booked
    if submission.reply_capped:
        limits = rt.settings.limits
        message = texts.part(
            "expeditor",
            "programare_limita_expeditor",
            limita=limits.reply_cap_per_sender,
            ore=limits.reply_cap_window_hours,
        )
        add_finding(session, rt, root, "appointment_held", message, detail={"reason": "reply_cap"}, staff_only=True)
        return True
    ceiling = rt.settings.appointments.max_automatic_per_hour
    booked = _automatic_bookings_last_hour(rt, session)
    if booked < ceiling:
        resolve_alert(session, rt, *CEILING_ALERT, f"Automatic bookings are back under {ceiling} an hour.")
        return False
    message = texts.part("expeditor", "programare_plafon", plafon=ceiling)
    add_finding(session, rt, root, "appointment_held", message, detail={"reason": "ceiling"}, staff_only=True)
    raise_alert(
        session,
        rt,
        *CEILING_ALERT,
        f"{booked} visits were booked automatically within the last hour (ceiling "
        f"appointments.max_automatic_per_hour = {ceiling}): further cases wait for staff to book them. A flood of "
        "forged mail? Look at the senders in the queue before raising the ceiling.",
    )
    return True


def _would_book(session: Session, root: Submission) -> bool:
    """What `reconcile` books a new visit for: a case without one that needs a clarification, or a confirmed case
    whose visit was cancelled. Moving or changing an existing visit is no new booking."""
    if active_appointment(session, root.id or 0) is not None:
        return False
    if citizen_findings(session, root):
        return True
    verification = verification_of(session, root)
    return verification is not None and verification.state == VerificationState.CONFIRMED


def _automatic_bookings_last_hour(rt: Runtime, session: Session) -> int:
    since = rt.clock.now() - timedelta(hours=1)
    count = session.exec(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.office == rt.office, col(Appointment.automatic).is_(True), col(Appointment.created_at) > since
        )
    ).one()
    return int(count)


def after_staff_change(rt: Runtime, session: Session, submission: Submission) -> Change:
    """A clerk added, cleared or settled a finding: the visit follows, and the beneficiary gets an e-mail that says
    why (the findings) with the updated invite. A visit the beneficiary cancelled is not booked again here."""
    root = case_root(session, submission)
    change = reconcile(rt, session, submission, book_missing_visit=False)
    tell(rt, session, root, change)
    return change


def book_by_staff(rt: Runtime, session: Session, submission: Submission) -> Appointment | None:
    """Staff's "book" button: the visit the case's step calls for, told by e-mail. A pending case is confirmed
    instead (its visit needs the clerk's confirmation), so this refuses one."""
    root = case_root(session, submission)
    if active_appointment(session, root.id or 0) is not None:
        raise CaseStateError("programare_existenta")
    verification = verification_of(session, root)
    if not citizen_findings(session, root) and (verification is None or verification.state != "confirmed"):
        raise CaseStateError("de_verificat")
    change = reconcile(rt, session, submission, book_missing_visit=True)
    tell(rt, session, root, change)
    return active_appointment(session, root.id or 0)


def reconcile(
    rt: Runtime, session: Session, submission: Submission, *, book_missing_visit: bool, file_changed: bool = False
) -> Change:
    """Bring the case to the step its findings call for (see the module docstring); return what changed.

    `book_missing_visit`: a confirmed case without a visit (the beneficiary cancelled it) gets one again; only
    when the beneficiary wrote again or staff ask for it. `file_changed`: a follow-up brought documents, so a
    pending verification starts again."""
    root = case_root(session, submission)
    findings = citizen_findings(session, root)
    current = active_appointment(session, root.id or 0)
    verification = verification_of(session, root)
    if findings:
        return _call_for_clarification(rt, session, root, current, verification, findings)
    if verification is not None and verification.state == VerificationState.CONFIRMED:
        if current is None and book_missing_visit:
            return _book_decision(rt, session, root)
        return NO_CHANGE
    return _await_verification(rt, session, root, current, verification, file_changed=file_changed)


def confirm(rt: Runtime, session: Session, submission: Submission, actor: str) -> Appointment | None:
    """A clerk (or the automatic confirmation) confirms a complete case: the step-8 visit is booked and the
    beneficiary invited. The case's open staff-only findings are what the clerk confirms with it, so they close.
    Returns the visit, or None when no place was free (staff get a finding, ops an alert)."""
    root = case_root(session, submission)
    verification = verification_of(session, root)
    if citizen_findings(session, root):
        raise CaseStateError("constatari_deschise")
    if verification is None or verification.state != VerificationState.PENDING:
        raise CaseStateError("nu_e_de_verificat")
    now = rt.clock.now()
    closed = []
    for finding in case_findings(session, root, staff=True):
        # Everything only staff were asked to look at, the notes about the booking included (a missed deadline,
        # documents after an earlier confirmation): confirming the file is having looked at it.
        if finding.staff_only:
            finding.cleared_at = now
            finding.cleared_by = actor
            session.add(finding)
            closed.append(finding.code)
    verification.state = VerificationState.CONFIRMED
    verification.decided_at = now
    verification.decided_by = actor
    session.add(verification)
    session.add(
        Event(submission_id=root.id, at=now, actor=actor, action="verification_confirmed", detail={"closed": closed})
    )
    current = active_appointment(session, root.id or 0)
    if current is not None and current.purpose == DECISION:
        return current  # booked before confirmations existed: it stands
    change = _book_decision(rt, session, root)
    tell(rt, session, root, change)
    return change.appointment


def auto_confirm(rt: Runtime) -> int:
    """Confirm every case pending for `decision_auto_confirm_days` working days with no finding at all (staff-only
    ones included: an open question for staff is exactly what a clerk must settle; not a mere note such as an
    identity card not checked automatically, which the decision visit checks in person). 0 = off."""
    days = rt.settings.appointments.decision_auto_confirm_days
    if days <= 0:
        return 0
    calendar = calendar_for(rt)
    today = local(rt.clock.now(), rt.settings.office.timezone).date()
    confirmed = 0
    with transaction(rt.engine) as session:
        pending = session.exec(
            select(CaseVerification).where(
                CaseVerification.office == rt.office, CaseVerification.state == VerificationState.PENDING
            )
        ).all()
        for verification in pending:
            since = local(verification.pending_since, rt.settings.office.timezone).date()
            if calendar.add_working_days(since, days) > today:
                continue
            root = session.get_one(Submission, verification.submission_id)
            if any(f.code not in INFORMATIONAL_CODES for f in case_findings(session, root, staff=True)):
                continue
            confirm(rt, session, root, AUTO)
            confirmed += 1
    return confirmed


# --- the transitions -----------------------------------------------------------------------------------------


def _call_for_clarification(
    rt: Runtime,
    session: Session,
    root: Submission,
    current: Appointment | None,
    verification: CaseVerification | None,
    findings: list[Finding],
) -> Change:
    now = rt.clock.now()
    if verification is not None and verification.state != VerificationState.REOPENED:
        session.add(
            Event(
                submission_id=root.id,
                at=now,
                action="verification_reopened",
                detail={"was": verification.state, "codes": [f.code for f in findings]},
            )
        )
        verification.state = VerificationState.REOPENED
        session.add(verification)
    reasons = list(dict.fromkeys(finding.message for finding in findings))
    if current is not None and current.purpose == CLARIFICATION:
        if current.reasons == reasons:
            return NO_CHANGE
        _change(rt, session, current, reasons=reasons)
        return Change("reasons", current)
    choice, late = _find_clarification(rt, session, root, exclude=current.id if current else None)
    if choice is None:
        return _no_slot(rt, session, root, current)
    _clear_booking_findings(rt, session, root, "appointment_unavailable")
    deadline = calendar_for(rt).deadline_end(root.received_at)
    if current is not None:
        previous = Previous(current.purpose, current.start)
        _change(rt, session, current, purpose=CLARIFICATION, slot=choice.slot, reasons=reasons, deadline=deadline)
        current.overflow = choice.overflow
        appointment, change = current, Change("moved", current, previous)
        if choice.overflow and not late:
            _alert_overflow(rt, session, root, choice)
    else:
        appointment = _create(rt, session, root, CLARIFICATION, choice, reasons=reasons, deadline=deadline)
        change = Change("booked", appointment)
    if late:
        _tell_late(rt, session, root, appointment)
    return change


def _await_verification(
    rt: Runtime,
    session: Session,
    root: Submission,
    current: Appointment | None,
    verification: CaseVerification | None,
    *,
    file_changed: bool,
) -> Change:
    now = rt.clock.now()
    was = verification.state if verification is not None else None
    if verification is None:
        verification = CaseVerification(office=root.office, submission_id=root.id or 0, pending_since=now)
    elif verification.state == VerificationState.REOPENED or file_changed:
        # Back from a clarification, or a follow-up changed the file: the clerk's checks (and the automatic
        # confirmation's count) start again from now.
        verification.pending_since = now
    verification.state = VerificationState.PENDING
    verification.decided_at = verification.decided_by = None
    session.add(verification)
    if was != VerificationState.PENDING:
        session.add(Event(submission_id=root.id, at=now, action="verification_pending", detail={"was": was}))
    _clear_booking_findings(rt, session, root, "appointment_unavailable")
    if current is not None and current.purpose == DECISION:
        # Booked before the verification step existed (or by staff): it stands, the case counts as confirmed.
        verification.state = VerificationState.CONFIRMED
        verification.decided_by = verification.decided_by or AUTO
        return NO_CHANGE
    if current is not None:
        previous = Previous(current.purpose, current.start)
        current.state = AppointmentState.CANCELLED
        current.sequence += 1
        current.updated_at = now
        session.add(current)
        session.add(
            Event(
                submission_id=root.id,
                at=now,
                action="appointment_cancelled",
                detail={"why": "no finding left: the file is being verified", "start": current.start.isoformat()},
            )
        )
        return Change("cancelled", current, previous)
    return Change("pending") if was == VerificationState.REOPENED else NO_CHANGE


def _book_decision(rt: Runtime, session: Session, root: Submission) -> Change:
    choice = booker_for(rt).find(session, purpose=DECISION, now=rt.clock.now())
    if choice is None:
        add_finding(session, rt, root, "appointment_unavailable", NO_DECISION_SLOT_RO, staff_only=True)
        raise_alert(
            session,
            rt,
            "booking_impossible",
            f"submission {root.id}",
            f"No decision slot within {rt.settings.appointments.decision_horizon_working_days} working days for "
            f"confirmed case {root.id}: staff must arrange it.",
        )
        return NO_CHANGE
    _clear_booking_findings(rt, session, root, "appointment_unavailable")
    return Change("booked", _create(rt, session, root, DECISION, choice, reasons=[], deadline=None))


def _find_clarification(
    rt: Runtime, session: Session, root: Submission, *, exclude: int | None
) -> tuple[BookingChoice | None, bool]:
    """The clarification slot, and whether it is late. Within the deadline when the deadline can still be kept;
    once it has passed (no working day left before it), the earliest possible slot within another
    `deadline_working_days` working days."""
    booker = booker_for(rt)
    now = rt.clock.now()
    choice = booker.find(
        session, purpose=CLARIFICATION, now=now, received_at=root.received_at, exclude_appointment_id=exclude
    )
    if choice is not None:
        return choice, False
    deadline = booker.calendar.clarification_deadline(root.received_at)
    if booker.calendar.earliest_booking_start(now).date() <= deadline:
        return None, False  # the deadline can be kept but no place is left: never book past it silently
    today = local(now, rt.settings.office.timezone).date()
    last_day = booker.calendar.add_working_days(today, rt.settings.appointments.deadline_working_days)
    late = booker.find(
        session,
        purpose=CLARIFICATION,
        now=now,
        received_at=root.received_at,
        exclude_appointment_id=exclude,
        last_day=last_day,
    )
    return late, late is not None


def _tell_late(rt: Runtime, session: Session, root: Submission, appointment: Appointment) -> None:
    timezone = rt.settings.office.timezone
    deadline = calendar_for(rt).clarification_deadline(root.received_at)
    message = DEADLINE_MISSED_RO.format(
        deadline=f"{deadline:%d.%m.%Y}", when=f"{local(appointment.start, timezone):%d.%m.%Y %H:%M}"
    )
    add_finding(session, rt, root, "deadline_missed", message, staff_only=True)
    raise_alert(
        session,
        rt,
        "clarification_late",
        f"submission {root.id}",
        f"A finding on case {root.id} came after its clarification deadline ({deadline:%d.%m.%Y}); booked at the "
        f"earliest possible slot, {local(appointment.start, timezone):%d.%m.%Y %H:%M}.",
    )


def _note_documents_after_confirmation(rt: Runtime, session: Session, root: Submission, submission: Submission) -> None:
    """A follow-up with documents after the clerk confirmed the file: the visit stands, staff look at them."""
    if submission.id == root.id:
        return
    verification = verification_of(session, root)
    if verification is None or verification.state != VerificationState.CONFIRMED:
        return
    if _brings_documents(session, submission):
        add_finding(
            session, rt, submission, "documents_after_confirmation", DOCUMENTS_AFTER_CONFIRMATION_RO, staff_only=True
        )


def _brings_documents(session: Session, submission: Submission) -> bool:
    accepted = select(Document.id).where(Document.submission_id == submission.id, col(Document.accepted).is_(True))
    return session.exec(accepted).first() is not None


# --- booking mechanics ------------------------------------------------------------------------------------------


def _create(
    rt: Runtime,
    session: Session,
    root: Submission,
    purpose: str,
    choice: BookingChoice,
    *,
    reasons: list[str],
    deadline: datetime | None,
) -> Appointment:
    now = rt.clock.now()
    appointment = Appointment(
        office=rt.office,
        submission_id=root.id or 0,
        purpose=purpose,
        start=choice.slot.start,
        end=choice.slot.end,
        overflow=choice.overflow,
        deadline=deadline,
        uid=f"intake-{rt.office.lower()}-{root.id}-{secrets.token_hex(4)}@{_domain(rt)}",
        reasons=reasons,
        created_at=now,
        updated_at=now,
    )
    session.add(appointment)
    session.flush()
    _clear_booking_findings(rt, session, root, "appointment_held")  # booked at last (by staff or the pipeline)
    session.add(
        Event(
            submission_id=root.id,
            at=now,
            action="appointment_booked",
            detail={
                "purpose": purpose,
                "start": choice.slot.start.isoformat(),
                "overflow": choice.overflow,
                "short_notice": choice.short_notice,
            },
        )
    )
    if choice.overflow and purpose == CLARIFICATION and not _is_late(appointment):
        _alert_overflow(rt, session, root, choice)
    return appointment


def _alert_overflow(rt: Runtime, session: Session, root: Submission, choice: BookingChoice) -> None:
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


def _is_late(appointment: Appointment) -> bool:
    return appointment.deadline is not None and appointment.start > appointment.deadline


def _change(
    rt: Runtime,
    session: Session,
    appointment: Appointment,
    *,
    purpose: str | None = None,
    slot: Slot | None = None,
    reasons: list[str] | None = None,
    deadline: datetime | None = None,
) -> None:
    before = {"purpose": appointment.purpose, "start": appointment.start.isoformat()}
    if purpose is not None:
        appointment.purpose = purpose
        appointment.deadline = deadline if purpose == CLARIFICATION else None
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


def _no_slot(rt: Runtime, session: Session, root: Submission, current: Appointment | None) -> Change:
    """Never book past the legal deadline silently: tell staff and ops, and tell the sender we will call."""
    if not any(f.code == "appointment_unavailable" and not f.staff_only for f in case_findings(session, root)):
        add_finding(session, rt, root, "appointment_unavailable", NO_SLOT_RO, detail={"purpose": CLARIFICATION})
    raise_alert(
        session,
        rt,
        "booking_impossible",
        f"submission {root.id}",
        f"No clarification slot (regular or overflow) before the deadline for case {root.id}: staff must arrange it.",
    )
    previous = None
    if current is not None:
        previous = Previous(current.purpose, current.start)
        current.state = AppointmentState.SUPERSEDED
        current.sequence += 1
        current.updated_at = rt.clock.now()
        session.add(current)
    return Change("no_slot", current, previous)


def _clear_booking_findings(rt: Runtime, session: Session, root: Submission, code: str) -> None:
    for finding in case_findings(session, root, staff=True):
        if finding.code == code:
            finding.cleared_at = rt.clock.now()
            finding.cleared_by = AUTO
            session.add(finding)


# --- telling the beneficiary -------------------------------------------------------------------------------------


def _record_for_receipt(
    rt: Runtime, session: Session, root: Submission, submission: Submission, change: Change
) -> None:
    if change.kind == "none":
        return
    detail: dict[str, object] = {"by": submission.id, "kind": change.kind}
    if change.appointment is not None:
        detail["appointment"] = change.appointment.id
    if change.previous is not None:
        detail["previous"] = {"purpose": change.previous.purpose, "start": change.previous.start.isoformat()}
    session.add(Event(submission_id=root.id, at=rt.clock.now(), action=TOLD_BY_RECEIPT, detail=detail))


def tell(rt: Runtime, session: Session, root: Submission, change: Change) -> None:
    """The e-mail of a change decided outside the pipeline (staff, the automatic confirmation)."""
    appointment = change.appointment
    if change.kind == "none":
        return
    if change.kind in ("booked", "moved", "reasons") and appointment is not None:
        kind = "clarification" if appointment.purpose == CLARIFICATION else "invitation"
        _send(rt, session, root, kind, appointment, previous=change.previous, replaces=change.kind == "reasons")
    elif change.kind == "cancelled" and appointment is not None:
        _send(rt, session, root, "verification", appointment, previous=change.previous, pending=pending_text(rt, root))
    elif change.kind == "pending":
        _send(rt, session, root, "verification", None, pending=pending_text(rt, root))
    elif change.kind == "no_slot":
        deadline = calendar_for(rt).clarification_deadline(root.received_at)
        _send(
            rt,
            session,
            root,
            "clarification",
            appointment,
            previous=change.previous,
            pending=no_slot_paragraph(deadline, rt.settings.office.name, rt.settings.office.short_name),
            reasons=[f.message for f in citizen_findings(session, root)],
        )


# --- changes by the beneficiary (the link) or by staff ------------------------------------------------------


def free_slots(rt: Runtime, session: Session, appointment: Appointment) -> list[Slot]:
    """Where the visit may move (the link and the staff page alike): a clarification never past its legal
    deadline; one booked late (the deadline had passed) never later than the day it was booked for."""
    root = session.get_one(Submission, appointment.submission_id)
    last_day = None
    if appointment.purpose == CLARIFICATION and _is_late(appointment):
        last_day = local(appointment.start, rt.settings.office.timezone).date()
    return booker_for(rt).free_slots(
        session,
        purpose=appointment.purpose,
        now=rt.clock.now(),
        received_at=root.received_at,
        exclude_appointment_id=appointment.id,
        last_day=last_day,
    )


def reschedule(rt: Runtime, session: Session, appointment: Appointment, start: datetime, actor: str) -> None:
    """Move to another free slot of the allowed window; the beneficiary gets an updated invite."""
    root = session.get_one(Submission, appointment.submission_id)
    slot = next((s for s in free_slots(rt, session, appointment) if s.start == start), None)
    if slot is None:
        raise ValueError("that slot is not free or not allowed")
    _change(rt, session, appointment, slot=slot)
    session.add(Event(submission_id=root.id, at=rt.clock.now(), actor=actor, action="appointment_rescheduled"))
    _notify(rt, session, appointment, root, "rescheduled")


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
    """The reminder, move and cancellation e-mails."""
    _send(rt, session, root, kind, appointment)


def _send(
    rt: Runtime,
    session: Session,
    root: Submission,
    kind: str,
    appointment: Appointment | None,
    *,
    previous: Previous | None = None,
    pending: str | None = None,
    reasons: list[str] | None = None,
    replaces: bool = False,
) -> None:
    """One e-mail about the case's visit, with the invite: CANCEL when the visit was cancelled or superseded."""
    if not root.sender or not root.reply_allowed:
        return
    who = correspondent(rt, root.sender, status_url(rt, session, root))
    registration = registration_label(root, rt.settings.office.timezone)
    notice = invite = None
    if appointment is not None:
        notice = notice_for(rt, appointment, root)
        method = "REQUEST" if appointment.state == AppointmentState.BOOKED else "CANCEL"
        invite = build_invite(
            invite_data(notice, who, uid=appointment.uid, sequence=appointment.sequence, registration=registration),
            method=method,
            stamp=rt.clock.now(),
        )
        if method == "CANCEL" and kind != "cancelled":
            notice = None  # the text says what was cancelled (`previous`); the visit itself is not shown again
        tag = f"{kind}.{appointment.id}.{appointment.sequence}"
    else:
        tag = f"{kind}.case-{root.id}.{secrets.token_hex(4)}"
    message = build_appointment_update(
        who,
        notice=notice,
        invite=invite,
        kind=kind,
        registration=registration,
        message_id=compose.make_message_id(
            tag, rt.office, root.id or 0, rt.settings.smtp.from_address, secret=rt.link_secret
        ),
        now=rt.clock.now(),
        in_reply_to=root.message_id,
        references=tuple(root.references),
        previous=previous,
        pending=pending,
        reasons=tuple(reasons or ()),
        replaces_invite=replaces,
    )
    enqueue(session, rt, root, kind=f"appointment_{kind}", message=message)


def _domain(rt: Runtime) -> str:
    return rt.settings.smtp.from_address.rpartition("@")[2] or "intake.invalid"


__all__ = [
    "AUTO",
    "AppointmentText",
    "CaseStateError",
    "Change",
    "active_appointment",
    "after_staff_change",
    "appointment_text",
    "auto_confirm",
    "book",
    "book_by_staff",
    "booker_for",
    "calendar_for",
    "cancel",
    "case_root",
    "citizen_findings",
    "confirm",
    "free_slots",
    "held_for_staff",
    "manage_token",
    "moment_in_words",
    "notice_for",
    "reconcile",
    "request_of",
    "reschedule",
    "send_reminders",
    "tell",
    "verification_of",
    "verification_state",
]
