"""The `validate` stage: every attachment checked by content (only JPEG, PNG and PDF that fully decode).

The decoding is the slow part: it is prepared from the stored attachments, and the record applies each
document's check to its row and raises the findings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from intake import texts
from intake.models import Document, Submission
from intake.records import add_finding, documents_of
from intake.runtime import Runtime
from intake.validation.filetypes import FileCheck, check_attachment, display_name, takes_de


@dataclass(frozen=True)
class Snapshot:
    documents: tuple[tuple[int, int, str, str], ...]  # id, position, filename, sha256


@dataclass(frozen=True)
class Checked:
    checks: dict[int, FileCheck | None]  # by document id; None: past the attachment cap, not opened


def snapshot(rt: Runtime, session: Session, submission: Submission) -> Snapshot:
    documents = documents_of(session, submission)
    return Snapshot(tuple((doc.id or 0, doc.position, doc.filename, doc.sha256) for doc in documents))


def prepare(rt: Runtime, snapshot: Snapshot) -> Checked:
    limits = rt.settings.limits
    checks: dict[int, FileCheck | None] = {}
    for document_id, position, filename, sha256 in snapshot.documents:
        if position > limits.max_attachments:
            checks[document_id] = None
            continue
        checks[document_id] = check_attachment(
            filename,
            rt.store.get(sha256),
            max_bytes=limits.max_attachment_bytes,
            max_pixels=limits.max_image_pixels,
            office_short=rt.settings.office.short_name,
            max_decoded_bytes=limits.max_decoded_image_bytes,
        )
    return Checked(checks)


def record(rt: Runtime, session: Session, submission: Submission, checked: Checked) -> None:
    limits = rt.settings.limits
    for document in documents_of(session, submission):
        if document.id not in checked.checks:
            continue  # not in the snapshot: cannot happen while the stage pointer is where the snapshot saw it
        check = checked.checks[document.id]
        if check is None:
            reason = texts.render(
                "constatare_oversized",
                motiv="too_many_attachments",
                fisier=display_name(document.filename),
                maxim=limits.max_attachments,
                de=takes_de(limits.max_attachments),
            )
            _reject(document, "oversized", reason)
        else:
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


def _reject(document: Document, code: str, reason: str) -> None:
    document.accepted = False
    document.code = code
    document.reason = reason
