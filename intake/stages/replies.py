"""What the stages' automatic replies (acknowledgement, recipisă) say about who writes to whom, and about what."""

from __future__ import annotations

from sqlmodel import Session

from intake.case_link import status_url
from intake.models import Submission
from intake.receipts import compose
from intake.runtime import Runtime


def correspondent(rt: Runtime, session: Session, submission: Submission) -> compose.Correspondent:
    smtp = rt.settings.smtp
    return compose.Correspondent(
        from_address=smtp.from_address,
        from_name=smtp.from_name,
        to_address=submission.sender or "",
        timezone=rt.settings.office.timezone,
        office_short=rt.settings.office.short_name,
        office_genitive=rt.settings.office.name_genitive,
        status_url=status_url(rt, session, submission),
    )


def original(submission: Submission) -> compose.Original:
    return compose.Original(
        message_id=submission.message_id,
        references=tuple(submission.references),
        subject=submission.subject or "",
        received_at=submission.received_at,
    )
