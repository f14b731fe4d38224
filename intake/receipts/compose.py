"""The replies we send: acknowledgement (procedure step 5) and the recipisă (step 6).

Every reply is threaded to the message it answers, marked as automatic (RFC 3834) and carries a
Message-ID derived from the submission, so a retry after a crash is recognisably the same message.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from intake.clock import local
from intake.receipts import wording


@dataclass(frozen=True)
class Correspondent:
    """Who we are and whom we answer."""

    from_address: str
    from_name: str
    to_address: str
    timezone: str


@dataclass(frozen=True)
class Original:
    """The message being answered."""

    message_id: str | None
    references: tuple[str, ...]
    subject: str
    received_at: datetime


@dataclass(frozen=True)
class DocumentLine:
    filename: str
    detected_type: str
    pages: int | None
    accepted: bool
    reason: str | None


def make_message_id(kind: str, office: str, submission_id: int, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "intake.invalid"
    return f"<intake.{office.lower()}.{submission_id}.{kind}@{domain}>"


def format_received(moment: datetime, timezone: str) -> str:
    return f"{local(moment, timezone):%d.%m.%Y, ora %H:%M:%S} (ora României)"


def build_acknowledgement(who: Correspondent, original: Original, *, message_id: str, now: datetime) -> EmailMessage:
    body = wording.ACK_BODY.format(
        received=format_received(original.received_at, who.timezone),
        notice=wording.AUTOMATIC_NOTICE,
        signature=wording.SIGNATURE,
    )
    subject = wording.ACK_SUBJECT.format(subject=_subject(original))
    return _reply(who, original, subject=subject, text=body, message_id=message_id, now=now, html=False)


def build_receipt_reply(
    who: Correspondent,
    original: Original,
    *,
    office_name: str,
    registration: str,
    documents: list[DocumentLine],
    findings: list[str],
    pdf: bytes,
    pdf_filename: str,
    message_id: str,
    now: datetime,
    appointment: str | None = None,
) -> EmailMessage:
    findings_text = ""
    if findings:
        findings_text = wording.FINDINGS_HEADER + "".join(f"  - {item}\n" for item in findings)
    body = wording.RECEIPT_BODY.format(
        received=format_received(original.received_at, who.timezone),
        office_name=office_name,
        registration=registration,
        documents=_document_lines(documents),
        findings=findings_text,
        appointment=f"\n{appointment}\n" if appointment else "",
        attachment=pdf_filename,
        notice=wording.AUTOMATIC_NOTICE,
        signature=wording.SIGNATURE,
    )
    subject = wording.RECEIPT_SUBJECT.format(registration=registration, subject=_subject(original))
    message = _reply(who, original, subject=subject, text=body, message_id=message_id, now=now)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=pdf_filename)
    return message


def _document_lines(documents: list[DocumentLine]) -> str:
    if not documents:
        return wording.NO_ATTACHMENTS
    lines = []
    for index, doc in enumerate(documents, start=1):
        details = ", ".join(part for part in (doc.detected_type, wording.pages_label(doc.pages)) if part)
        status = wording.DOCUMENT_ACCEPTED if doc.accepted else wording.DOCUMENT_REJECTED
        line = f"  {index}. {doc.filename} ({details}): {status}"
        if doc.reason:
            line += f". {doc.reason}"
        lines.append(line)
    return "\n".join(lines)


def _subject(original: Original) -> str:
    subject = " ".join(original.subject.split())
    return subject[:150] if subject else wording.NO_SUBJECT


def _reply(
    who: Correspondent,
    original: Original,
    *,
    subject: str,
    text: str,
    message_id: str,
    now: datetime,
    html: bool = True,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address(display_name=who.from_name, addr_spec=who.from_address)
    message["To"] = who.to_address
    message["Subject"] = subject
    message["Date"] = format_datetime(local(now, who.timezone))
    message["Message-ID"] = message_id
    if original.message_id:
        message["In-Reply-To"] = original.message_id
        message["References"] = " ".join((*original.references, original.message_id)[-20:])
    # RFC 3834: mark our replies as automatic, and ask Exchange not to answer them with its own.
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text)
    if html:
        message.add_alternative(_html(text), subtype="html")
    return message


def _html(text: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>" for block in text.split("\n\n") if block.strip()
    )
    return f'<!DOCTYPE html><html lang="ro"><meta charset="utf-8"><body>{paragraphs}</body></html>'
