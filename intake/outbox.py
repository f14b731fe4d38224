"""The outbox (guarantee 3): replies are queued in the transaction that decides them, sent by a separate job.

A message is marked sent right after the server accepts it. The only window in which a crash could send a
message twice is between the server's "250 OK" and that commit; the stable Message-ID lets the recipient's
mail system (and staff) recognise such a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlmodel import Session, col, select

from intake.clock import utcnow
from intake.db import transaction
from intake.models import Event, OutboxMessage, OutboxState, Submission
from intake.runtime import Runtime
from intake.settings import SmtpSettings

log = logging.getLogger(__name__)


def enqueue(
    session: Session, rt: Runtime, submission: Submission | None, *, kind: str, message: EmailMessage
) -> OutboxMessage:
    now = utcnow()
    raw = message.as_bytes()
    row = OutboxMessage(
        office=rt.office,
        submission_id=submission.id if submission else None,
        kind=kind,
        message_id=str(message["Message-ID"]),
        recipient=str(message["To"]),
        raw=raw,
        next_attempt_at=now,
        created_at=now,
    )
    limit = rt.settings.limits.max_reply_bytes
    if len(raw) > limit:
        # Whatever built it, a reply this large would make the agency an amplifier for whoever writes to it (a
        # 2 MB mail once drew a 17.7 MB recipisă): it is kept for staff, never sent.
        error = f"reply of {len(raw)} bytes exceeds limits.max_reply_bytes ({limit})"
        row.state = OutboxState.FAILED
        row.last_error = error
        row.raw = raw[:limit]
        session.add(Event(submission_id=row.submission_id, at=now, action="reply_too_large", detail={"error": error}))
        log.error("outbox: %s reply for submission %s not sent: %s", kind, row.submission_id, error)
    session.add(row)
    return row


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


def due_ids(rt: Runtime, limit: int = 200) -> list[int]:
    with transaction(rt.engine) as session:
        rows = session.exec(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.office == rt.office,
                OutboxMessage.state == OutboxState.PENDING,
                col(OutboxMessage.next_attempt_at) <= utcnow(),
            )
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        ).all()
    return [row for row in rows if row is not None]


# The poll cycle and the outbox job of one daemon both send: two at once would each read the same due rows and
# send every reply twice. The one that finds a send under way leaves it to that one.
_sending = threading.Lock()


def send_due(rt: Runtime) -> SendReport:
    if not _sending.acquire(blocking=False):
        return SendReport()
    try:
        ids = due_ids(rt)
        if not ids:
            return SendReport()
        return asyncio.run(_send_all(rt, ids))
    finally:
        _sending.release()


async def _send_all(rt: Runtime, ids: list[int]) -> SendReport:
    report = SendReport()
    smtp = rt.settings.smtp
    client = _client(smtp)
    try:
        await client.connect()
        if smtp.username:
            await client.login(smtp.username, smtp.password.get_secret_value())
    except (aiosmtplib.SMTPException, OSError) as exc:
        for outbox_id in ids:
            _defer(rt, outbox_id, f"cannot connect to {smtp.host}:{smtp.port}: {exc}", report)
        return report
    try:
        for outbox_id in ids:
            await _send_one(rt, client, outbox_id, report)
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()
    return report


async def _send_one(rt: Runtime, client: aiosmtplib.SMTP, outbox_id: int, report: SendReport) -> None:
    with transaction(rt.engine) as session:
        row = session.get_one(OutboxMessage, outbox_id)
        raw, recipient = row.raw, row.recipient
    try:
        if not client.is_connected:
            await client.connect()
        if client.last_ehlo_response is None:
            await client.ehlo()  # the extensions decide how an internationalised address may travel
        options = _mail_options(client, rt.settings.smtp.from_address, recipient)
        if options is None:
            # RFC 6531: an internationalised address (jdöe@mächine.example) can only travel over SMTPUTF8.
            _fail(rt, outbox_id, "the recipient's address is internationalised and the server offers no SMTPUTF8",
                  report)
            return
        await client.sendmail(rt.settings.smtp.from_address, [recipient], raw, mail_options=options)
    except aiosmtplib.SMTPResponseException as exc:
        if 500 <= exc.code < 600:
            _fail(rt, outbox_id, f"rejected by the server: {exc.code} {exc.message}", report)
        else:
            _defer(rt, outbox_id, f"temporary failure: {exc.code} {exc.message}", report)
        return
    except (aiosmtplib.SMTPException, OSError) as exc:
        _defer(rt, outbox_id, f"{type(exc).__name__}: {exc}", report)
        return
    except (UnicodeError, ValueError) as exc:
        # Whatever else one reply's address or bytes make of the client, it is that reply's failure: the
        # others in the batch still go out.
        _fail(rt, outbox_id, f"cannot be sent: {type(exc).__name__}: {exc}", report)
        return
    with transaction(rt.engine) as session:
        row = session.get_one(OutboxMessage, outbox_id)
        row.state = OutboxState.SENT
        row.sent_at = utcnow()
        row.attempts += 1
        session.add(Event(submission_id=row.submission_id, at=utcnow(), action=f"sent:{row.kind}"))
    report.sent += 1


def _mail_options(client: aiosmtplib.SMTP, sender: str, recipient: str) -> list[str] | None:
    """[] for plain ASCII addresses, ["SMTPUTF8"] when an address needs it and the server offers it, else None."""
    if sender.isascii() and recipient.isascii():
        return []
    return ["SMTPUTF8"] if client.supports_extension("smtputf8") else None


def _defer(rt: Runtime, outbox_id: int, error: str, report: SendReport) -> None:
    worker = rt.settings.worker
    with transaction(rt.engine) as session:
        row = session.get_one(OutboxMessage, outbox_id)
        row.attempts += 1
        row.last_error = error[:500]
        if row.attempts >= worker.outbox_max_attempts:
            row.state = OutboxState.FAILED
            report.failed += 1
            log.error("outbox %s undeliverable after %s attempts: %s", outbox_id, row.attempts, error)
            return
        delay = min(worker.outbox_backoff_seconds * 2 ** (row.attempts - 1), worker.outbox_backoff_max_seconds)
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)
    report.deferred += 1
    log.warning("outbox %s deferred (%s): %s", outbox_id, f"retry in {delay:.0f} s", error)


def _fail(rt: Runtime, outbox_id: int, error: str, report: SendReport) -> None:
    with transaction(rt.engine) as session:
        row = session.get_one(OutboxMessage, outbox_id)
        row.attempts += 1
        row.last_error = error[:500]
        row.state = OutboxState.FAILED
        session.add(
            Event(submission_id=row.submission_id, at=utcnow(), action="undeliverable", detail={"error": error})
        )
    report.failed += 1
    log.error("outbox %s rejected permanently: %s", outbox_id, error)


def _client(smtp: SmtpSettings) -> aiosmtplib.SMTP:
    context = ssl.create_default_context()
    return aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        use_tls=smtp.security == "ssl",
        start_tls=smtp.security == "starttls",
        tls_context=context,
        timeout=smtp.timeout_seconds,
        # Without it aiosmtplib asks DNS for our own name, which can stall on a machine without DNS.
        local_hostname=smtp.from_address.rpartition("@")[2] or "localhost",
    )
