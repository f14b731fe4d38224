"""The `assess` stage: is the file complete and in order (procedure steps 4, 7 and 8)?

It decides the request type, looks for the beneficiary's consent to the e-mail procedure, checks the
documents against the checklist of that request type and their legibility, and records every problem as a
finding. A follow-up (a reply to our message) is assessed together with the case it continues: documents
and consent from every message of the case count, and findings that no longer hold are cleared.
"""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import Session, col, select

from intake.models import Document, Finding, Submission
from intake.records import add_finding, documents_of, open_findings
from intake.runtime import Runtime
from intake.validation import checklist, consent, legibility

# Findings this stage owns: re-assessing a case clears them first, then adds what still holds.
ASSESSMENT_CODES = ("consent_missing", "missing_document", "request_type_unknown", "illegible")

CONSENT_MISSING_RO = (
    "Mesajul nu conține acordul dumneavoastră privind derularea procedurii prin poștă electronică. "
    "Vă rugăm să răspundeți la acest mesaj cu textul: „Sunt de acord cu derularea procedurii prin "
    "intermediul poștei electronice.”"
)
REQUEST_TYPE_UNKNOWN_RO = (
    "Nu am putut stabili ce solicitați (de exemplu indemnizație de șomaj sau înregistrare ca persoană în "
    "căutarea unui loc de muncă). Vă rugăm să precizați solicitarea în răspunsul la acest mesaj."
)


@lru_cache(maxsize=1)
def _checklists() -> dict[str, checklist.RequestType]:
    return checklist.load_checklists()


def assess(rt: Runtime, session: Session, submission: Submission) -> None:
    case = case_messages(session, submission)
    documents = [doc for message in case for doc in documents_of(session, message)]
    accepted = [doc for doc in documents if doc.accepted]
    _clear_previous_assessment(session, rt, case)

    given = [consent.detect_consent(message.text_body or "") for message in case]
    submission.consent = any(result.given for result in given)
    if not submission.consent:
        add_finding(session, rt, submission, "consent_missing", CONSENT_MISSING_RO)

    kinds = [doc.kind for doc in accepted]
    subjects = " ".join(message.subject or "" for message in case)
    bodies = "\n".join(message.text_body or "" for message in case)
    detection = checklist.detect_request_type(subjects, bodies, kinds, _checklists())
    submission.request_type = detection.code
    if detection.code is None:
        add_finding(
            session, rt, submission, "request_type_unknown", REQUEST_TYPE_UNKNOWN_RO,
            detail={"candidates": list(detection.candidates), "evidence": detection.evidence},
        )
    else:
        for required in checklist.missing_documents(_checklists()[detection.code], kinds):
            add_finding(
                session, rt, submission, "missing_document", f"Lipsește {required.label}.",
                detail={"kind": required.kind},
            )
    for doc in documents:
        if doc.submission_id == submission.id:
            _check_legibility(rt, session, submission, doc)
    _propagate_to_case(session, submission, case)


def case_messages(session: Session, submission: Submission) -> list[Submission]:
    """The messages of the case this submission belongs to, oldest first (just itself if it starts one)."""
    root_id = submission.case_id or submission.id
    rows = session.exec(
        select(Submission)
        .where((Submission.id == root_id) | (Submission.case_id == root_id))
        .order_by(col(Submission.received_at), col(Submission.id))
    ).all()
    messages = [row for row in rows if row.id == submission.id or row.number is not None]
    return messages if submission in messages else [*messages, submission]


def _check_legibility(rt: Runtime, session: Session, submission: Submission, doc: Document) -> None:
    if not doc.accepted:
        return
    data = rt.store.get(doc.sha256)
    if doc.detected_type in ("jpeg", "png"):
        issues = legibility.assess_image(doc.filename, data)
    elif doc.detected_type == "pdf":
        issues = legibility.assess_pdf(doc.filename, data)
    else:
        issues = []
    for issue in issues:
        add_finding(session, rt, submission, issue.code, issue.message, document_id=doc.id)


def _clear_previous_assessment(session: Session, rt: Runtime, case: list[Submission]) -> None:
    """A later message may complete the file: what an earlier assessment found no longer stands as such."""
    ids = [message.id for message in case if message.id is not None]
    findings = session.exec(
        select(Finding).where(
            col(Finding.submission_id).in_(ids),
            col(Finding.code).in_(ASSESSMENT_CODES),
            col(Finding.cleared_at).is_(None),
            # A staff-only finding waits for a clerk's confirmation: a later message does not settle it.
            col(Finding.staff_only).is_(False),
        )
    ).all()
    for finding in findings:
        if finding.code == "illegible":
            continue  # legibility is a property of a document, not of the case
        finding.cleared_at = rt.clock.now()
        session.add(finding)


def _propagate_to_case(session: Session, submission: Submission, case: list[Submission]) -> None:
    """The first message of the case shows the current state of the whole file."""
    root = case[0]
    if root.id == submission.id:
        return
    root.request_type = submission.request_type
    root.consent = submission.consent
    # Only what the citizen must clarify flags the case; staff-only findings never do (contract.md).
    root.flagged = bool(open_findings(session, root))
    session.add(root)
