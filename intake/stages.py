"""The pipeline stages. Each reads what earlier stages stored and stores its own result.

They run inside the transaction opened by the worker (`pipeline.process_pending`), so a stage either happens
completely, together with everything it queues in the outbox, or not at all.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from intake import followups, texts
from intake.appointments.notices import attach_invite
from intake.appointments.service import appointment_text
from intake.assessment import possibly_needed_documents
from intake.case_file import case_documents, case_findings, case_messages
from intake.clock import local
from intake.mailbox.authentication import judge
from intake.mailbox.parse import MAX_DEPTH, ParsedMessage, parse_message
from intake.mailbox.screening import Category, ScreeningContext, cap_key
from intake.mailbox.screening import screen as screen_message
from intake.models import Document, Receipt, Submission, SubmissionState
from intake.outbox import enqueue
from intake.receipts import compose, wording
from intake.receipts.render import CaseDocumentLine, ReceiptData, ReceiptDocument, render_receipt
from intake.records import add_finding, documents_of
from intake.registry import format_registration, next_number
from intake.runtime import Runtime
from intake.signatures.policy import KIND_NAMES_RO
from intake.validation.filetypes import check_attachment, display_name, takes_de

NO_SENDER_REASON = "the message has no usable From address: it cannot be answered"


@lru_cache(maxsize=16)
def _parse_cached(sha256: str, raw: bytes, max_parts: int) -> ParsedMessage:
    return parse_message(raw, max_parts=max_parts)


def parsed_message(rt: Runtime, submission: Submission) -> ParsedMessage:
    return _parse_cached(submission.sha256, rt.store.get(submission.sha256), rt.settings.limits.max_parts)


def parse(rt: Runtime, session: Session, submission: Submission) -> None:
    message = parsed_message(rt, submission)
    submission.message_id = message.message_id
    submission.sender = message.from_address
    submission.sender_name = message.from_name
    submission.subject = message.subject
    submission.in_reply_to = message.in_reply_to
    submission.references = list(message.references)
    submission.text_body = message.text_body
    submission.has_html = message.html_body is not None
    submission.defects = list(message.defects)
    submission.sender_key = cap_key(message.from_address)
    verdict = judge(message.authentication_results, message.from_address, rt.settings.imap.authserv_id)
    submission.authentication = verdict.status
    submission.authentication_evidence = verdict.evidence
    followups.settle(session, rt, submission)  # joins the case it names only with proof; else linked for staff
    # Past the cap nothing is stored one by one: `validate` names what was left out in one finding.
    kept = message.attachments[: rt.settings.limits.max_attachments]
    for position, attachment in enumerate(kept, start=1):
        session.add(
            Document(
                submission_id=submission.id,
                position=position,
                filename=attachment.filename,
                original_filename=attachment.original_filename,
                declared_type=attachment.declared_type,
                origin=attachment.origin,
                sha256=rt.store.put(attachment.data),
                size=len(attachment.data),
            )
        )


def screen(rt: Runtime, session: Session, submission: Submission) -> None:
    message = parsed_message(rt, submission)
    limits = rt.settings.limits
    context = ScreeningContext(
        own_addresses=frozenset({rt.settings.smtp.from_address.lower()}),
        replies_to_sender_recently=_recent_replies(rt, session, submission),
        reply_cap=limits.reply_cap_per_sender,
        authentication=submission.authentication or "none",
        authentication_evidence=submission.authentication_evidence or "",
    )
    result = screen_message(message, context)
    submission.category = result.category
    submission.reply_allowed = result.reply_allowed
    submission.screening_reason = result.reason
    submission.reply_capped = result.capped
    if result.unauthenticated:
        _note_unauthenticated(rt, session, submission)
    if result.category != Category.SUBMISSION:
        submission.state = SubmissionState.IGNORED
        return
    if message.from_address is None:
        submission.state = SubmissionState.QUARANTINED
        submission.quarantine_reason = NO_SENDER_REASON
        return
    if submission.size > limits.max_message_bytes:
        add_finding(
            session,
            rt,
            submission,
            "oversized",
            f"Mesajul are {_megabytes(submission.size)}, peste limita de {_megabytes(limits.max_message_bytes)}.",
        )
    if result.reply_allowed and rt.settings.replies.acknowledgement:
        _queue_acknowledgement(rt, session, submission, message)


def validate(rt: Runtime, session: Session, submission: Submission) -> None:
    limits = rt.settings.limits
    _note_parts_left_out(rt, session, submission)
    for document in documents_of(session, submission):
        if document.position > limits.max_attachments:
            reason = texts.render(
                "constatare_oversized",
                motiv="too_many_attachments",
                fisier=display_name(document.filename),
                maxim=limits.max_attachments,
                de=takes_de(limits.max_attachments),
            )
            _reject(document, "oversized", reason)
        else:
            check = check_attachment(
                document.filename,
                rt.store.get(document.sha256),
                max_bytes=limits.max_attachment_bytes,
                max_pixels=limits.max_image_pixels,
                office_short=rt.settings.office.short_name,
                max_decoded_bytes=limits.max_decoded_image_bytes,
            )
            document.detected_type = check.detected_type
            document.content_type = check.content_type
            document.pages = check.pages
            document.accepted = check.accepted
            document.code = check.code
            document.reason = check.reason
            document.notes = list(check.notes)
        session.add(document)
        if not document.accepted and document.code and document.reason:
            add_finding(session, rt, submission, document.code, document.reason, document_id=document.id)


def _note_parts_left_out(rt: Runtime, session: Session, submission: Submission) -> None:
    """One finding for everything the part caps left out (issue 10, point 3), however many parts that is."""
    message = parsed_message(rt, submission)
    limits = rt.settings.limits
    kept = min(len(message.attachments), limits.max_attachments)
    rest = len(message.attachments) - kept + message.parts_left_out
    if rest:
        add_finding(
            session,
            rt,
            submission,
            "oversized",
            texts.render(
                "constatare_parts_left_out",
                motiv="too_many",
                retinute=kept,
                de_retinute=takes_de(kept),
                rest=f"{rest:,}".replace(",", "."),
                de_rest=takes_de(rest),
                maxim=limits.max_attachments,
                de_maxim=takes_de(limits.max_attachments),
            ),
            detail={"parts": message.parts, "attachments": len(message.attachments), "left_out": rest},
        )
    if message.nesting_cut:
        add_finding(
            session,
            rt,
            submission,
            "oversized",
            texts.render("constatare_parts_left_out", motiv="too_deep", maxim=MAX_DEPTH, de=takes_de(MAX_DEPTH)),
        )


def register(rt: Runtime, session: Session, submission: Submission) -> None:
    now = rt.clock.now()
    year = local(now, rt.settings.office.timezone).year
    submission.number = next_number(session, submission.office, year)
    submission.year = year
    submission.registered_at = now
    submission.state = SubmissionState.REGISTERED


def receipt(rt: Runtime, session: Session, submission: Submission) -> None:
    documents = documents_of(session, submission)
    # Only what concerns the citizen: staff-only findings neither flag nor appear on the recipisă or reply. The
    # file is judged as a whole: a follow-up's recipisă lists what is still wrong anywhere in the case.
    findings = case_findings(session, submission)
    registration = registration_label(rt, submission)
    office = rt.settings.office
    appointment = appointment_text(rt, session, submission, submission.sender or "")
    possibly_needed = possibly_needed_documents(rt, session, submission)
    pdf = rt.signer.sign(
        render_receipt(
            ReceiptData(
                office_name=office.name,
                office_genitive=office.name_genitive,
                office_address=office.address,
                registration_number=registration,
                registered_at=submission.registered_at or rt.clock.now(),
                received_at=submission.received_at,
                sender=submission.sender or "",
                subject=submission.subject or "",
                documents=tuple(_receipt_document(doc) for doc in documents),
                findings=tuple(finding.message for finding in findings),
                appointment=appointment.paragraph if appointment else None,
                verifying=bool(appointment and appointment.verifying),
                timezone=office.timezone,
                possibly_needed=tuple(possibly_needed),
                **_case_section(rt, session, submission),
            )
        )
    )
    receipt_row = Receipt(submission_id=submission.id, pdf_sha256=rt.store.put(pdf), created_at=rt.clock.now())
    session.add(receipt_row)
    submission.state = SubmissionState.RECEIPTED
    submission.flagged = bool(findings)
    if not submission.reply_allowed:
        return
    smtp = rt.settings.smtp
    message_id = compose.make_message_id(
        "receipt", submission.office, submission.id or 0, smtp.from_address, secret=rt.link_secret
    )
    reply = compose.build_receipt_reply(
        _correspondent(rt, submission),
        _original(rt, submission),
        office_name=office.name,
        registration=registration,
        documents=[_document_line(doc) for doc in documents],
        findings=[finding.message for finding in findings],
        pdf=pdf,
        pdf_filename=wording.RECEIPT_FILENAME.format(number=submission.number, year=submission.year),
        message_id=message_id,
        now=rt.clock.now(),
        appointment=appointment.paragraph if appointment else None,
        possibly_needed=possibly_needed,
    )
    if appointment and appointment.invite:
        attach_invite(reply, appointment.invite, appointment.method)  # CANCEL when this message ended the visit
    outbox = enqueue(session, rt, submission, kind="receipt", message=reply)
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
            received_with=registration_label(rt, item.message),
            replaced_by=item.replaced_by.filename if item.replaced_by is not None else None,
        )
        for item in case_documents(session, case)
        if item.document.accepted
    )
    return {"case_registration": registration_label(rt, case[0]), "case_documents": lines}


def registration_label(rt: Runtime, submission: Submission) -> str:
    if submission.number is None or submission.registered_at is None:
        return ""
    return format_registration(submission.number, local(submission.registered_at, rt.settings.office.timezone))


def _queue_acknowledgement(rt: Runtime, session: Session, submission: Submission, message: ParsedMessage) -> None:
    smtp = rt.settings.smtp
    reply = compose.build_acknowledgement(
        _correspondent(rt, submission),
        _original(rt, submission),
        message_id=compose.make_message_id(
            "ack", submission.office, submission.id or 0, smtp.from_address, secret=rt.link_secret
        ),
        now=rt.clock.now(),
    )
    enqueue(session, rt, submission, kind="acknowledgement", message=reply)


def _note_unauthenticated(rt: Runtime, session: Session, submission: Submission) -> None:
    """Staff see why this message got no reply (and no visit): a staff-only finding, in Romanian."""
    evidence = submission.authentication_evidence or ""
    reason = texts.part("expeditor", "motiv_dmarc" if "dmarc=fail" in evidence else "motiv_spf")
    add_finding(
        session,
        rt,
        submission,
        "sender_unauthenticated",
        texts.part("expeditor", "neautentificat", motiv=reason),
        detail={"authentication_results": evidence},
        staff_only=True,
    )


def _recent_replies(rt: Runtime, session: Session, submission: Submission) -> int:
    """How many of this sender's earlier messages (in order of arrival) we decided, or may still decide, to answer
    automatically within the cap window.

    Counted from the decisions, not from the outbox, so a batch screened before any receipt is queued is
    capped all the same; by `cap_key`, so spelling the address differently does not start a new count. Only
    earlier arrivals count, and an earlier one parsed but not yet screened counts as answered: workers screen a
    batch in any order (the pipeline parses the whole batch first), and the cap must still fall on the latest
    messages, as it would one by one."""
    if not submission.sender_key:
        return 0
    since = submission.claimed_at - timedelta(hours=rt.settings.limits.reply_cap_window_hours)
    earlier = or_(
        col(Submission.received_at) < submission.received_at,
        and_(Submission.received_at == submission.received_at, col(Submission.id) < submission.id),
    )
    undecided = and_(Submission.state == SubmissionState.RECEIVED, Submission.stage == "parse")
    count = session.exec(
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.office == submission.office,
            Submission.sender_key == submission.sender_key,
            or_(col(Submission.reply_allowed).is_(True), undecided),
            col(Submission.claimed_at) >= since,
            earlier,
        )
    ).one()
    return int(count)


def _correspondent(rt: Runtime, submission: Submission) -> compose.Correspondent:
    smtp = rt.settings.smtp
    return compose.Correspondent(
        from_address=smtp.from_address,
        from_name=smtp.from_name,
        to_address=submission.sender or "",
        timezone=rt.settings.office.timezone,
        office_short=rt.settings.office.short_name,
        office_genitive=rt.settings.office.name_genitive,
    )


def _original(rt: Runtime, submission: Submission) -> compose.Original:
    return compose.Original(
        message_id=submission.message_id,
        references=tuple(submission.references),
        subject=submission.subject or "",
        received_at=submission.received_at,
    )


def _reject(document: Document, code: str, reason: str) -> None:
    document.accepted = False
    document.code = code
    document.reason = reason


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


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
