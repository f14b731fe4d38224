"""What the recipisă carries inside it (PDF/A-3 associated files), so that years later the agency can prove what
arrived, when, and what was verified, from the signed file alone: the e-mail as received (.eml, the stored raw
bytes), pyHanko's ETSI TS 119 102-2 validation report of every signed PDF, and a JSON record tying them together.

The facts are read in the receipt stage's snapshot (`gather`); the bytes are read and the files made outside the
transaction (`associated_files`). The receipt travels back to the citizen by e-mail, whose size the outbox caps
(`limits.max_reply_bytes`): a message larger than `archive.embed_max_bytes` is represented by its header section
and its SHA-256 (the full bytes stay in the store, named by that hash).

The whole e-mail goes back inside the recipisă only to a sender the agency's mail server authenticated
(`Submission.authentication == "pass"`). From is not authenticated otherwise, and embedding whatever arrived
(attachments included) in a PDF the agency signs and mails to that address would let anyone deliver content of
their choosing to a third party under the agency's seal. For such a sender the recipisă carries the header section
and the SHA-256: the signed record still names the exact bytes, which the agency keeps.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from intake.models import Document, SignatureCheck, Submission
from intake.receipts.render import AssociatedFile
from intake.store import BlobStore

log = logging.getLogger(__name__)

EML_NAME = "mesaj-original.eml"
HEADERS_NAME = "mesaj-original-antet.txt"
RECORD_NAME = "dovezi.json"
MAX_HEADER_BYTES = 64 * 1024
# Deflate pays off on text (a mail with no attachments shrinks ~3x) and costs ~45 ms per MB on base64-encoded
# PDFs and JPEGs, where it only wins back the base64 overhead: large mails are embedded as they are.
COMPRESS_BELOW = 512 * 1024


@dataclass(frozen=True)
class CheckedDocument:
    position: int
    filename: str
    sha256: str
    size: int
    accepted: bool
    label: str | None  # the signature verdict, None when no signature check was made
    summary: str | None
    decided_at: str | None
    trusted_lists: list[dict[str, object]]
    report_xml: str | None


@dataclass(frozen=True)
class Evidence:
    registration_number: str
    office: str
    received_at: datetime
    message_sha256: str
    message_size: int
    message_id: str | None
    documents: tuple[CheckedDocument, ...]
    sender_authenticated: bool = False  # the agency's MX vouched for the From (see the module docstring)


def gather(session: Session, submission: Submission, documents: list[Document], registration: str) -> Evidence:
    ids = [doc.id for doc in documents if doc.id is not None]
    checks: dict[int, SignatureCheck] = {}
    if ids:
        rows = session.exec(
            select(SignatureCheck).where(col(SignatureCheck.document_id).in_(ids)).order_by(col(SignatureCheck.id))
        )
        checks = {row.document_id: row for row in rows}  # the latest check of each document wins
    return Evidence(
        registration_number=registration,
        office=submission.office,
        received_at=submission.received_at,
        message_sha256=submission.sha256,
        message_size=submission.size,
        message_id=submission.message_id,
        documents=tuple(_checked(doc, checks.get(doc.id or 0)) for doc in documents),
        sender_authenticated=submission.authentication == "pass",
    )


def _checked(doc: Document, check: SignatureCheck | None) -> CheckedDocument:
    return CheckedDocument(
        position=doc.position,
        filename=doc.filename,
        sha256=doc.sha256,
        size=doc.size,
        accepted=bool(doc.accepted),
        label=check.label if check else None,
        summary=(doc.signature or {}).get("summary"),
        decided_at=check.decided_at.isoformat() if check else None,
        trusted_lists=list(check.trusted_lists) if check else [],
        report_xml=check.report_xml if check else None,
    )


def report_name(document: CheckedDocument) -> str:
    return f"raport-validare-{document.position}.xml"


def associated_files(evidence: Evidence, store: BlobStore, *, embed_max_bytes: int) -> tuple[AssociatedFile, ...]:
    moment = evidence.received_at
    files: list[AssociatedFile] = []
    whole = evidence.sender_authenticated and evidence.message_size <= embed_max_bytes
    # Only what goes into the receipt is read: a 25 MB mail represented by its headers costs 64 KB, not 25 MB.
    raw = _raw_message(evidence, store, limit=None if whole else MAX_HEADER_BYTES)
    embedded_whole = whole and raw is not None
    if raw is not None and embedded_whole:
        files.append(
            AssociatedFile(
                EML_NAME,
                raw,
                "message/rfc822",
                "Source",
                "E-mailul primit, exact cum a sosit",
                moment,
                compress=len(raw) < COMPRESS_BELOW,
            )
        )
    elif raw is not None:
        files.append(
            AssociatedFile(
                HEADERS_NAME,
                _header_section(raw),
                "text/rfc822-headers",
                "Source",
                "Antetul e-mailului primit (mesajul întreg este păstrat de agenție)",
                moment,
            )
        )
    for document in evidence.documents:
        if document.report_xml:
            files.append(
                AssociatedFile(
                    report_name(document),
                    document.report_xml.encode("utf-8"),
                    "application/xml",
                    "Data",
                    f"Raport de validare a semnăturii (ETSI TS 119 102-2): {document.filename}",
                    moment,
                )
            )
    record = _record(evidence, embedded_whole=embedded_whole, stored=raw is not None)
    files.append(
        AssociatedFile(RECORD_NAME, record, "application/json", "Data", "Ce a fost primit și verificat", moment)
    )
    return tuple(files)


def _raw_message(evidence: Evidence, store: BlobStore, *, limit: int | None) -> bytes | None:
    """The stored mail, or its first `limit` bytes."""
    try:
        if limit is None:
            return store.get(evidence.message_sha256)
        return store.head(evidence.message_sha256, limit)
    except OSError as exc:  # purged under the retention rules: the record still names it by its hash
        log.warning("raw mail %s not in the store (%s): receipt without the .eml", evidence.message_sha256, exc)
        return None


def _header_section(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end != -1:
            return raw[: min(end + len(separator), MAX_HEADER_BYTES)]
    return raw[:MAX_HEADER_BYTES]


def _record(evidence: Evidence, *, embedded_whole: bool, stored: bool) -> bytes:
    documents = []
    for document in evidence.documents:
        entry = asdict(document)
        entry.pop("report_xml")
        entry["report"] = report_name(document) if document.report_xml else None
        documents.append(entry)
    record = {
        "registration_number": evidence.registration_number,
        "office": evidence.office,
        "received_at": evidence.received_at.isoformat(),
        "message": {
            "sha256": evidence.message_sha256,
            "size": evidence.message_size,
            "message_id": evidence.message_id,
            "embedded": EML_NAME if embedded_whole else (HEADERS_NAME if stored else None),
        },
        "documents": documents,
    }
    return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
