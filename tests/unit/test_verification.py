"""The case's steps before the office visit (intake/appointments/service.py): clarification, pending
verification, confirmed; the automatic confirmation; what each change tells the beneficiary.

Real SQLite; submissions inserted directly (registered, answerable). The clock is fixed per test. February 2027 has
no public holiday; 30 November and 1 December 2026 are holidays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import Session, col, select

from intake.appointments import service
from intake.clock import Clock
from intake.db import transaction
from intake.models import Appointment, AppointmentState, Finding, OutboxMessage, Submission, SubmissionState
from intake.records import add_finding
from intake.runtime import Runtime
from intake.settings import AppointmentsSettings
from intake.validation.checklist import load_checklists
from tests.unit import runtimes

CLUJ = ZoneInfo("Europe/Bucharest")
MONDAY = datetime(2027, 2, 8, 10, 0, tzinfo=CLUJ)


def make_rt(tmp_path: Path, now: datetime, **appointments: Any) -> Runtime:
    return runtimes.make_runtime(
        tmp_path, clock=Clock(fixed=now.astimezone(UTC)), appointments=AppointmentsSettings(**appointments)
    )


def at(rt: Runtime, now: datetime) -> Runtime:
    """The same database and settings, another instant."""
    return Runtime(settings=rt.settings, engine=rt.engine, store=rt.store, clock=Clock(fixed=now.astimezone(UTC)))


def new_case(
    session: Session,
    *,
    received: datetime = MONDAY,
    request_type: str = "jobseeker_registration",
    number: int = 1,
    case_id: int | None = None,
) -> Submission:
    key = f"{number}-{received.isoformat()}"
    submission = Submission(
        office="CJ",
        sha256=hashlib.sha256(key.encode()).hexdigest(),
        size=1000,
        message_id=f"<{number}@example.ro>",
        received_at=received.astimezone(UTC),
        claimed_at=received.astimezone(UTC),
        state=SubmissionState.REGISTERED,
        sender="ion.popescu@example.ro",
        subject="Cerere",
        category="submission",
        reply_allowed=True,
        number=number,
        year=received.year,
        registered_at=received.astimezone(UTC),
        request_type=request_type,
        consent=True,
        case_id=case_id,
    )
    session.add(submission)
    session.flush()
    return submission


def mails(session: Session, root: Submission) -> list[tuple[str, EmailMessage]]:
    rows = session.exec(
        select(OutboxMessage).where(OutboxMessage.submission_id == root.id).order_by(col(OutboxMessage.id))
    ).all()
    out = []
    for row in rows:
        message = BytesParser(policy=policy.default).parsebytes(row.raw)
        assert isinstance(message, EmailMessage)
        out.append((row.kind, message))
    return out


def invite_of(message: EmailMessage) -> tuple[str, Any] | None:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            calendar = Calendar.from_ical(part.get_payload(decode=True))
            return str(calendar["METHOD"]), calendar.walk("VEVENT")[0]
    return None


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    return make_rt(tmp_path, MONDAY)


@pytest.fixture
def session(rt: Runtime) -> Iterator[Session]:
    with transaction(rt.engine) as open_session:
        yield open_session


# --- the book stage ---------------------------------------------------------------------------------------------


def test_the_book_stage_sends_a_complete_case_to_verification_and_a_flagged_one_to_clarification(
    rt: Runtime, session: Session
) -> None:
    complete = new_case(session)
    service.book(rt, session, complete)
    assert service.active_appointment(session, complete.id or 0) is None
    assert service.verification_state(session, complete) == "pending"
    text = service.appointment_text(rt, session, complete, "ion.popescu@example.ro")
    assert text is not None and text.invite is None and "se află acum în verificare" in text.paragraph
    # Control: a finding for the citizen books the clarification visit.
    flagged = new_case(session, number=2)
    add_finding(session, rt, flagged, "consent_missing", "Lipsește acordul.")
    service.book(rt, session, flagged)
    appointment = service.active_appointment(session, flagged.id or 0)
    assert appointment is not None and appointment.purpose == "clarification"
    assert service.verification_state(session, flagged) is None


def test_a_follow_up_that_settles_the_last_finding_is_told_by_its_recipisa_with_a_cancel(
    rt: Runtime, session: Session
) -> None:
    root = new_case(session)
    finding = add_finding(session, rt, root, "consent_missing", "Lipsește acordul.")
    service.book(rt, session, root)
    booked = service.active_appointment(session, root.id or 0)
    assert booked is not None
    finding.cleared_at = rt.clock.now()  # what re-assessing the case does when the follow-up brings the consent
    session.add(finding)
    follow_up = new_case(session, number=2, case_id=root.id)
    service.book(rt, session, follow_up)
    session.refresh(booked)
    assert booked.state == AppointmentState.CANCELLED and booked.sequence == 1
    assert mails(session, root) == []  # the follow-up's recipisă tells it: one e-mail, not two
    text = service.appointment_text(rt, session, follow_up, "ion.popescu@example.ro")
    assert text is not None and text.method == "CANCEL" and text.invite is not None
    assert text.paragraph.startswith("Programarea din marți, 9 februarie 2027, la ora 12:00 (ora României)")
    assert b"SEQUENCE:1" in text.invite and booked.uid.encode() in text.invite.replace(b"\r\n ", b"")
    # The first message's own recipisă (already sent) is not rewritten: only the follow-up carries the change.
    first = service.appointment_text(rt, session, root, "ion.popescu@example.ro")
    assert first is not None and first.method == "REQUEST" and first.invite is None


# --- the automatic confirmation -------------------------------------------------------------------------------


def test_auto_confirmation_counts_working_days_from_when_the_file_became_complete(tmp_path: Path) -> None:
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=CLUJ)  # then 30 Nov and 1 Dec are holidays
    rt = make_rt(tmp_path, friday, decision_auto_confirm_days=2)
    with transaction(rt.engine) as session:
        case = new_case(session, received=friday)
        service.book(rt, session, case)
    for day in (datetime(2026, 11, 30, 10, 0, tzinfo=CLUJ), datetime(2026, 12, 2, 10, 0, tzinfo=CLUJ)):
        assert service.auto_confirm(at(rt, day)) == 0  # Monday (a holiday), Wednesday: one working day
    assert service.auto_confirm(at(rt, datetime(2026, 12, 3, 8, 0, tzinfo=CLUJ))) == 1  # Thursday: two
    with transaction(rt.engine) as session:
        case = session.get_one(Submission, case.id)
        assert service.verification_state(session, case) == "confirmed"
        appointment = service.active_appointment(session, case.id or 0)
        assert appointment is not None and appointment.purpose == "decision"
        [(kind, message)] = mails(session, case)
        assert kind == "appointment_invitation" and invite_of(message)[0] == "REQUEST"  # type: ignore[index]
    assert service.auto_confirm(at(rt, datetime(2026, 12, 10, 8, 0, tzinfo=CLUJ))) == 0  # once


def test_auto_confirmation_waits_while_a_staff_only_finding_is_open(tmp_path: Path) -> None:
    rt = make_rt(tmp_path, MONDAY, decision_auto_confirm_days=1)
    with transaction(rt.engine) as session:
        case = new_case(session)
        add_finding(session, rt, case, "benefit_category_unstated", "Categoria nu este precizată.", staff_only=True)
        service.book(rt, session, case)
    assert service.auto_confirm(at(rt, datetime(2027, 2, 15, 10, 0, tzinfo=CLUJ))) == 0
    with transaction(rt.engine) as session:
        assert service.verification_state(session, session.get_one(Submission, case.id)) == "pending"


def test_auto_confirmation_is_off_by_default(rt: Runtime, session: Session) -> None:
    case = new_case(session)
    service.book(rt, session, case)
    session.commit()
    assert service.auto_confirm(at(rt, datetime(2027, 6, 1, 10, 0, tzinfo=CLUJ))) == 0


# --- the confirmation -----------------------------------------------------------------------------------------


def test_confirm_refuses_a_case_that_is_not_waiting(rt: Runtime, session: Session) -> None:
    case = new_case(session)
    with pytest.raises(service.CaseStateError, match="nu_e_de_verificat"):
        service.confirm(rt, session, case, "ana")  # never assessed
    service.book(rt, session, case)
    assert service.confirm(rt, session, case, "ana") is not None
    with pytest.raises(service.CaseStateError, match="nu_e_de_verificat"):
        service.confirm(rt, session, case, "ana")  # already confirmed


def test_an_employer_is_invited_through_its_representative(rt: Runtime, session: Session) -> None:
    employer = next(code for code, kind in load_checklists().items() if kind.applicant == "legal_person")
    case = new_case(session, request_type=employer)
    service.book(rt, session, case)
    pending = service.appointment_text(rt, session, case, "firma@example.ro")
    assert pending is not None and "reprezentantul legal al angajatorului" in pending.paragraph
    service.confirm(rt, session, case, "ana")
    [(_kind, message)] = mails(session, case)
    text = text_of(message)
    assert "Vă rugăm ca reprezentantul legal al angajatorului sau un împuternicit al acestuia să se prezinte" in text
    assert "împuternicirea" in text
    assert "vă va fi înmânată" not in text and "Vă rugăm să vă prezentați" not in text


def test_a_benefit_request_is_promised_its_decision_a_registration_is_not(rt: Runtime, session: Session) -> None:
    benefit = new_case(session, request_type="unemployment_benefit")
    registration = new_case(session, number=2)
    for case in (benefit, registration):
        service.book(rt, session, case)
        service.confirm(rt, session, case, "ana")
    benefit_text = text_of(mails(session, benefit)[0][1])
    registration_text = text_of(mails(session, registration)[0][1])
    assert "înmânarea deciziei privind soluționarea cererii" in benefit_text
    assert "decizia vă va fi înmânată personal" in benefit_text
    assert "decizi" not in registration_text.lower()


# --- staff findings: deadline, late, no place -----------------------------------------------------------------


ONE_SLOT = {day: ["09:00-09:15"] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}


def fill(session: Session, days: tuple[int, ...]) -> None:
    """Another case's visits, taking the only place of each of these February 2027 days."""
    other = new_case(session, number=99, received=datetime(2027, 2, 1, 10, 0, tzinfo=CLUJ))
    for day in days:
        start = datetime(2027, 2, day, 9, 0, tzinfo=CLUJ)
        session.add(
            Appointment(
                office="CJ",
                submission_id=other.id or 0,
                purpose="clarification",
                start=start,
                end=start.replace(minute=15),
                uid=f"other-{day}",
                created_at=MONDAY,
                updated_at=MONDAY,
            )
        )
    session.flush()


def test_a_staff_finding_with_no_place_before_the_deadline_says_why_and_that_we_will_call(tmp_path: Path) -> None:
    rt = make_rt(tmp_path, MONDAY, hours=ONE_SLOT, desks=1, clarification_reserved_desks=0, overflow_desks=0)
    with transaction(rt.engine) as session:
        case = new_case(session)
        service.book(rt, session, case)
        fill(session, (9, 10, 11, 12, 15))  # every place until the deadline, Monday 15
        add_finding(session, rt, case, "identity_mismatch", "CNP-ul diferă de cel din evidență.")
        change = service.after_staff_change(rt, session, case)
        assert change.kind == "no_slot" and service.active_appointment(session, case.id or 0) is None
        [(kind, message)] = mails(session, case)
        assert kind == "appointment_clarification" and invite_of(message) is None
        assert "CNP-ul diferă de cel din evidență." in text_of(message) and "vă va contacta" in text_of(message)
        codes = {f.code for f in session.exec(select(Finding).where(Finding.submission_id == case.id)).all()}
        assert "appointment_unavailable" in codes


def test_control_a_confirmed_case_moves_its_decision_visit_into_the_clarification(tmp_path: Path) -> None:
    rt = make_rt(
        tmp_path,
        MONDAY,
        hours=ONE_SLOT,
        desks=1,
        clarification_reserved_desks=0,
        overflow_desks=0,
        next_day_not_before="",
    )
    with transaction(rt.engine) as session:
        case = new_case(session)
        service.book(rt, session, case)
        decision = service.confirm(rt, session, case, "ana")  # takes Tuesday's only place
        assert decision is not None and decision.start.astimezone(CLUJ).day == 9
        fill(session, (10, 11, 12, 15))
        add_finding(session, rt, case, "identity_mismatch", "CNP-ul diferă de cel din evidență.")
        change = service.after_staff_change(rt, session, case)
        assert change.kind == "moved" and change.appointment is decision  # its own place is free for it
        assert decision.purpose == "clarification" and decision.sequence == 1
        kinds = [kind for kind, _message in mails(session, case)]
        assert kinds == ["appointment_invitation", "appointment_clarification"]
