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
) -> None:
    """Record a finding (Romanian message for the sender and staff; `detail` for staff only) and flag."""
    now = rt.clock.now()
    session.add(
        Finding(
            submission_id=submission.id or 0,
            code=code,
            message=message,
            document_id=document_id,
            detail=detail or {},
            created_at=now,
        )
    )
    submission.flagged = True
    session.add(Event(submission_id=submission.id, at=now, action="finding", detail={"code": code}))
