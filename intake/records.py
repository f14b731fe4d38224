"""Small shared reads and writes of a submission's records, used by several stages."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from intake.models import Document, Event, Finding, Submission
from intake.runtime import Runtime


def documents_of(session: Session, submission: Submission) -> list[Document]:
    return list(
        session.exec(
            select(Document).where(Document.submission_id == submission.id).order_by(col(Document.position))
        ).all()
    )


def open_findings(session: Session, submission: Submission) -> list[Finding]:
    """The open findings that concern the citizen: what flags the submission, books a clarification and is
    listed on the recipisă and in replies. Staff-only findings are left out (see `staff_findings`)."""
    return [finding for finding in staff_findings(session, submission) if not finding.staff_only]


def staff_findings(session: Session, submission: Submission) -> list[Finding]:
    """Every open finding, staff-only ones included: what a clerk sees (case page, queue, `show --json`)."""
    return list(
        session.exec(
            select(Finding)
            .where(Finding.submission_id == submission.id, col(Finding.cleared_at).is_(None))
            .order_by(col(Finding.id))
        ).all()
    )


def add_finding(
    session: Session,
    rt: Runtime,
    submission: Submission,
    code: str,
    message: str,
    *,
    document_id: int | None = None,
    detail: dict[str, Any] | None = None,
    staff_only: bool = False,
) -> Finding:
    """Record a finding (Romanian message; `detail` for staff only) and flag the submission.

    A `staff_only` finding asks a clerk to confirm something and does not flag: the citizen is not called
    for a clarification over it and never reads it. Only a clerk closes it (re-assessing a case keeps it), so
    the same open staff-only finding is not recorded twice; the existing one is returned instead.
    """
    if staff_only:
        for existing in staff_findings(session, submission):
            if (
                existing.staff_only
                and existing.code == code
                and existing.document_id == document_id
                and existing.message == message
            ):
                return existing
    now = rt.clock.now()
    finding = Finding(
        submission_id=submission.id or 0,
        code=code,
        message=message,
        document_id=document_id,
        detail=detail or {},
        created_at=now,
        staff_only=staff_only,
    )
    session.add(finding)
    if not staff_only:
        submission.flagged = True
    event_detail: dict[str, Any] = {"code": code, "staff_only": True} if staff_only else {"code": code}
    session.add(Event(submission_id=submission.id, at=now, action="finding", detail=event_detail))
    return finding
