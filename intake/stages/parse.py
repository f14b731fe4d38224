"""The `parse` stage: headers, text and attachments from the stored raw e-mail."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from sqlmodel import Session

from intake import followups
from intake.mailbox.authentication import SenderAuthentication, judge
from intake.mailbox.parse import ParsedMessage, parse_message
from intake.mailbox.screening import cap_key
from intake.models import Document, Submission
from intake.runtime import Runtime

# The last e-mails parsed in this process, by hash: parse and screen run one after the other in one worker child,
# and parsing a 2 MB e-mail costs ~100 ms. Two, not more: a parsed e-mail holds its attachments' bytes.
_PARSED: OrderedDict[tuple[str, int], ParsedMessage] = OrderedDict()
_PARSED_KEPT = 2


def parsed_message(rt: Runtime, sha256: str) -> ParsedMessage:
    """The stored raw e-mail of that hash, parsed (kept for the next stages of the same run)."""
    key = (sha256, rt.settings.limits.max_parts)
    message = _PARSED.get(key)
    if message is None:
        message = parse_message(rt.store.get(sha256), max_parts=key[1])
        _PARSED[key] = message
        while len(_PARSED) > _PARSED_KEPT:
            _PARSED.popitem(last=False)
    _PARSED.move_to_end(key)
    return message


@dataclass(frozen=True)
class Parsed:
    message: ParsedMessage
    verdict: SenderAuthentication
    attachment_hashes: tuple[str, ...]  # of the attachments kept, in order, already in the blob store


def snapshot(rt: Runtime, session: Session, submission: Submission) -> str:
    return submission.sha256


def prepare(rt: Runtime, sha256: str) -> Parsed:
    message = parsed_message(rt, sha256)
    verdict = judge(message.authentication_results, message.from_address, rt.settings.imap.authserv_id)
    # Past the cap nothing is stored one by one: `validate` names what was left out in one finding.
    kept = message.attachments[: rt.settings.limits.max_attachments]
    return Parsed(message, verdict, tuple(rt.store.put(attachment.data) for attachment in kept))


def record(rt: Runtime, session: Session, submission: Submission, parsed: Parsed) -> None:
    message = parsed.message
    submission.message_id = message.message_id
    submission.sender = message.from_address
    submission.sender_name = message.from_name
    submission.subject = message.subject
    submission.in_reply_to = message.in_reply_to
    submission.references = list(message.references)
    submission.text_body = message.text_body
    submission.has_html = message.html_body is not None
    submission.defects = list(message.defects)
    submission.sender_key = cap_key(message.from_address)
    submission.authentication = parsed.verdict.status
    submission.authentication_evidence = parsed.verdict.evidence
    followups.settle(session, rt, submission)  # joins the case it names only with proof; else linked for staff
    for position, (attachment, sha256) in enumerate(
        zip(message.attachments[: len(parsed.attachment_hashes)], parsed.attachment_hashes, strict=True), start=1
    ):
        session.add(
            Document(
                submission_id=submission.id,
                position=position,
                filename=attachment.filename,
                original_filename=attachment.original_filename,
                declared_type=attachment.declared_type,
                origin=attachment.origin,
                sha256=sha256,
                size=len(attachment.data),
            )
        )
