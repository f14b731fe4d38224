"""`intake purge`: erase what is past its retention (intake/retention.py), case by case, every erasure audited.

What goes, per message of a case past its period:
- `raw_mail`: the stored .eml, and the sender's address and name, the subject, the body and the mail server's
  authentication text copied out of it;
- `attachments`: the stored documents, their file names, and the values read from the forms (the CNPs and names
  kept in the findings' details for staff);
- `evidence`: the stored recipise, the copies of the replies sent (outbox), and the signature validation
  reports with the signers' names.

What stays: the registry line (office, number, date of registration, state, request type), the finding codes and
the history, because the registry must stay gap-free (procedure 001 Art. 24(2): numbers in ascending order per
calendar year) and a purge must not make the registry look as if a number was never given. `status` and
`submissions` keep working on purged cases; they show "-" where the sender was.

A blob is content-addressed: the same attachment sent in two cases is one file. It is deleted only when no message
that is not yet purged of that kind still points at it. The file is removed inside the transaction that records
the purge, just before its commit: a crash in between leaves the record uncommitted and the next purge finishes it
(a file already gone is fine), never a record that says erased over a file still there.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists
from sqlmodel import Session, col, delete, select

from intake.db import read_transaction, transaction
from intake.models import (
    AuditEvent,
    Document,
    Event,
    Finding,
    OutboxMessage,
    OutboxState,
    PurgeRecord,
    Receipt,
    SignatureCheck,
    Submission,
)
from intake.registry import registration_label
from intake.retention import ATTACHMENTS, EVIDENCE, KINDS, RAW_MAIL, CaseClock, case_clocks, due, ends_at, held_cases
from intake.runtime import Runtime

log = logging.getLogger(__name__)

AUDIT_ACTION = "purge"
ERASED_FILENAME = "document-{n}"  # what a document's name becomes: its original name may carry the person's name


@dataclass
class PurgeItem:
    case: str | None  # the case's registration number, N/DD.MM.YYYY (None: never registered)
    submission_id: int  # the case's first message
    what: str  # raw_mail | attachments | evidence
    messages: int
    blobs: int
    expired_at: str  # ISO: when the period ended


@dataclass
class PurgeReport:
    now: str
    dry_run: bool
    purged: list[PurgeItem] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)  # cases past a period but kept by a legal hold
    audit_entries: int = 0  # audit trail entries past retention.audit_days (deleted, or to delete)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _DryRun(Exception):
    """Raised at the end of a dry run's transaction: everything it did is rolled back."""


def purge(rt: Runtime, *, dry_run: bool = False, actor: str = "intake") -> PurgeReport:
    """One purge of the office `rt` as of `rt.clock.now()`, each case in its own short transaction. A dry run does
    the same work and rolls it back, so what it lists is exactly what a purge would erase."""
    now = rt.clock.now()
    report = PurgeReport(now=now.isoformat(), dry_run=dry_run)
    retention = rt.settings.retention
    with read_transaction(rt.engine) as session:
        holds = held_cases(session, rt.office)
        clocks = [clock for clock in case_clocks(session, office=rt.office) if due(retention, clock, now)]
        done = _done(session, rt.office)
    for clock in clocks:
        # Only what is still to erase: a case erased years ago is not opened again every night.
        kinds = [what for what in due(retention, clock, now) if any((m, what) not in done for m in clock.messages)]
        if not kinds:
            continue
        if clock.root_id in holds:
            with read_transaction(rt.engine) as session:
                label = _label(rt, session.get(Submission, clock.root_id))
            report.held.append({"case": label, "submission_id": clock.root_id, "what": kinds})
            continue
        try:
            with transaction(rt.engine) as session:
                label = _label(rt, session.get(Submission, clock.root_id))
                for what in kinds:
                    item = _purge_case(session, rt, clock, what, done, now, dry_run=dry_run, actor=actor)
                    if item is not None:
                        item.case = label
                        report.purged.append(item)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
    report.audit_entries = _purge_audit(rt, now, holds, dry_run=dry_run, actor=actor)
    if not dry_run and (report.purged or report.audit_entries):
        log.info(
            "purge %s: %d erasures over %d cases, %d audit entries (%d cases held)",
            rt.office,
            len(report.purged),
            len({item.submission_id for item in report.purged}),
            report.audit_entries,
            len(report.held),
        )
    return report


def _label(rt: Runtime, root: Submission | None) -> str | None:
    return (registration_label(root, rt.settings.office.timezone) or None) if root is not None else None


def _done(session: Session, office: str) -> set[tuple[int, str]]:
    rows = session.exec(select(PurgeRecord.submission_id, PurgeRecord.what).where(PurgeRecord.office == office))
    return {(submission_id, what) for submission_id, what in rows.all()}


def _purge_case(
    session: Session,
    rt: Runtime,
    clock: CaseClock,
    what: str,
    done: set[tuple[int, str]],
    now: datetime,
    *,
    dry_run: bool,
    actor: str,
) -> PurgeItem | None:
    messages = [
        message
        for message in session.exec(
            select(Submission).where((Submission.id == clock.root_id) | (Submission.case_id == clock.root_id))
        ).all()
        if (message.id, what) not in done
    ]
    if not messages:
        return None
    blobs: set[str] = set()
    for message in messages:
        blobs |= ERASERS[what](session, message)
        session.add(PurgeRecord(office=message.office, submission_id=message.id or 0, what=what, purged_at=now))
    session.flush()
    unreferenced = sorted(blob for blob in blobs if not _still_referenced(session, blob))
    expired = ends_at(rt.settings.retention, what, clock.last_activity, ignored=clock.ignored)
    key = "ignored_mail_days" if clock.ignored else f"{what}_days"
    # The audit says who, what and why: counts, the rule and when its period ended; never a name, address or CNP.
    session.add(
        AuditEvent(
            office=clock.office,
            at=now,
            actor=actor,
            action=AUDIT_ACTION,
            submission_id=clock.root_id,
            before={"messages": len(messages), "files": len(unreferenced)},
            after={"what": what, "retention_ended": expired.isoformat()},
            note=f"retention.{key} = {getattr(rt.settings.retention, key)} zile, depășit",
        )
    )
    if not dry_run:
        for blob in unreferenced:
            rt.store.path_for(blob).unlink(missing_ok=True)
    return PurgeItem(
        case=None,
        submission_id=clock.root_id,
        what=what,
        messages=len(messages),
        blobs=len(unreferenced),
        expired_at=expired.isoformat(),
    )


# ------------------------------------------------------------------------------------------------- erasers
# Each erases one kind of data of one message in the session and returns the blobs it no longer needs.


def _erase_raw_mail(session: Session, message: Submission) -> set[str]:
    message.sender = None
    message.sender_name = None
    message.sender_key = None
    message.subject = None
    message.text_body = None
    message.in_reply_to = None
    message.references = []
    message.authentication_evidence = None
    message.last_error = None  # a traceback may quote the message
    session.add(message)
    for event in session.exec(select(Event).where(Event.submission_id == message.id)).all():
        if {"error", "traceback"} & set(event.detail or {}):  # the same traceback, kept in the history
            event.detail = {key: value for key, value in event.detail.items() if key not in ("error", "traceback")}
            session.add(event)
    return {message.sha256}


def _erase_attachments(session: Session, message: Submission) -> set[str]:
    blobs = set()
    for document in session.exec(select(Document).where(Document.submission_id == message.id)).all():
        blobs.add(document.sha256)
        document.filename = ERASED_FILENAME.format(n=document.position + 1)
        document.original_filename = None
        session.add(document)
    for finding in session.exec(select(Finding).where(Finding.submission_id == message.id)).all():
        finding.detail = {}  # the form's and the certificate's names and CNPs, kept for staff
        session.add(finding)
    return blobs


def _erase_evidence(session: Session, message: Submission) -> set[str]:
    blobs = set(session.exec(select(Receipt.pdf_sha256).where(Receipt.submission_id == message.id)).all())
    documents = session.exec(select(Document).where(Document.submission_id == message.id)).all()
    for document in documents:
        if document.signature:
            document.signature = {"label": document.signature.get("label")}
            session.add(document)
        for check in session.exec(select(SignatureCheck).where(SignatureCheck.document_id == document.id)).all():
            check.verdict, check.evidence, check.report_xml = {"label": check.label}, [], None
            session.add(check)
    outbox = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.submission_id == message.id, OutboxMessage.state != OutboxState.PENDING
        )
    ).all()
    for sent in outbox:  # a reply still to be sent is left alone: the sender owns it
        sent.raw, sent.recipient = b"", ""
        session.add(sent)
    return blobs


ERASERS = {RAW_MAIL: _erase_raw_mail, ATTACHMENTS: _erase_attachments, EVIDENCE: _erase_evidence}
assert set(ERASERS) == set(KINDS)


def _still_referenced(session: Session, blob: str) -> bool:
    """Whether a message not purged of the matching kind still points at the blob (in any office)."""

    def not_purged(submission_id, what: str):  # type: ignore[no-untyped-def]
        # Correlated, so the (submission_id, what) unique index answers it row by row.
        return ~exists().where(PurgeRecord.submission_id == submission_id, PurgeRecord.what == what)

    checks = (
        # Every office's messages share the store; `office IN (...)` lets the (office, sha256) unique index answer.
        select(Submission.id).where(
            col(Submission.office).in_(select(Submission.office).distinct()),
            Submission.sha256 == blob,
            not_purged(Submission.id, RAW_MAIL),
        ),
        select(Document.id).where(Document.sha256 == blob, not_purged(Document.submission_id, ATTACHMENTS)),
        select(Receipt.id).where(Receipt.pdf_sha256 == blob, not_purged(Receipt.submission_id, EVIDENCE)),
    )
    return any(session.exec(query.limit(1)).first() is not None for query in checks)


def _purge_audit(rt: Runtime, now: datetime, holds: set[int], *, dry_run: bool, actor: str) -> int:
    """Audit entries older than `retention.audit_days`, except those about a held case."""
    cutoff = now - timedelta(days=rt.settings.retention.audit_days)
    # Entries about any message of a held case stay: its follow-ups' too.
    held_messages = select(Submission.id).where(col(Submission.id).in_(holds) | col(Submission.case_id).in_(holds))
    where = [
        AuditEvent.office == rt.office,
        col(AuditEvent.at) < cutoff,
        col(AuditEvent.submission_id).is_(None) | col(AuditEvent.submission_id).not_in(held_messages),
    ]
    with transaction(rt.engine) as session:
        count = len(session.exec(select(AuditEvent.id).where(*where)).all())
        if count and not dry_run:
            session.exec(delete(AuditEvent).where(*where))  # type: ignore[call-overload]
            session.add(
                AuditEvent(
                    office=rt.office,
                    at=now,
                    actor=actor,
                    action=AUDIT_ACTION,
                    before={"entries": count},
                    after={"what": "audit", "before": cutoff.isoformat()},
                    note="retention.audit_days depășit",
                )
            )
    return count
