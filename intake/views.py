"""The JSON shapes of contract.md: what `submissions`, `show` and `status` print (and the web app shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from intake import case_link
from intake.alerts import open_alerts
from intake.appointments.service import verification_state
from intake.archive import newest_version
from intake.case_file import case_findings
from intake.clock import local, utcnow
from intake.models import (
    Appointment,
    AppointmentState,
    Document,
    OutboxMessage,
    OutboxState,
    PollState,
    Receipt,
    Submission,
)
from intake.registry import format_registration
from intake.runtime import Runtime
from intake.signatures.trust_state import trust_overview, trusted_list_age_seconds


def submission_view(session: Session, rt: Runtime, submission: Submission) -> dict[str, Any]:
    timezone = rt.settings.office.timezone
    documents = session.exec(
        select(Document).where(Document.submission_id == submission.id).order_by(col(Document.position))
    ).all()
    # Operators see every open finding of the case (contract.md: every e-mail of a case shows the case as a
    # whole), staff-only ones marked; `flagged` ignores those.
    findings = case_findings(session, submission, staff=True)
    return {
        "registration_number": _registration(submission, timezone),
        "number": submission.number,
        "year": submission.year,
        "office": submission.office,
        "state": submission.state,
        "category": submission.category,
        "sender": submission.sender,
        "subject": submission.subject,
        "message_id": submission.message_id,
        "received_at": _iso(submission.received_at, timezone),
        "registered_at": _iso(submission.registered_at, timezone),
        "request_type": submission.request_type,
        "consent": submission.consent,
        "flagged": any(not finding.staff_only for finding in findings),
        "documents": [_document_view(document) for document in documents],
        "findings": [
            {"code": finding.code, "message": finding.message, "staff_only": finding.staff_only}
            for finding in findings
        ],
        "appointment": _appointment_view(session, submission, timezone),
        # The registration number of the case's first message (its own for a new case), and where the case stands
        # on the way to the decision visit: "pending" (complete, waiting for a clerk), "confirmed", or null.
        "case": _case_registration(session, submission, timezone),
        "verification": verification_state(session, submission),
        # What the agency's MX recorded about the From (pass / fail / none), and the case this message named but
        # could not join (no proof it comes from the case's owner): staff see it as "possibly related".
        "authentication": submission.authentication,
        "related_case": _related_case(session, submission, timezone),
        "receipt": _receipt_view(session, submission),
        # The citizen's view of the case (`/dosar/<token>`, the link every reply carries), once it has a number.
        "status_url": case_link.status_url(rt, session, submission) if submission.number is not None else None,
        "screening": submission.screening_reason,
        "quarantine_reason": submission.quarantine_reason,
        "last_error": submission.last_error,
        "defects": submission.defects,
        "id": submission.id,
    }


def _appointment_view(session: Session, submission: Submission, timezone: str) -> dict[str, Any] | None:
    root_id = submission.case_id or submission.id
    appointment = session.exec(
        select(Appointment)
        .where(Appointment.submission_id == root_id, Appointment.state == AppointmentState.BOOKED)
        .order_by(col(Appointment.id).desc())
    ).first()
    if appointment is None:
        return None
    return {
        "start": _iso(appointment.start, timezone),
        "end": _iso(appointment.end, timezone),
        "purpose": appointment.purpose,
        # The last day allowed for a clarification visit (ISO date, office time zone); null for a decision visit,
        # which has no legal deadline.
        "deadline": local(appointment.deadline, timezone).date().isoformat() if appointment.deadline else None,
        "overflow": appointment.overflow,
        "sequence": appointment.sequence,
        "reminder_sent": appointment.reminder_sent_at is not None,
    }


def _document_view(document: Document) -> dict[str, Any]:
    return {
        "filename": document.filename,
        "kind": document.kind,
        "content_type": document.content_type or document.declared_type,
        "detected_type": document.detected_type,
        "sha256": document.sha256,
        "size": document.size,
        "pages": document.pages,
        "accepted": document.accepted,
        "reason": document.reason,
        "notes": document.notes,
        "signature": document.signature,
    }


def _receipt_view(session: Session, submission: Submission) -> dict[str, Any] | None:
    receipt = session.exec(
        select(Receipt).where(Receipt.submission_id == submission.id).order_by(col(Receipt.id).desc())
    ).first()
    if receipt is None:
        return None
    outbox = session.get(OutboxMessage, receipt.outbox_id) if receipt.outbox_id else None
    return {
        "sent": bool(outbox and outbox.state == OutboxState.SENT),
        "message_id": outbox.message_id if outbox else None,
        "state": outbox.state if outbox else "not_sent",
        "pdf_sha256": receipt.pdf_sha256,
        "evidence": newest_version(session, receipt),  # after `intake archive refresh`: a later, re-time-stamped copy
    }


def all_submissions(session: Session, rt: Runtime) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Submission)
        .where(Submission.office == rt.office)
        .order_by(col(Submission.received_at).desc(), col(Submission.id).desc())
    ).all()
    return [submission_view(session, rt, row) for row in rows]


def find_by_number(session: Session, rt: Runtime, reference: str) -> Submission | None:
    """`123`, `123/2026` or `123/22.11.2026`; a bare number means the latest year that has it."""
    number_text, _, year_text = reference.strip().partition("/")
    if not number_text.isdigit():
        return None
    query = select(Submission).where(Submission.office == rt.office, Submission.number == int(number_text))
    if year_text:
        year_part = year_text.rsplit(".", 1)[-1]
        if not year_part.isdigit():
            return None
        query = query.where(Submission.year == int(year_part))
    return session.exec(query.order_by(col(Submission.year).desc())).first()


def status_view(session: Session, rt: Runtime) -> dict[str, Any]:
    timezone = rt.settings.office.timezone
    by_state = dict(
        session.exec(
            select(Submission.state, func.count()).where(Submission.office == rt.office).group_by(Submission.state)
        ).all()
    )
    outbox_counts = dict(
        session.exec(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.office == rt.office)
            .group_by(OutboxMessage.state)
        ).all()
    )
    oldest_pending = session.exec(
        select(OutboxMessage.created_at)
        .where(OutboxMessage.office == rt.office, OutboxMessage.state == OutboxState.PENDING)
        .order_by(col(OutboxMessage.created_at))
        .limit(1)
    ).first()
    polls = session.exec(select(PollState).where(PollState.office == rt.office)).all()
    # Trusted-list health is judged on the real clock, like the ops alerts that share the same rule.
    trust = trust_overview(session, rt.trust_office, rt.settings, utcnow())
    return {
        "office": rt.office,
        "queues": by_state,
        "mailboxes": [
            {
                "account": poll.account,
                "folder": poll.folder,
                "last_success_at": _iso(poll.last_success_at, timezone),
                "last_error": poll.last_error,
                "last_error_at": _iso(poll.last_error_at, timezone),
                "consecutive_failures": poll.consecutive_failures,
            }
            for poll in polls
        ],
        "last_successful_poll": _iso(
            max((p.last_success_at for p in polls if p.last_success_at), default=None), timezone
        ),
        "outbox": {
            "pending": outbox_counts.get(OutboxState.PENDING, 0),
            "sent": outbox_counts.get(OutboxState.SENT, 0),
            "failed": outbox_counts.get(OutboxState.FAILED, 0),
            "oldest_pending_age_seconds": _age(oldest_pending),
        },
        "trusted_list_age_seconds": trusted_list_age_seconds(session, rt.trust_office),
        "alerts": [
            {
                "kind": alert.kind,
                "key": alert.key,
                "message": alert.message,
                "opened_at": _iso(alert.opened_at, timezone),
            }
            for alert in open_alerts(session, rt.office)
        ],
        "trusted_lists": [
            {
                "source": row.source,
                "territory": row.territory,
                "sequence_number": row.sequence_number,
                "issued_at": _iso(row.issued_at, timezone),
                "next_update": _iso(row.next_update, timezone),
                "loaded_at": _iso(row.loaded_at, timezone),
                "signature_verified": row.signature_verified,
                "from_cache": row.from_cache,
                "error": row.error,
                "state": health.state,
            }
            for row, health in trust.lists
        ],
        "trust": {"ok": trust.ok, "sources_configured": trust.sources_configured, "problems": trust.problems},
    }


def _case_registration(session: Session, submission: Submission, timezone: str) -> str | None:
    root = session.get(Submission, submission.case_id) if submission.case_id is not None else submission
    return _registration(root, timezone) if root is not None else None


def _related_case(session: Session, submission: Submission, timezone: str) -> str | None:
    related = session.get(Submission, submission.related_case_id) if submission.related_case_id else None
    return _registration(related, timezone) if related is not None else None


def _registration(submission: Submission, timezone: str) -> str | None:
    if submission.number is None or submission.registered_at is None:
        return None
    return format_registration(submission.number, local(submission.registered_at, timezone))


def _iso(moment: datetime | None, timezone: str) -> str | None:
    return local(moment, timezone).isoformat() if moment else None


def _age(moment: datetime | None) -> float | None:
    return round((utcnow() - moment).total_seconds(), 1) if moment else None
