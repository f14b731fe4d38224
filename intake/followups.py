"""Recognise a follow-up: a message that continues an earlier case rather than starting a new one.

A reply to one of our messages (In-Reply-To/References naming a Message-ID we sent, or the sender's own
earlier message) or a subject carrying a registration number names a case. It only ever names a case of the same
address: someone else cannot add documents to a file, or learn about it, by quoting a number.

But the From is not authenticated (issue 10, point 12): registration numbers are sequential and anyone can write
`From: <victim>`. So a message that names a case may change it (join it: its documents, consent and answers count
for the case, findings clear, the visit moves) only with proof that it comes from the case's owner:

- the agency's MX authenticated the From (`Authentication-Results`: DMARC pass, or an aligned DKIM pass;
  `intake.mailbox.authentication`), or
- it quotes one of our unguessable Message-IDs (`compose.make_message_id`): only someone who received our reply
  knows it.

Without proof it is registered as a submission of its own, linked for staff ("possibly related to case N"), with
no effect on the case. A From that failed authentication never joins, token or not: that message is treated as
forged (it gets no reply either, `stages.screen`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from intake import texts
from intake.clock import local
from intake.mailbox.authentication import Authentication
from intake.models import OutboxMessage, Submission
from intake.receipts.compose import carries_token
from intake.records import add_finding
from intake.registry import format_registration
from intake.runtime import Runtime

REGISTRATION_IN_SUBJECT = re.compile(r"(?<!\d)(\d{1,7})/(\d{2})\.(\d{2})\.(\d{4})(?!\d)")
OLD_STYLE_MESSAGE_ID = re.compile(r"^<intake\.([a-z0-9_-]+)\.(\d{1,12})\.[^@>]*@[^>]+>$", re.IGNORECASE)

TOKEN = "token"  # the proof: it quoted one of our unguessable Message-IDs
AUTHENTICATED = "authenticated"  # the proof: the agency's MX authenticated the From (DMARC or aligned DKIM)


@dataclass(frozen=True)
class FollowUp:
    case: Submission  # the first message of the case the message names
    proof: str | None  # TOKEN, AUTHENTICATED, or None: it may not change the case, only be linked to it

    @property
    def joins(self) -> bool:
        return self.proof is not None


def find_follow_up(session: Session, submission: Submission) -> FollowUp | None:
    """The case `submission` names, and whether it may join it; None when it names none of its sender's."""
    if not submission.sender:
        return None
    earlier, token = _by_message_ids(session, submission)
    if earlier is None:
        earlier = _by_registration_number(session, submission)
    if earlier is None or earlier.id == submission.id or not same_address(earlier.sender, submission.sender):
        return None
    case = session.get(Submission, earlier.case_id) if earlier.case_id is not None else earlier
    if case is None:
        return None
    return FollowUp(case, _proof(submission, token))


def find_case(session: Session, submission: Submission) -> Submission | None:
    """The first message of the case `submission` may join (with proof), or None."""
    follow_up = find_follow_up(session, submission)
    return follow_up.case if follow_up is not None and follow_up.joins else None


def same_address(one: str | None, other: str | None) -> bool:
    """The whole address, case-insensitive: mailbox names are case-insensitive in practice (RFC 5321 §2.4 lets the
    receiving host decide, and every provider we answer folds case), and nothing else is folded (dots, +tags)."""
    return bool(one and other) and (one or "").casefold() == (other or "").casefold()


def _proof(submission: Submission, token: bool) -> str | None:
    if submission.authentication == Authentication.FAIL:
        return None
    if submission.authentication == Authentication.PASS:
        return AUTHENTICATED
    return TOKEN if token else None


def _references(submission: Submission) -> list[str]:
    return [ref for ref in (submission.in_reply_to, *reversed(submission.references)) if ref]


def _by_message_ids(session: Session, submission: Submission) -> tuple[Submission | None, bool]:
    """The message the references name, and whether one of them was an unguessable Message-ID of ours. A reference
    with a token wins over one without (an old-style `<intake.cj.2.receipt@…>` proves nothing)."""
    referenced = _references(submission)
    if not referenced:
        return None, False
    rows = session.exec(
        select(OutboxMessage.message_id, OutboxMessage.submission_id).where(
            OutboxMessage.office == submission.office, col(OutboxMessage.message_id).in_(referenced)
        )
    ).all()
    ours = [(message_id, submission_id) for message_id, submission_id in rows if submission_id is not None]
    ours.sort(key=lambda row: (not carries_token(row[0]), referenced.index(row[0])))
    for message_id, submission_id in ours:
        found = session.get(Submission, submission_id)
        if found is not None and same_address(found.sender, submission.sender):
            return found, carries_token(message_id)
    own = session.exec(
        select(Submission)
        .where(
            Submission.office == submission.office,
            col(Submission.message_id).in_(referenced),
            Submission.id != submission.id,
            col(Submission.number).is_not(None),
        )
        .order_by(col(Submission.id))
    ).first()
    return own or _by_old_style_message_id(session, submission, referenced), False


def _by_old_style_message_id(session: Session, submission: Submission, referenced: list[str]) -> Submission | None:
    """`<intake.cj.12.receipt@…>`, the form our Message-IDs had before they carried a token, names submission 12
    whether or not we sent it: a genuine reply to an old message, or someone guessing. Either way it names that
    case (never proves anything), so staff see the message beside it."""
    for reference in referenced:
        match = OLD_STYLE_MESSAGE_ID.match(reference)
        if match is None or match.group(1) != submission.office.lower():
            continue
        found = session.get(Submission, int(match.group(2)))
        if found is not None and found.office == submission.office and found.number is not None:
            return found
    return None


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


def settle(session: Session, rt: Runtime, submission: Submission) -> FollowUp | None:
    """The parse stage's decision: join the named case (with proof), or register on its own, linked for staff."""
    follow_up = find_follow_up(session, submission)
    if follow_up is None:
        return None
    case = follow_up.case
    if follow_up.joins:
        submission.case_id = case.id
        return follow_up
    submission.related_case_id = case.id
    add_finding(
        session,
        rt,
        submission,
        "possibly_related",
        texts.part("expeditor", "posibil_legat", dosar=_label(rt, case)),
        detail={"case_id": case.id, "authentication": submission.authentication},
        staff_only=True,
    )
    return follow_up


def _label(rt: Runtime, case: Submission) -> str:
    if case.number is None or case.registered_at is None:
        return f"#{case.id}"
    return format_registration(case.number, local(case.registered_at, rt.settings.office.timezone))
