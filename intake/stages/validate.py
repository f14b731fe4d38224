"""The `validate` stage: every attachment checked by content (only JPEG, PNG and PDF that fully decode).

The decoding is the slow part: it is prepared from the stored attachments, and the record applies each
document's check to its row and raises the findings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from intake import texts
from intake.mailbox.parse import MAX_DEPTH
from intake.models import Document, Submission
from intake.records import add_finding, documents_of
from intake.runtime import Runtime
from intake.stages.parse import parsed_message
from intake.validation.filetypes import FileCheck, check_attachment, display_name, takes_de


@dataclass(frozen=True)
class Snapshot:
    message_sha256: str
    documents: tuple[tuple[int, int, str, str], ...]  # id, position, filename, sha256


@dataclass(frozen=True)
class Checked:
    checks: dict[int, FileCheck | None]  # by document id; None: past the attachment cap, not opened
    attachments: int  # attachments in the message, those left out included
    parts_left_out: int
    parts: int
    nesting_cut: bool


def snapshot(rt: Runtime, session: Session, submission: Submission) -> Snapshot:
    documents = documents_of(session, submission)
    return Snapshot(
        submission.sha256, tuple((doc.id or 0, doc.position, doc.filename, doc.sha256) for doc in documents)
    )


def prepare(rt: Runtime, snapshot: Snapshot) -> Checked:
    limits = rt.settings.limits
    message = parsed_message(rt, snapshot.message_sha256)
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
    return Checked(checks, len(message.attachments), message.parts_left_out, message.parts, message.nesting_cut)


def record(rt: Runtime, session: Session, submission: Submission, checked: Checked) -> None:
    limits = rt.settings.limits
    _note_parts_left_out(rt, session, submission, checked)
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


def _note_parts_left_out(rt: Runtime, session: Session, submission: Submission, checked: Checked) -> None:
    """One finding for everything the part caps left out (issue 10, point 3), however many parts that is."""
    limits = rt.settings.limits
    kept = min(checked.attachments, limits.max_attachments)
    rest = checked.attachments - kept + checked.parts_left_out
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
            detail={"parts": checked.parts, "attachments": checked.attachments, "left_out": rest},
        )
    if checked.nesting_cut:
        add_finding(
            session,
            rt,
            submission,
            "oversized",
            texts.render("constatare_parts_left_out", motiv="too_deep", maxim=MAX_DEPTH, de=takes_de(MAX_DEPTH)),
        )


def _reject(document: Document, code: str, reason: str) -> None:
    document.accepted = False
    document.code = code
    document.reason = reason
