"""The `screen` stage: auto-replies, bounces, lists and loops; size and part limits; the acknowledgement.

Screening itself is quick, and it counts the sender's earlier messages in the database (the reply cap), which
must be counted in the transaction that records the decision: only the parse of the message is prepared.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from intake import texts
from intake.mailbox.parse import MAX_DEPTH, ParsedMessage
from intake.mailbox.screening import Category, ScreeningContext
from intake.mailbox.screening import screen as screen_message
from intake.models import Submission, SubmissionState
from intake.outbox import enqueue
from intake.receipts import compose
from intake.records import add_finding
from intake.runtime import Runtime
from intake.stages.parse import parsed_message
from intake.stages.replies import correspondent, original
from intake.validation.filetypes import takes_de

NO_SENDER_REASON = "the message has no usable From address: it cannot be answered"


def snapshot(rt: Runtime, session: Session, submission: Submission) -> str:
    return submission.sha256


def prepare(rt: Runtime, sha256: str) -> ParsedMessage:
    return parsed_message(rt, sha256)


def record(rt: Runtime, session: Session, submission: Submission, message: ParsedMessage) -> None:
    limits = rt.settings.limits
    context = ScreeningContext(
        own_addresses=frozenset({rt.settings.smtp.from_address.lower()}),
        replies_to_sender_recently=_recent_replies(rt, session, submission),
        reply_cap=limits.reply_cap_per_sender,
        authentication=submission.authentication or "none",
        authentication_evidence=submission.authentication_evidence or "",
    )
    result = screen_message(message, context)
    submission.category = result.category
    submission.reply_allowed = result.reply_allowed
    submission.screening_reason = result.reason
    submission.reply_capped = result.capped
    if result.unauthenticated:
        _note_unauthenticated(rt, session, submission)
    if result.category != Category.SUBMISSION:
        submission.state = SubmissionState.IGNORED
        return
    if message.from_address is None:
        submission.state = SubmissionState.QUARANTINED
        submission.quarantine_reason = NO_SENDER_REASON
        return
    if submission.size > limits.max_message_bytes:
        add_finding(
            session,
            rt,
            submission,
            "oversized",
            f"Mesajul are {_megabytes(submission.size)}, peste limita de {_megabytes(limits.max_message_bytes)}.",
        )
    _note_parts_left_out(rt, session, submission, message)
    if result.reply_allowed and rt.settings.replies.acknowledgement:
        _queue_acknowledgement(rt, session, submission)


def _queue_acknowledgement(rt: Runtime, session: Session, submission: Submission) -> None:
    smtp = rt.settings.smtp
    reply = compose.build_acknowledgement(
        correspondent(rt, session, submission),
        original(submission),
        message_id=compose.make_message_id(
            "ack", submission.office, submission.id or 0, smtp.from_address, secret=rt.link_secret
        ),
        now=rt.clock.now(),
    )
    enqueue(session, rt, submission, kind="acknowledgement", message=reply)


def _note_unauthenticated(rt: Runtime, session: Session, submission: Submission) -> None:
    """Staff see why this message got no reply (and no visit): a staff-only finding, in Romanian."""
    evidence = submission.authentication_evidence or ""
    reason = texts.part("expeditor", "motiv_dmarc" if "dmarc=fail" in evidence else "motiv_spf")
    add_finding(
        session,
        rt,
        submission,
        "sender_unauthenticated",
        texts.part("expeditor", "neautentificat", motiv=reason),
        detail={"authentication_results": evidence},
        staff_only=True,
    )


def _recent_replies(rt: Runtime, session: Session, submission: Submission) -> int:
    """How many of this sender's earlier messages (in order of arrival) we decided, or may still decide, to answer
    automatically within the cap window.

    Counted from the decisions, not from the outbox, so a batch screened before any receipt is queued is
    capped all the same; by `cap_key`, so spelling the address differently does not start a new count. Only
    earlier arrivals count, and an earlier one parsed but not yet screened counts as answered: workers screen a
    batch in any order (the pipeline parses the whole batch first), and the cap must still fall on the latest
    messages, as it would one by one."""
    if not submission.sender_key:
        return 0
    since = submission.claimed_at - timedelta(hours=rt.settings.limits.reply_cap_window_hours)
    earlier = or_(
        col(Submission.received_at) < submission.received_at,
        and_(Submission.received_at == submission.received_at, col(Submission.id) < submission.id),
    )
    undecided = and_(Submission.state == SubmissionState.RECEIVED, Submission.stage == "parse")
    count = session.exec(
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.office == submission.office,
            Submission.sender_key == submission.sender_key,
            or_(col(Submission.reply_allowed).is_(True), undecided),
            col(Submission.claimed_at) >= since,
            earlier,
        )
    ).one()
    return int(count)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def _note_parts_left_out(rt: Runtime, session: Session, submission: Submission, message: ParsedMessage) -> None:
    """One finding for everything the part caps left out (issue 10, point 3), however many parts that is."""
    limits = rt.settings.limits
    kept = min(len(message.attachments), limits.max_attachments)
    rest = len(message.attachments) - kept + message.parts_left_out
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
            detail={"parts": message.parts, "attachments": len(message.attachments), "left_out": rest},
        )
    if message.nesting_cut:
        add_finding(
            session,
            rt,
            submission,
            "oversized",
            texts.render("constatare_parts_left_out", motiv="too_deep", maxim=MAX_DEPTH, de=takes_de(MAX_DEPTH)),
        )
