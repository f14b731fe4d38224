"""The replies we send: acknowledgement (procedure step 5) and the recipisă (step 6).

Every reply is threaded to the message it answers, marked as automatic (RFC 3834) and carries a
Message-ID derived from the submission under a secret, so a retry after a crash is recognisably the same message
and nobody else can write it (`make_message_id`). The words are
templates the agency can edit (`intake/texts/templates/confirmare_primire.txt`, `recipisa_email.txt`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from intake import texts
from intake.clock import local
from intake.receipts import wording


@dataclass(frozen=True)
class Correspondent:
    """Who we are and whom we answer."""

    from_address: str
    from_name: str
    to_address: str
    timezone: str
    office_short: str = "AJOFM Cluj"  # "Registratura AJOFM Cluj"
    office_genitive: str = "Agenției Județene pentru Ocuparea Forței de Muncă Cluj"  # "la registratura …"
    status_url: str | None = None  # the case's status page (/dosar/<token>), named in every reply about the case


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
    code: str | None = None  # why it was not accepted (forbidden_attachment, corrupt_attachment, oversized)


def make_message_id(kind: str, office: str, submission_id: int, from_address: str, *, secret: str) -> str:
    """`<intake.cj.{token}@domain>`: the token is an HMAC of (office, submission, kind) under our secret.

    A reply that quotes it (In-Reply-To/References) proves its writer read our message, so it may join that case
    (`intake.followups`): the token must not be derivable from the registration number or the row id, as the old
    `<intake.cj.2.receipt@…>` was. Derived, not random, so a retry after a crash builds the same Message-ID and
    the outbox's unique Message-ID still recognises it as the same message."""
    if not secret:
        raise ValueError("make_message_id needs the secret: Message-IDs must not be guessable")
    domain = from_address.rpartition("@")[2] or "intake.invalid"
    mac = hmac.new(secret.encode(), f"message-id\0{office}\0{submission_id}\0{kind}".encode(), hashlib.sha256)
    token = base64.b32encode(mac.digest()[:20]).decode("ascii").lower()  # 160 bits, case-insensitive safe
    return f"<intake.{office.lower()}.{token}@{domain}>"


# The Message-IDs written before tokens existed (`<intake.cj.12.receipt@…>`): quoting one proves nothing.
GUESSABLE_MESSAGE_ID = re.compile(r"^<intake\.[^.@>]+\.\d+\.[^@>]*@", re.IGNORECASE)
TOKEN_MESSAGE_ID = re.compile(r"^<intake\.[^.@>]+\.[a-z2-7]{32}@[^>]+>$")


def carries_token(message_id: str) -> bool:
    """Whether one of our Message-IDs is of the unguessable kind (see `make_message_id`)."""
    return bool(TOKEN_MESSAGE_ID.match(message_id)) and not GUESSABLE_MESSAGE_ID.match(message_id)


def format_received(moment: datetime, timezone: str) -> str:
    return f"{local(moment, timezone):%d.%m.%Y, ora %H:%M:%S} (ora României)"


def build_acknowledgement(who: Correspondent, original: Original, *, message_id: str, now: datetime) -> EmailMessage:
    subject, body = texts.mail(
        "confirmare_primire",
        subiect=_subject(original),
        primit=local(original.received_at, who.timezone),
        birou_scurt=who.office_short,
        stare_dosar=status_paragraph(who),
    )
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
    possibly_needed: list[str] | None = None,
) -> EmailMessage:
    subject, body = texts.mail(
        "recipisa_email",
        subiect=_subject(original),
        numar=registration,
        primit=local(original.received_at, who.timezone),
        birou=office_name,
        birou_genitiv=who.office_genitive,
        birou_scurt=who.office_short,
        documente=[_document_entry(doc) for doc in documents],
        constatari=findings,
        daca_este_cazul=possibly_needed or [],
        programare=appointment,
        fisier_recipisa=pdf_filename,
        stare_dosar=status_paragraph(who),
    )
    message = _reply(who, original, subject=subject, text=body, message_id=message_id, now=now)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=pdf_filename)
    return message


def status_paragraph(who: Correspondent) -> str:
    """Where the citizen follows the case (`intake.case_link`); empty when the reply names no case."""
    return texts.render("link_dosar", link=who.status_url) if who.status_url else ""


def _document_entry(doc: DocumentLine) -> dict[str, object]:
    return {
        "nume": doc.filename,
        "detalii": ", ".join(part for part in (doc.detected_type, wording.pages_label(doc.pages)) if part),
        "acceptat": doc.accepted,
        "stare": document_status(doc.accepted, doc.code),
        "motiv": doc.reason,
    }


def document_status(accepted: bool, code: str | None) -> str:
    """ "acceptat" or "neacceptat (format nepermis)" …: the same words on the recipisă and in the e-mail."""
    return texts.render("stare_document", acceptat=accepted, cod=code)


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


# The links we write ourselves (status, reschedule): plain http(s) addresses without spaces or quotes.
_URL = re.compile(r"https?://[^\s<>\"']+")


def _linked(escaped: str) -> str:
    """Escaped text with every address as an <a> (a mail client may not linkify a long one, or only half)."""
    return _URL.sub(lambda match: f'<a href="{match.group(0)}">{match.group(0)}</a>', escaped)


def _html(text: str) -> str:
    paragraphs = "".join(
        f"<p>{_linked(html.escape(block)).replace(chr(10), '<br>')}</p>"
        for block in text.split("\n\n")
        if block.strip()
    )
    return f'<!DOCTYPE html><html lang="ro"><meta charset="utf-8"><body>{paragraphs}</body></html>'
