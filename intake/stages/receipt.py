"""The `receipt` stage: render and sign the recipisă, queue the reply that carries it.

What the recipisă says is read in the snapshot; rendering and signing (with the timestamping call) are prepared
outside the lock; the record stores the receipt and queues the reply, together with the move to RECEIPTED."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from sqlmodel import Session

from intake.appointments.notices import attach_invite
from intake.appointments.text import AppointmentText, appointment_text
from intake.case_file import case_documents, case_findings, case_messages
from intake.case_link import status_url
from intake.models import Document, Receipt, Submission, SubmissionState
from intake.outbox import enqueue
from intake.receipts import compose, evidence, wording
from intake.receipts.render import CaseDocumentLine, ReceiptData, ReceiptDocument, render_receipt
from intake.records import documents_of
from intake.registry import registration_label
from intake.runtime import Runtime
from intake.signatures.policy import KIND_NAMES_RO
from intake.stages.assess import possibly_needed_documents
from intake.stages.replies import correspondent, original


@dataclass(frozen=True)
class Reply:
    """What the reply that carries the recipisă says besides the PDF."""

    correspondent: compose.Correspondent
    original: compose.Original
    message_id: str
    pdf_filename: str
    documents: tuple[compose.DocumentLine, ...]


@dataclass(frozen=True)
class Snapshot:
    data: ReceiptData
    findings: tuple[str, ...]
    appointment: AppointmentText | None
    possibly_needed: tuple[str, ...]
    reply: Reply | None  # None: no automatic reply to this sender (screening decided so)
    proof: evidence.Evidence | None = None  # embedded in the recipisă (PDF/A-3 associated files)


@dataclass(frozen=True)
class Prepared:
    pdf_sha256: str
    flagged: bool
    reply: EmailMessage | None


def snapshot(rt: Runtime, session: Session, submission: Submission) -> Snapshot:
    documents = documents_of(session, submission)
    # Only what concerns the citizen: staff-only findings neither flag nor appear on the recipisă or reply. The
    # file is judged as a whole: a follow-up's recipisă lists what is still wrong anywhere in the case.
    findings = tuple(finding.message for finding in case_findings(session, submission))
    registration = registration_label(submission, rt.settings.office.timezone)
    office = rt.settings.office
    appointment = appointment_text(rt, session, submission, submission.sender or "")
    possibly_needed = tuple(possibly_needed_documents(rt, session, submission))
    data = ReceiptData(
        office_name=office.name,
        office_genitive=office.name_genitive,
        office_address=office.address,
        registration_number=registration,
        registered_at=submission.registered_at or rt.clock.now(),
        received_at=submission.received_at,
        sender=submission.sender or "",
        subject=submission.subject or "",
        documents=tuple(_receipt_document(doc) for doc in documents),
        findings=findings,
        appointment=appointment.paragraph if appointment else None,
        verifying=bool(appointment and appointment.verifying),
        timezone=office.timezone,
        possibly_needed=possibly_needed,
        status_url=status_url(rt, session, submission) if submission.reply_allowed else None,
        **_case_section(rt, session, submission),
    )
    reply = None
    if submission.reply_allowed:
        smtp = rt.settings.smtp
        reply = Reply(
            correspondent=correspondent(rt, session, submission),
            original=original(submission),
            message_id=compose.make_message_id(
                "receipt", submission.office, submission.id or 0, smtp.from_address, secret=rt.link_secret
            ),
            pdf_filename=wording.RECEIPT_FILENAME.format(number=submission.number, year=submission.year),
            documents=tuple(_document_line(doc) for doc in documents),
        )
    proof = evidence.gather(session, submission, documents, registration)
    return Snapshot(data, findings, appointment, possibly_needed, reply, proof)


def prepare(rt: Runtime, snapshot: Snapshot) -> Prepared:
    """Render and sign the recipisă (the signer may call a timestamping service) and compose its reply."""
    # Where the office signs (PDF /Location): each office of a deployment its own address.
    attachments = (
        evidence.associated_files(snapshot.proof, rt.store, embed_max_bytes=rt.settings.archive.embed_max_bytes)
        if snapshot.proof
        else ()
    )
    pdf = rt.signer.sign(
        render_receipt(snapshot.data, attachments),
        location=rt.settings.office.address,
        registration=snapshot.data.registration_number,
        timezone=snapshot.data.timezone,
    )
    flagged = bool(snapshot.findings)
    if snapshot.reply is None:
        return Prepared(rt.store.put(pdf), flagged, None)
    appointment, reply = snapshot.appointment, snapshot.reply
    message = compose.build_receipt_reply(
        reply.correspondent,
        reply.original,
        office_name=snapshot.data.office_name,
        registration=snapshot.data.registration_number,
        documents=list(reply.documents),
        findings=list(snapshot.findings),
        pdf=pdf,
        pdf_filename=reply.pdf_filename,
        message_id=reply.message_id,
        now=rt.clock.now(),
        appointment=appointment.paragraph if appointment else None,
        possibly_needed=list(snapshot.possibly_needed),
    )
    if appointment and appointment.invite:
        attach_invite(message, appointment.invite, appointment.method)  # CANCEL when this message ended the visit
    return Prepared(rt.store.put(pdf), flagged, message)


def record(rt: Runtime, session: Session, submission: Submission, prepared: Prepared) -> None:
    receipt_row = Receipt(submission_id=submission.id, pdf_sha256=prepared.pdf_sha256, created_at=rt.clock.now())
    session.add(receipt_row)
    submission.state = SubmissionState.RECEIPTED
    submission.flagged = prepared.flagged
    if prepared.reply is None:
        return
    outbox = enqueue(session, rt, submission, kind="receipt", message=prepared.reply)
    session.flush()
    receipt_row.outbox_id = outbox.id


def _case_section(rt: Runtime, session: Session, submission: Submission) -> dict[str, object]:
    """A follow-up's recipisă also lists the documents of the whole case, and which later ones replaced earlier
    ones (the file is judged as a whole: `intake.case_file`)."""
    if submission.case_id is None:
        return {}
    case = case_messages(session, submission)
    lines = tuple(
        CaseDocumentLine(
            filename=item.document.filename,
            kind=KIND_NAMES_RO.get(item.document.kind or "other", KIND_NAMES_RO["other"]),
            received_with=registration_label(item.message, rt.settings.office.timezone),
            replaced_by=item.replaced_by.filename if item.replaced_by is not None else None,
        )
        for item in case_documents(session, case)
        if item.document.accepted
    )
    return {"case_registration": registration_label(case[0], rt.settings.office.timezone), "case_documents": lines}


def _pages(document: Document) -> int | None:
    # A page count means something for a PDF; for a picture it would only read oddly.
    return document.pages if document.detected_type == "pdf" else None


def _display_type(document: Document) -> str:
    return (document.detected_type or "necunoscut").upper()


def _receipt_document(document: Document) -> ReceiptDocument:
    return ReceiptDocument(
        filename=document.filename,
        detected_type=_display_type(document),
        pages=_pages(document),
        size=document.size,
        sha256=document.sha256,
        accepted=bool(document.accepted),
        reason=_document_remark(document),
        signature_summary=_signature_summary(document),
        status=compose.document_status(bool(document.accepted), document.code),
    )


def _document_line(document: Document) -> compose.DocumentLine:
    return compose.DocumentLine(
        filename=document.filename,
        detected_type=_display_type(document),
        pages=_pages(document),
        accepted=bool(document.accepted),
        reason=" ".join(part for part in (_document_remark(document), _signature_summary(document)) if part) or None,
        code=document.code,
    )


def _document_remark(document: Document) -> str | None:
    parts = [document.reason] if document.reason else []
    parts.extend(document.notes)
    return " ".join(parts) or None


def _signature_summary(document: Document) -> str | None:
    return (document.signature or {}).get("summary")
