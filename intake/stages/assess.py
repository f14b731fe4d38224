"""The `assess` stage: is the file complete and in order (procedure steps 4, 7 and 8)?

It decides the request type, looks for the beneficiary's consent to the e-mail procedure, checks the
documents against the checklist of that request type and their legibility, and records every problem as a
finding. A follow-up (a reply to our message) is assessed together with the case it continues: documents
and consent from every message of the case count, a document sent later replaces the earlier one of the same
kind (`intake.case_file`), the signature rule of 001 Art. 5(5) applies to the case's current documents
(`intake.signatures.case_rule`), and findings that no longer hold are cleared. A finding a clerk has settled is
not raised again by a later e-mail about the same document.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from intake import case_file, texts
from intake.case_file import case_messages
from intake.models import Document, Event, Finding, Submission
from intake.records import add_finding, documents_of, staff_findings
from intake.runtime import Runtime
from intake.signatures import case_rule
from intake.validation import category as category_reader
from intake.validation import checklist, consent, legibility, representation, territory
from intake.validation.documents import read_form

__all__ = ["case_messages", "judge_again_if_case_grew", "possibly_needed_documents", "prepare", "record", "snapshot"]

log = logging.getLogger(__name__)

STAGE = "assess"
CASE_SEEN = "assessed_case_ids"  # in the `stage:assess` event detail: the messages the judgement counted

# Findings this stage owns: re-assessing a case clears them first, then adds what still holds.
ASSESSMENT_CODES = ("consent_missing", "missing_document", "request_type_unknown", "illegible", *case_rule.CODES)
MACHINE = "intake"  # `Finding.cleared_by` of what re-assessment clears (a clerk's name otherwise)


def _checklists() -> Mapping[str, checklist.RequestType]:
    return checklist.default_checklists()


@dataclass(frozen=True)
class Issue:
    document_id: int
    code: str
    message: str


def snapshot(rt: Runtime, session: Session, submission: Submission) -> tuple[Document, ...]:
    """This message's documents (detached copies): their legibility is the slow part, judged outside the lock."""
    return tuple(documents_of(session, submission))


def prepare(rt: Runtime, documents: tuple[Document, ...]) -> list[Issue]:
    return [issue for doc in documents for issue in _legibility(rt, doc)]


def record(
    rt: Runtime, session: Session, submission: Submission, legibility_issues: list[Issue]
) -> dict[str, list[int]]:
    """Judge the case as it stands; returns the messages it judged (kept in the `stage:assess` event), so that
    registration can tell a judgement made before an earlier message of the case got its number."""
    case = case_messages(session, submission)
    files = case_file.case_documents(session, case)
    accepted = [item.document for item in files if item.counts]
    _clear_previous_assessment(session, rt, case)
    _clear_replaced(session, rt, [item.document for item in files if item.replaced_by is not None])

    # The latest e-mail that consents or refuses decides; a refusal of the e-mail procedure is recorded as such.
    decided = consent.detect_case_consent([message.text_body or "" for message in case])
    submission.consent = decided.given
    if not submission.consent:
        add_finding(
            session,
            rt,
            submission,
            "consent_missing",
            consent.missing_message(decided, rt.settings.office.short_name),
            detail=consent.finding_detail(decided),
        )

    kinds = [doc.kind for doc in accepted]
    subjects = " ".join(message.subject or "" for message in case)
    bodies = "\n".join(message.text_body or "" for message in case)
    detection = checklist.detect_request_type(subjects, bodies, kinds, _checklists())
    submission.request_type = detection.code
    if detection.code is None:
        add_finding(
            session,
            rt,
            submission,
            "request_type_unknown",
            texts.render("constatare_request_type_unknown"),
            detail={"candidates": list(detection.candidates), "evidence": detection.evidence},
        )
    else:
        _check_request(rt, session, submission, case, accepted, _checklists()[detection.code])
    _apply_signature_rule(rt, session, submission, case, accepted, detection.code)
    for issue in legibility_issues:
        add_finding(session, rt, submission, issue.code, issue.message, document_id=issue.document_id)
    _propagate_to_case(session, submission, case)
    return {CASE_SEEN: [message.id for message in case if message.id is not None]}


def judge_again_if_case_grew(rt: Runtime, session: Session, submission: Submission) -> bool:
    """Judge the case again if an earlier message of it got its number after this one was assessed.

    Messages are assessed in parallel, but a case counts only its registered messages (`case_messages`): two
    follow-ups of one case in one batch, the later assessed first, would leave the later one judged without the
    earlier one's documents (000 steps 6-8 and 001 Art. 5: the file is judged, not the e-mail). Registration runs
    in order of arrival, so by this one's turn every earlier message of the case has its number; the judgement is
    made again, in the same transaction, from what is stored. Legibility belongs to each document and stands."""
    seen = session.exec(
        select(Event.detail)
        .where(Event.submission_id == submission.id, Event.action == f"stage:{STAGE}")
        .order_by(col(Event.id).desc())
        .limit(1)
    ).first()
    if not seen or CASE_SEEN not in seen:
        return False  # assessed before the judged messages were kept: nothing to compare with
    now = [message.id for message in case_messages(session, submission) if message.id is not None]
    if sorted(now) == sorted(seen[CASE_SEEN]):
        return False
    log.info("submission %s: its case grew since it was assessed; judged again", submission.id)
    record(rt, session, submission, [])
    return True


def _apply_signature_rule(
    rt: Runtime,
    session: Session,
    submission: Submission,
    case: list[Submission],
    current: list[Document],
    request_type: str | None,
) -> None:
    """001 Art. 5(5) on the case's current documents, whichever e-mail brought them."""
    request = _checklists().get(request_type or "")
    required = case_rule.required_kinds(
        checklist.qualified_signature_kinds(request) if request else None, [doc.kind or "" for doc in current]
    )
    case_ids = [message.id for message in case if message.id is not None]
    office_short = rt.settings.office.short_name
    for finding in case_rule.signature_findings(current, required, rt.signature_policy, office_short):
        if _settled_by_staff(session, case_ids, finding.code, finding.document_id):
            continue
        add_finding(
            session,
            rt,
            submission,
            finding.code,
            finding.message,
            document_id=finding.document_id,
            detail=finding.detail,
        )


def _settled_by_staff(session: Session, case_ids: list[int], code: str, document_id: int | None) -> bool:
    """A clerk closed this very finding (same code, same document) after looking at it: a later e-mail of the
    case that changes nothing about that document does not raise it again."""
    return (
        session.exec(
            select(Finding.id).where(
                col(Finding.submission_id).in_(case_ids),
                Finding.code == code,
                Finding.document_id == document_id,
                col(Finding.cleared_at).is_not(None),
                col(Finding.cleared_by).is_not(None),
                Finding.cleared_by != MACHINE,
            )
        ).first()
        is not None
    )


def _clear_replaced(session: Session, rt: Runtime, replaced: list[Document]) -> None:
    """What was found about a document that a later one replaced no longer stands (a clerk's own findings stay)."""
    ids = [doc.id for doc in replaced if doc.id is not None]
    if not ids:
        return
    for finding in session.exec(
        select(Finding).where(col(Finding.document_id).in_(ids), col(Finding.cleared_at).is_(None))
    ).all():
        if "added_by" in (finding.detail or {}):
            continue
        finding.cleared_at = rt.clock.now()
        finding.cleared_by = MACHINE
        session.add(finding)


def _legibility(rt: Runtime, doc: Document) -> list[Issue]:
    if not doc.accepted:
        return []
    data = rt.store.get(doc.sha256)
    if doc.detected_type in ("jpeg", "png"):
        issues = legibility.assess_image(  # an ID card is judged as a card
            doc.filename, data, kind=doc.kind, max_decoded_bytes=rt.settings.limits.max_decoded_image_bytes
        )
    elif doc.detected_type == "pdf":
        issues = legibility.assess_pdf(doc.filename, data)
    else:
        issues = []
    return [Issue(doc.id or 0, issue.code, issue.message) for issue in issues]


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
        if "added_by" in (finding.detail or {}):
            continue  # a clerk's finding stands until a clerk clears it
        finding.cleared_at = rt.clock.now()
        finding.cleared_by = MACHINE
        session.add(finding)


def _propagate_to_case(session: Session, submission: Submission, case: list[Submission]) -> None:
    """The first message of the case shows the current state of the whole file."""
    root = case[0]
    if root.id == submission.id:
        return
    root.request_type = submission.request_type
    root.consent = submission.consent
    # Only what the citizen must clarify flags the case; staff-only findings never do (contract.md).
    root.flagged = bool(case_file.case_findings(session, root))
    session.add(root)


# --------------------------------------------------------------------------------------------------
# The request's documents, category and territory (001 Art. 1, 5(4), 16^1; 003 Art. 48-62)

# The forms that carry the applicant's domicile, most telling first (procedure.md §3.1).
ADDRESS_FORMS = ("application", "registration_form", "declaration")


@dataclass(frozen=True)
class RequestReading:
    """What the case's forms say beyond their kinds: the applicant category, whether a proxy signs for the
    company, where the applicant lives."""

    kinds: tuple[str, ...]
    category: category_reader.CategoryReading
    situations: frozenset[str]
    address: territory.Address
    category_source: int | None = None  # the form the category was read from (the application)
    address_source: int | None = None  # the form most telling of the address


def _check_request(
    rt: Runtime,
    session: Session,
    submission: Submission,
    case: list[Submission],
    current: list[Document],
    request_type: checklist.RequestType,
) -> None:
    """Missing documents (the category's too, once known), then the staff-only questions: the category the forms
    do not tell (never guessed: its documents go on the recipisă as "dacă este cazul"), and a domicile in another
    county."""
    reading = read_request(rt, case, current, request_type)
    for required in checklist.missing_documents(request_type, reading.kinds, **_category_arguments(reading)):
        add_finding(
            session,
            rt,
            submission,
            "missing_document",
            missing_message(required.label),
            detail={"kind": required.kind, "legal_basis": required.legal_basis},
        )
    if request_type.categories and reading.category.read and not reading.category.known:
        _ask_staff(
            session,
            rt,
            submission,
            case,
            "benefit_category_unknown",
            category_reader.staff_message(request_type, reading.category),
            document_id=reading.category_source,
            detail={"candidates": list(reading.category.candidates), "evidence": list(reading.category.evidence)},
        )
    office = rt.settings.office  # competent for its own county (the office code is the county's plate code)
    found = territory.competence(reading.address, office.code, office.short_name)
    if request_type.territorial_check and found:
        _ask_staff(
            session,
            rt,
            submission,
            case,
            "territorial_competence",
            found.message,
            document_id=reading.address_source,
            detail={"county": found.county, "to_check": found.to_check, "evidence": list(reading.address.evidence)},
        )


# Labels that start with a plural noun ("copiile contractelor ...") take a plural verb.
_PLURAL_LABELS = ("copiile ", "documentele ", "actele ", "declarațiile ", "adeverințele ")


def missing_message(label: str) -> str:
    """The finding: "Lipsește cererea ..." / "Lipsesc copiile contractelor ...", the verb agreeing with the label
    (template `constatare_missing_document.txt`)."""
    return texts.render(
        "constatare_missing_document", document=label, plural=label.startswith(_PLURAL_LABELS), temei=None
    )


def _ask_staff(
    session: Session,
    rt: Runtime,
    submission: Submission,
    case: list[Submission],
    code: str,
    message: str,
    *,
    document_id: int | None,
    detail: dict[str, Any],
) -> None:
    """A staff-only question about a form, once per case: re-assessing a follow-up does not ask it again while it
    is open. It is tied to the form it is about, so a later form that replaces it closes it (`_clear_replaced`)."""
    asked = [finding for message_of_case in case for finding in staff_findings(session, message_of_case)]
    if any((f.staff_only, f.code, f.message, f.document_id) == (True, code, message, document_id) for f in asked):
        return
    add_finding(session, rt, submission, code, message, document_id=document_id, detail=detail, staff_only=True)


def read_request(
    rt: Runtime, case: list[Submission], current: list[Document], request_type: checklist.RequestType
) -> RequestReading:
    """Read the case's current forms once for everything the checklist needs beyond the kinds."""
    wanted = set(request_type.category_from) | set(ADDRESS_FORMS if request_type.territorial_check else ())
    if request_type.applicant == "legal_person":
        wanted |= set(request_type.triggering_kinds)
    read = [doc for doc in current if doc.kind in wanted and doc.detected_type == "pdf"]
    forms = [read_form(doc.kind, rt.store.get(doc.sha256), doc.detected_type) for doc in read]
    situations: frozenset[str] = frozenset()
    if request_type.applicant == "legal_person":
        own_words = [consent.split_quoted(message.text_body or "")[0] for message in case]
        situations = representation.situations([*own_words, *(form.text for form in forms)])
    address_forms = sorted(
        (form for form in forms if form.kind in ADDRESS_FORMS), key=lambda form: ADDRESS_FORMS.index(form.kind)
    )
    category_docs = [doc.id for doc in read if doc.kind in request_type.category_from]
    address_docs = sorted((doc for doc in read if doc.kind in ADDRESS_FORMS), key=lambda d: ADDRESS_FORMS.index(d.kind))
    return RequestReading(
        kinds=tuple(doc.kind for doc in current),
        category=category_reader.read_category(request_type, forms),
        situations=situations,
        address=territory.read_address(address_forms),
        category_source=category_docs[0] if category_docs else None,
        address_source=address_docs[0].id if address_docs else None,
    )


def _category_arguments(reading: RequestReading) -> dict[str, Any]:
    known = reading.category.known
    return {
        "categories": reading.category.categories,
        "candidates": () if known else reading.category.candidates,
        "situations": reading.situations,
    }


def possibly_needed_documents(rt: Runtime, session: Session, submission: Submission) -> list[str]:
    """For the recipisă: the labels of the documents the case may still need ("dacă este cazul"), i.e. the
    "după caz" documents and, while the category is not told, the documents of every category still possible,
    each naming its categories. Empty when the request type is not known."""
    case = case_messages(session, submission)
    request_type = _checklists().get(case[0].request_type or submission.request_type or "")
    if request_type is None:
        return []
    current = case_file.current_documents(session, case)
    reading = read_request(rt, case, current, request_type)
    return checklist.possibly_needed(request_type, reading.kinds, **_category_arguments(reading))
