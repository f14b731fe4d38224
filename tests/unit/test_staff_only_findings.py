"""Contract (contract.md, JSON shapes): a finding that only asks staff to confirm something carries
`"staff_only": true` and neither flags the submission nor books a clarification; it never reaches the citizen.

Real SQLite and a real signing key made at test time; the pipeline's own stages (`register`, `book`,
`receipt`, `assess`) run on submissions inserted directly. The clock is fixed on Monday 23 November 2026,
10:00 in Cluj, so there are free slots for both kinds of visit.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from pypdf import PdfReader
from sqlmodel import Session, col, select

from intake.appointments import service
from intake.clock import Clock
from intake.db import transaction
from intake.models import Finding, OutboxMessage, Receipt, Submission, SubmissionState
from intake.receipts.keys import generate_ca_and_leaf_pkcs12
from intake.records import add_finding, open_findings, staff_findings
from intake.runtime import Runtime
from intake.settings import SigningSettings
from intake.stages import assess, receipt, register, run_in_session
from intake.views import submission_view
from tests.unit import runtimes

CLUJ = ZoneInfo("Europe/Bucharest")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CLUJ)
RECEIVED = datetime(2026, 11, 23, 9, 14, tzinfo=CLUJ)
KEY_PASSWORD = "parolă-de-test"

# The kind of thing only a clerk settles: the citizen is not called in over it and never reads it.
STAFF_CODE = "benefit_category_unstated"
STAFF_MESSAGE = "Formularul nu precizează categoria de beneficiar: confirmați din evidența ITM."
CITIZEN_MESSAGE = "Lipsește actul de identitate."
STAFF_CHECK_MESSAGE = "Verificați dacă adeverința de vechime din dosarul pe hârtie este cea mai recentă."


def squeeze(text: str) -> str:
    """PDF text extraction drops or adds spaces at will: compare without any."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pkcs12, _ca = generate_ca_and_leaf_pkcs12(tmp_path_factory.mktemp("pki"), KEY_PASSWORD)
    return pkcs12


@pytest.fixture
def rt(tmp_path: Path, signing_key: Path) -> Runtime:
    return runtimes.make_runtime(
        tmp_path,
        clock=Clock(fixed=NOW.astimezone(UTC)),
        signing=SigningSettings(pkcs12_path=signing_key, pkcs12_password=SecretStr(KEY_PASSWORD)),
    )


@pytest.fixture
def session(rt: Runtime) -> Iterator[Session]:
    with transaction(rt.engine) as open_session:
        yield open_session


def new_submission(session: Session, *, subject: str = "Cerere indemnizație de șomaj", **extra: object) -> Submission:
    """A message past the `assess` stage: screened, answerable, with consent, not registered yet."""
    fields: dict[str, object] = {
        "text_body": "Bună ziua,\nvă trimit cererea.\n",
        "request_type": "unemployment_benefit",
        "consent": True,
        **extra,
    }
    submission = Submission(
        office="CJ",
        sha256=hashlib.sha256(subject.encode()).hexdigest(),
        size=2048,
        message_id=f"<{hashlib.sha256(subject.encode()).hexdigest()[:16]}@example.ro>",
        received_at=RECEIVED.astimezone(UTC),
        claimed_at=RECEIVED.astimezone(UTC),
        state=SubmissionState.RECEIVED,
        sender="ion.popescu@example.ro",
        sender_name="Ion Popescu",
        subject=subject,
        category="submission",
        reply_allowed=True,
        **fields,  # type: ignore[arg-type]
    )
    session.add(submission)
    session.flush()
    return submission


def register_book_and_receipt(rt: Runtime, session: Session, submission: Submission) -> None:
    """The last three stages of the pipeline, in its order."""
    run_in_session(rt, session, register, submission)
    service.book(rt, session, submission)
    run_in_session(rt, session, receipt, submission)
    session.flush()


def recipisa_text(rt: Runtime, session: Session, submission: Submission) -> str:
    receipt = session.exec(select(Receipt).where(Receipt.submission_id == submission.id)).one()
    pdf = rt.store.get(receipt.pdf_sha256)
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def reply_text(session: Session, submission: Submission) -> str:
    outbox = session.exec(
        select(OutboxMessage).where(OutboxMessage.submission_id == submission.id, OutboxMessage.kind == "receipt")
    ).one()
    message = BytesParser(policy=policy.default).parsebytes(outbox.raw)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def purpose_of_visit(session: Session, submission: Submission) -> str:
    appointment = service.active_appointment(session, submission.id or 0)
    assert appointment is not None
    return appointment.purpose


# --- the rule --------------------------------------------------------------------------------------------


def test_contract_staff_only_finding_does_not_flag_the_submission(rt: Runtime, session: Session) -> None:
    submission = new_submission(session)
    finding = add_finding(session, rt, submission, STAFF_CODE, STAFF_MESSAGE, staff_only=True)
    session.flush()
    assert finding.staff_only and finding.cleared_at is None
    assert submission.flagged is False
    assert open_findings(session, submission) == []  # nothing concerns the citizen
    assert [f.id for f in staff_findings(session, submission)] == [finding.id]  # staff still see it
    register_book_and_receipt(rt, session, submission)
    assert submission.flagged is False  # the receipt stage recomputes the flag: still false


def test_contract_staff_only_finding_sends_the_case_to_verification_not_a_clarification(
    rt: Runtime, session: Session
) -> None:
    # Issue 9 point 9: a complete case waits for a clerk (who settles the staff-only finding) before its decision
    # visit; it is not called to a clarification.
    submission = new_submission(session)
    add_finding(session, rt, submission, STAFF_CODE, STAFF_MESSAGE, staff_only=True)
    register_book_and_receipt(rt, session, submission)
    assert service.active_appointment(session, submission.id or 0) is None
    assert service.verification_state(session, submission) == "pending"


def test_contract_staff_only_finding_is_left_out_of_the_recipisa_and_the_reply(rt: Runtime, session: Session) -> None:
    submission = new_submission(session)
    add_finding(session, rt, submission, STAFF_CODE, STAFF_MESSAGE, staff_only=True)
    register_book_and_receipt(rt, session, submission)
    recipisa = squeeze(recipisa_text(rt, session, submission))
    assert squeeze("categoria de beneficiar") not in recipisa
    assert "Constatări" not in recipisa  # no findings section at all
    reply = reply_text(session, submission)
    assert "categoria de beneficiar" not in reply and "evidența ITM" not in reply


def test_contract_staff_only_finding_is_in_show_json_with_staff_only_true(rt: Runtime, session: Session) -> None:
    submission = new_submission(session)
    add_finding(session, rt, submission, STAFF_CODE, STAFF_MESSAGE, staff_only=True)
    register_book_and_receipt(rt, session, submission)
    view = submission_view(session, rt, submission)
    assert view["flagged"] is False
    assert view["findings"] == [{"code": STAFF_CODE, "message": STAFF_MESSAGE, "staff_only": True}]
    assert view["appointment"] is None and view["verification"] == "pending"


# --- the control: the same finding for the citizen --------------------------------------------------------


def test_contract_the_same_finding_without_staff_only_flags_and_books_a_clarification(
    rt: Runtime, session: Session
) -> None:
    submission = new_submission(session)
    add_finding(session, rt, submission, STAFF_CODE, STAFF_MESSAGE)
    assert submission.flagged is True
    register_book_and_receipt(rt, session, submission)
    assert submission.flagged is True
    assert purpose_of_visit(session, submission) == "clarification"
    assert squeeze("categoria de beneficiar") in squeeze(recipisa_text(rt, session, submission))
    assert STAFF_MESSAGE in reply_text(session, submission)
    view = submission_view(session, rt, submission)
    assert view["flagged"] is True
    assert view["findings"] == [{"code": STAFF_CODE, "message": STAFF_MESSAGE, "staff_only": False}]


def test_contract_staff_only_finding_beside_a_citizen_finding_stays_with_staff(rt: Runtime, session: Session) -> None:
    submission = new_submission(session)
    add_finding(session, rt, submission, STAFF_CODE, STAFF_MESSAGE, staff_only=True)
    add_finding(session, rt, submission, "missing_document", CITIZEN_MESSAGE, detail={"kind": "id_document"})
    register_book_and_receipt(rt, session, submission)
    assert submission.flagged is True  # the citizen finding flags, as before
    appointment = service.active_appointment(session, submission.id or 0)
    assert appointment is not None and appointment.purpose == "clarification"
    assert appointment.reasons == [CITIZEN_MESSAGE]
    recipisa = squeeze(recipisa_text(rt, session, submission))
    assert squeeze(CITIZEN_MESSAGE) in recipisa and squeeze("categoria de beneficiar") not in recipisa
    reply = reply_text(session, submission)
    assert CITIZEN_MESSAGE in reply and STAFF_MESSAGE not in reply
    view = submission_view(session, rt, submission)
    assert [(f["code"], f["staff_only"]) for f in view["findings"]] == [
        (STAFF_CODE, True),
        ("missing_document", False),
    ]


# --- a case that continues ---------------------------------------------------------------------------------


def test_staff_only_finding_survives_reassessment_and_does_not_flag_the_case(rt: Runtime, session: Session) -> None:
    """A follow-up brings the consent: the case's first message is no longer flagged, yet the staff-only
    finding stays open until a clerk confirms it (a citizen's e-mail cannot settle it)."""
    root = new_submission(session, consent=False)
    add_finding(session, rt, root, "consent_missing", "Lipsește acordul.")
    # A code the `assess` stage owns and clears on re-assessment: the staff-only finding is kept all the same.
    staff = add_finding(session, rt, root, "missing_document", STAFF_CHECK_MESSAGE, staff_only=True)
    run_in_session(rt, session, register, root)
    session.flush()
    assert root.flagged is True
    follow_up = new_submission(
        session,
        subject="Re: Cerere indemnizație de șomaj",
        case_id=root.id,
        text_body="Sunt de acord cu derularea procedurii prin intermediul poștei electronice.\n",
        consent=None,
    )
    run_in_session(rt, session, assess, follow_up)
    session.flush()
    assert follow_up.consent is True
    assert root.flagged is False  # only the staff-only finding is left on the first message
    assert staff.cleared_at is None
    # Recording the same staff-only finding again (a stage run again) does not make the clerk confirm it twice.
    again = add_finding(session, rt, root, "missing_document", STAFF_CHECK_MESSAGE, staff_only=True)
    session.flush()
    assert again.id == staff.id
    open_staff = session.exec(
        select(Finding).where(Finding.submission_id == root.id, col(Finding.cleared_at).is_(None))
    ).all()
    assert [(f.code, f.staff_only) for f in open_staff] == [("missing_document", True)]
