"""What the citizen's status page of a case shows (`/dosar/<token>`, issue 13 §4): a read-only picture built from
the same records and words as the recipisă, with nothing the citizen should not read.

Left out on purpose: staff-only findings, staff names (who cleared, resolved or confirmed), subjects and bodies of
the messages, the sender's address, signers' names (a document may carry someone else's signature) and any other
case. Every text that may quote a form or a file name passes through `privacy.redact`, so a CNP never appears,
even when a finding or a file name carries one (GDPR Art. 5(1)(c), data minimisation: whoever holds the link sees
what the case needs, nothing that would identify the person to a stranger).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import Session, col, or_, select

from intake.appointments.case import active_appointment, case_root, verification_state
from intake.appointments.notices import appointment_paragraph
from intake.appointments.text import notice_for, pending_text
from intake.case_file import case_documents, case_findings, case_messages
from intake.case_link import case_end
from intake.clock import local
from intake.models import (
    Document,
    OutboxMessage,
    OutboxState,
    Submission,
    SubmissionState,
    VerificationState,
)
from intake.privacy import redact
from intake.receipts.compose import document_status
from intake.registry import registration_label
from intake.runtime import Runtime
from intake.texts import labels


@dataclass(frozen=True)
class DocumentView:
    filename: str
    kind: str
    accepted: bool
    status: str  # "acceptat", "neacceptat (format nepermis)" …: the recipisă's words
    reason: str | None
    signature: str | None  # the verdict in the citizen's words; None when no signature was looked for
    replaced_by: str | None  # a later document of the same kind that counts instead
    received_with: str  # the registration number of the message that brought it


@dataclass(frozen=True)
class VisitView:
    paragraph: str  # when, where, why, what to bring: the e-mail's paragraph, without the link
    manage_url: str | None  # reschedule or cancel; None once the visit has begun


@dataclass(frozen=True)
class HistoryEntry:
    at: str  # dd.mm.yyyy HH:MM, office time
    text: str
    moment: datetime


@dataclass(frozen=True)
class CaseStatus:
    registration: str  # the case's number, "N/DD.MM.YYYY"; empty while the first message is not registered yet
    received: str
    standing: str  # the headline: where the case stands
    findings: tuple[str, ...]  # what must be clarified, and why
    documents: tuple[DocumentView, ...]
    visit: VisitView | None
    waiting: str | None  # no visit yet: why (the file is being verified …)
    history: tuple[HistoryEntry, ...]
    valid_until: str  # when the link stops working (dd.mm.yyyy)


def build(rt: Runtime, session: Session, root: Submission) -> CaseStatus:
    """The page of the case whose first message is `root`, as of `rt.clock.now()`."""
    timezone = rt.settings.office.timezone
    messages = case_messages(session, root)
    findings = tuple(redact(finding.message) for finding in case_findings(session, root))
    visit, waiting = _visit(rt, session, root)
    return CaseStatus(
        registration=registration_label(root, timezone),
        received=labels.date_time(root.received_at, timezone),
        standing=labels.CASE_STANDINGS[standing(session, root, bool(findings))],
        findings=findings,
        documents=tuple(
            _document(item.document, item.replaced_by, registration_label(item.message, timezone))
            for item in case_documents(session, messages)
        ),
        visit=visit,
        waiting=waiting,
        history=_history(session, root, timezone),
        valid_until=labels.day(local(case_end(rt, session, root), timezone)),
    )


def standing(session: Session, root: Submission, has_findings: bool) -> str:
    """A key of `labels.CASE_STANDINGS`. A clerk's "resolved" mark is left out: it closes the case in the staff
    queue, while what the citizen must still do (findings, the visit) stands, and the page would contradict itself."""
    if root.state == SubmissionState.QUARANTINED:
        return "quarantined"
    if root.number is None:
        return "processing"
    if has_findings:
        return "clarification"
    state = verification_state(session, root)
    if state == VerificationState.PENDING:
        return "verification"
    if state == VerificationState.CONFIRMED:
        return "confirmed"
    return "in_progress"


def _visit(rt: Runtime, session: Session, root: Submission) -> tuple[VisitView | None, str | None]:
    appointment = active_appointment(session, root.id or 0)
    if appointment is None:
        waiting = pending_text(rt, root) if verification_state(session, root) == VerificationState.PENDING else None
        return None, waiting
    notice = notice_for(rt, appointment, case_root(session, root), with_reasons=False)
    # The link is a button of its own on the page, on this site whatever its public address; once the visit has
    # begun it can no longer be moved.
    manage_url = urlsplit(notice.manage_url).path if notice.manage_url and appointment.start > rt.clock.now() else None
    return VisitView(redact(appointment_paragraph(replace(notice, manage_url=None))), manage_url), None


def _document(document: Document, replaced_by: Document | None, received_with: str) -> DocumentView:
    reason = " ".join(part for part in (document.reason, *document.notes) if part) or None
    verdict = (document.signature or {}).get("label")
    return DocumentView(
        filename=redact(document.filename),
        kind=labels.DOCUMENT_KINDS.get(document.kind or "other", labels.DOCUMENT_KINDS["other"]),
        accepted=bool(document.accepted),
        status=document_status(bool(document.accepted), document.code),
        reason=redact(reason) if reason else None,
        signature=labels.SIGNATURE_LABELS_CITIZEN.get(verdict) if isinstance(verdict, str) else None,
        replaced_by=redact(replaced_by.filename) if replaced_by is not None else None,
        received_with=received_with,
    )


def _history(session: Session, root: Submission, timezone: str) -> tuple[HistoryEntry, ...]:
    """Messages received on the case and replies sent about it, oldest first: kinds and dates, never content."""
    rows = session.exec(
        select(Submission)
        .where(or_(Submission.id == root.id, Submission.case_id == root.id))
        .where(Submission.state != SubmissionState.IGNORED)
    ).all()
    ids = [row.id for row in rows]
    entries = [_received(row, timezone) for row in rows]
    replies = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.submission_id).in_(ids), OutboxMessage.kind != "alert")
    ).all()
    entries.extend(_replied(reply, timezone) for reply in replies)
    return tuple(sorted(entries, key=lambda entry: entry.moment))


def _received(message: Submission, timezone: str) -> HistoryEntry:
    number = registration_label(message, timezone)
    text = "Mesaj primit de la dumneavoastră" + (f", înregistrat cu nr. {number}" if number else "")
    return HistoryEntry(labels.date_time(message.received_at, timezone), text, message.received_at)


def _replied(reply: OutboxMessage, timezone: str) -> HistoryEntry:
    moment = reply.sent_at or reply.created_at
    kind = labels.REPLY_KINDS.get(reply.kind, "mesaj")
    if reply.state == OutboxState.SENT:
        text = f"Răspuns trimis: {kind}"
    elif reply.state == OutboxState.FAILED:
        text = f"Răspuns care nu a putut fi trimis: {kind}"
    else:
        text = f"Răspuns în curs de trimitere: {kind}"
    return HistoryEntry(labels.date_time(moment, timezone), text, moment)
