"""Recognise a follow-up: a message that continues an earlier case rather than starting a new one.

A reply to one of our messages (In-Reply-To/References naming a Message-ID we sent, or the sender's own
earlier message) or a subject carrying a registration number joins that case, but only when it comes from
the same address as the case: someone else cannot add documents to a file, or learn about it, by quoting a
number.
"""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from intake.models import OutboxMessage, Submission

REGISTRATION_IN_SUBJECT = re.compile(r"(?<!\d)(\d{1,7})/(\d{2})\.(\d{2})\.(\d{4})(?!\d)")


def find_case(session: Session, submission: Submission) -> Submission | None:
    """The first message of the case `submission` continues, or None."""
    if not submission.sender:
        return None
    earlier = _by_message_ids(session, submission) or _by_registration_number(session, submission)
    if earlier is None or earlier.id == submission.id or earlier.sender != submission.sender:
        return None
    if earlier.case_id is not None:
        return session.get(Submission, earlier.case_id)
    return earlier


def _by_message_ids(session: Session, submission: Submission) -> Submission | None:
    referenced = [ref for ref in (submission.in_reply_to, *reversed(submission.references)) if ref]
    if not referenced:
        return None
    ours = session.exec(
        select(OutboxMessage.submission_id).where(col(OutboxMessage.message_id).in_(referenced))
    ).first()
    if ours is not None:
        return session.get(Submission, ours)
    return session.exec(
        select(Submission)
        .where(
            Submission.office == submission.office,
            col(Submission.message_id).in_(referenced),
            Submission.id != submission.id,
            col(Submission.number).is_not(None),
        )
        .order_by(col(Submission.id))
    ).first()


def _by_registration_number(session: Session, submission: Submission) -> Submission | None:
    for match in REGISTRATION_IN_SUBJECT.finditer(submission.subject or ""):
        number, year = int(match.group(1)), int(match.group(4))
        found = session.exec(
            select(Submission).where(
                Submission.office == submission.office, Submission.number == number, Submission.year == year
            )
        ).first()
        if found is not None:
            return found
    return None
