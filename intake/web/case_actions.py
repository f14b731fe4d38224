"""What registry staff see and do with a case: the queue query, the case view and the actions.

Kept apart from the routes so the rules (which submissions need a person, what each action changes and what
the audit trail records) read without HTTP around them. Every function here works inside the caller's
transaction; the one exception is `reprocess`, because `pipeline.replay` opens its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_
from sqlmodel import Session, col, select

from intake.appointments import service
from intake.case_file import case_findings
from intake.clock import local
from intake.db import transaction
from intake.models import (
    Appointment,
    AuditEvent,
    CaseVerification,
    Document,
    Event,
    Finding,
    OutboxMessage,
    Receipt,
    Submission,
    SubmissionState,
    VerificationState,
)
from intake.outbox import enqueue
from intake.receipts import compose
from intake.records import add_finding, open_findings
from intake.registry import format_registration
from intake.runtime import Runtime
from intake.texts import WEEKDAYS, labels
from intake.web import sent
from intake.web.auth import CurrentUser, audit

PAGE_SIZE = 50

# The codes' Romanian words live in one catalogue (intake.texts.labels); these names are kept for the callers.
FINDING_CODES = labels.FINDINGS

STATE_FILTERS: dict[str, str] = {
    "deschise": "Toate deschise",
    "semnalate": "Cu constatări",
    "carantina": "În carantină",
    "de_verificat": "De verificat (dosare complete)",
    "rezolvate": "Rezolvate",
}

VERIFICATION_RO = labels.VERIFICATION_STATES
SIGNATURE_LABELS_RO = labels.SIGNATURE_LABELS
PURPOSES_RO = labels.PURPOSES
STATES_RO = labels.SUBMISSION_STATES
OUTBOX_STATES_RO = labels.OUTBOX_STATES

# "12", "12/2026" or "12/23.11.2026" (the form printed on the recipisă).
_REGISTRATION = re.compile(r"^\s*(\d{1,7})\s*(?:/\s*(?:(\d{1,2})\.(\d{1,2})\.)?(\d{4}))?\s*$")


class ActionError(Exception):
    """An action that cannot be done in the case's current state; `key` names the Romanian message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@lru_cache(maxsize=1)
def request_type_names() -> dict[str, str]:
    from intake.validation.checklist import default_checklists

    try:
        return {code: kind.name for code, kind in default_checklists().items()}
    except Exception:  # a label is not worth a broken queue
        return {}


def request_type_label(code: str | None) -> str:
    if not code:
        return "—"
    return request_type_names().get(code, code)


def waited(since: datetime, until: datetime) -> str:
    """'3 z 4 h' (days and hours), or minutes under an hour."""
    seconds = max(0, int((until - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} z {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min"


def registration(submission: Submission, timezone: str) -> str | None:
    if submission.number is None or submission.registered_at is None:
        return None
    return format_registration(submission.number, local(submission.registered_at, timezone))


def load_case(session: Session, rt: Runtime, submission_id: int) -> Submission | None:
    """The submission if it belongs to this office: anything else is treated as not existing."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.office != rt.office:
        return None
    return submission


# --- the queue ---------------------------------------------------------------------------------------------


@dataclass
class QueueFilter:
    state: str = "deschise"
    code: str = ""
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""
    page: int = 1


@dataclass
class QueuePage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    filters: QueueFilter = field(default_factory=QueueFilter)


def queue(session: Session, rt: Runtime, filters: QueueFilter) -> QueuePage:
    timezone = rt.settings.office.timezone
    # Any open finding puts a case in the queue, staff-only ones too: `flagged` stays false for those (the
    # citizen is not called in), but a clerk still has to confirm them, so the queue is built on findings.
    has_open_finding = exists().where(
        col(Finding.submission_id) == col(Submission.id), col(Finding.cleared_at).is_(None)
    )
    quarantined = col(Submission.state) == SubmissionState.QUARANTINED
    unresolved = col(Submission.resolved_at).is_(None)
    query = select(Submission).where(Submission.office == rt.office)
    if filters.state == "semnalate":
        query = query.where(unresolved, has_open_finding, ~quarantined)
    elif filters.state == "carantina":
        query = query.where(unresolved, quarantined)
    elif filters.state == "rezolvate":
        query = query.where(col(Submission.resolved_at).is_not(None))
    elif filters.state == "de_verificat":
        # Procedure 000 step 8: complete cases waiting for a clerk's cross-checks before the decision visit. Their
        # own tab: the default list stays the cases with something wrong.
        query = query.where(unresolved, _awaiting_verification())
    else:
        query = query.where(unresolved, or_(has_open_finding, quarantined))
    if filters.code:
        with_code = exists().where(col(Finding.submission_id) == col(Submission.id), Finding.code == filters.code)
        if filters.state != "rezolvate":  # a resolved case's findings may all be cleared; still let staff find it
            with_code = with_code.where(col(Finding.cleared_at).is_(None))
        query = query.where(with_code)
    zone = ZoneInfo(timezone)
    if filters.date_from:
        query = query.where(col(Submission.received_at) >= datetime.combine(filters.date_from, time(), zone))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(), zone)
        query = query.where(col(Submission.received_at) < end)
    query = _search(query, filters.search, zone)

    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    rows = session.exec(
        query.order_by(col(Submission.received_at), col(Submission.id)).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return QueuePage(_queue_rows(session, rt, list(rows)), total, page, pages, filters)


def _awaiting_verification():  # type: ignore[no-untyped-def]
    return exists().where(
        col(CaseVerification.submission_id) == col(Submission.id),
        CaseVerification.state == VerificationState.PENDING,
    )


def awaiting_verification_count(session: Session, rt: Runtime) -> int:
    """How many complete cases wait for a clerk (the "de verificat" tab's count, shown on every queue page)."""
    return int(
        session.exec(
            select(func.count()).select_from(
                select(Submission.id)
                .where(Submission.office == rt.office, col(Submission.resolved_at).is_(None), _awaiting_verification())
                .subquery()
            )
        ).one()
    )


def _search(query, text: str, zone: ZoneInfo):  # type: ignore[no-untyped-def]
    """A registration number ("12", "12/2026", "12/23.11.2026") or part of the sender's address or name."""
    text = text.strip()
    if not text:
        return query
    found = _REGISTRATION.match(text)
    if found:
        number, day, month, year = found.groups()
        query = query.where(Submission.number == int(number))
        if year:
            query = query.where(Submission.year == int(year))
        if day and month:
            try:
                registered_on = date(int(year), int(month), int(day))
            except ValueError:
                return query.where(col(Submission.id).is_(None))  # no such day: nothing matches
            start = datetime.combine(registered_on, time(), zone)
            query = query.where(
                col(Submission.registered_at) >= start,
                col(Submission.registered_at) < datetime.combine(registered_on + timedelta(days=1), time(), zone),
            )
        return query
    return query.where(
        or_(
            col(Submission.sender).icontains(text, autoescape=True),
            col(Submission.sender_name).icontains(text, autoescape=True),
        )
    )


def _queue_rows(session: Session, rt: Runtime, submissions: list[Submission]) -> list[dict[str, Any]]:
    """One dict per row; the findings and appointments of the page are read in one query each."""
    timezone = rt.settings.office.timezone
    now = rt.clock.now()
    ids = [s.id for s in submissions]
    findings: dict[int, list[Finding]] = {}
    for finding in session.exec(
        select(Finding)
        .where(col(Finding.submission_id).in_(ids), col(Finding.cleared_at).is_(None))
        .order_by(col(Finding.id))
    ).all():
        findings.setdefault(finding.submission_id, []).append(finding)
    roots = {s.id: s.case_id or s.id for s in submissions}
    appointments: dict[int, Appointment] = {}
    for appointment in session.exec(
        select(Appointment)
        .where(col(Appointment.submission_id).in_(set(roots.values())), Appointment.state == "booked")
        .order_by(col(Appointment.id))
    ).all():
        appointments[appointment.submission_id] = appointment  # the latest wins, as in active_appointment
    verifications = {
        row.submission_id: row.state
        for row in session.exec(
            select(CaseVerification).where(col(CaseVerification.submission_id).in_(set(roots.values())))
        ).all()
    }
    rows = []
    for submission in submissions:
        appointment = appointments.get(roots[submission.id])
        verification = verifications.get(roots[submission.id] or 0)
        rows.append(
            {
                "id": submission.id,
                "registration": registration(submission, timezone),
                "received": local(submission.received_at, timezone),
                "sender": submission.sender,
                "sender_name": submission.sender_name,
                "subject": submission.subject,
                "state": submission.state,
                "state_ro": STATES_RO.get(submission.state, submission.state),
                "quarantine_reason": submission.quarantine_reason,
                "request_type": request_type_label(submission.request_type),
                "findings": findings.get(submission.id or 0, []),
                "appointment": _appointment_summary(appointment, timezone),
                "waited": waited(submission.received_at, submission.resolved_at or now),
                "resolved": submission.resolved_at is not None,
                "follow_up_of": submission.case_id,
                "verification": verification,
                "verification_ro": VERIFICATION_RO.get(verification or ""),
            }
        )
    return rows


def _appointment_summary(appointment: Appointment | None, timezone: str) -> dict[str, Any] | None:
    if appointment is None:
        return None
    return {
        "id": appointment.id,
        "start": local(appointment.start, timezone),
        "end": local(appointment.end, timezone),
        "purpose": appointment.purpose,
        "purpose_ro": PURPOSES_RO.get(appointment.purpose, appointment.purpose),
        "overflow": appointment.overflow,
        "deadline": local(appointment.deadline, timezone) if appointment.deadline else None,
        "sequence": appointment.sequence,
        "reasons": appointment.reasons,
    }


# --- the case page -----------------------------------------------------------------------------------------


def case_view(session: Session, rt: Runtime, submission: Submission) -> dict[str, Any]:
    timezone = rt.settings.office.timezone
    root = service.case_root(session, submission)
    case_ids = {root.id, submission.id} | {
        row for row in session.exec(select(Submission.id).where(Submission.case_id == root.id)).all()
    }
    documents = list(
        session.exec(
            select(Document).where(Document.submission_id == submission.id).order_by(col(Document.position))
        ).all()
    )
    findings = list(
        session.exec(select(Finding).where(Finding.submission_id == submission.id).order_by(col(Finding.id))).all()
    )
    appointment = service.active_appointment(session, root.id or 0)
    follow_ups = list(
        session.exec(
            select(Submission)
            .where(Submission.case_id == root.id, Submission.office == rt.office)
            .order_by(col(Submission.received_at), col(Submission.id))
        ).all()
    )
    outbox = list(
        session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.submission_id).in_(case_ids), OutboxMessage.office == rt.office)
            .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        ).all()
    )
    return {
        "submission": submission,
        "root": root,
        "registration": registration(submission, timezone),
        "root_registration": registration(root, timezone),
        "state_ro": STATES_RO.get(submission.state, submission.state),
        "received": local(submission.received_at, timezone),
        "resolved_at": local(submission.resolved_at, timezone) if submission.resolved_at else None,
        "request_type": request_type_label(submission.request_type),
        "waited": waited(submission.received_at, submission.resolved_at or rt.clock.now()),
        "email": _email_view(rt, submission),
        "documents": [_document_view(doc, timezone) for doc in documents],
        "open_findings": [_finding_view(f, timezone) for f in findings if f.cleared_at is None],
        "cleared_findings": [_finding_view(f, timezone) for f in findings if f.cleared_at is not None],
        "appointment": _appointment_summary(appointment, timezone),
        "slots": _slot_choices(session, rt, root, appointment),
        "verification": _verification_view(session, rt, root),
        "follow_ups": [
            {
                "id": row.id,
                "registration": registration(row, timezone),
                "received": local(row.received_at, timezone),
                "subject": row.subject,
                "state_ro": STATES_RO.get(row.state, row.state),
                "current": row.id == submission.id,
            }
            for row in follow_ups
        ],
        "outbox": [
            {
                "id": row.id,
                "kind": row.kind,
                "kind_ro": labels.label(row.kind, "raspuns"),
                "pdfs": sent.pdf_names(row.raw),
                "recipient": row.recipient,
                "state": OUTBOX_STATES_RO.get(row.state, row.state),
                "created_at": local(row.created_at, timezone),
                "sent_at": local(row.sent_at, timezone) if row.sent_at else None,
                "message_id": row.message_id,
                "last_error": row.last_error,
            }
            for row in outbox
        ],
        "has_receipt": _last_receipt_message(session, submission) is not None,
        "history": _history(session, rt, submission, root),
        "finding_codes": FINDING_CODES,
        "quarantined": submission.state == SubmissionState.QUARANTINED,
    }


def _verification_view(session: Session, rt: Runtime, root: Submission) -> dict[str, Any] | None:
    """Where the case stands before the decision visit (procedure 000 step 8), and whether a clerk may confirm it
    now: complete (nothing open for the citizen) and waiting."""
    verification = service.verification_of(session, root)
    if verification is None:
        return None
    timezone = rt.settings.office.timezone
    staff_only = [f for f in case_findings(session, root, staff=True) if f.staff_only]
    pending = verification.state == VerificationState.PENDING
    return {
        "state": verification.state,
        "state_ro": VERIFICATION_RO.get(verification.state, verification.state),
        "since": local(verification.pending_since, timezone),
        "decided_at": local(verification.decided_at, timezone) if verification.decided_at else None,
        "decided_by": verification.decided_by,
        "can_confirm": pending and not service.citizen_findings(session, root),
        "staff_only_open": [f.message for f in staff_only],
        "auto_confirm_days": rt.settings.appointments.decision_auto_confirm_days,
        "root_id": root.id,
    }


def _finding_view(finding: Finding, timezone: str) -> dict[str, Any]:
    return {
        "id": finding.id,
        "code": finding.code,
        "code_ro": labels.label(finding.code, "constatare"),
        "message": finding.message,
        "document_id": finding.document_id,
        "staff_only": finding.staff_only,
        "created_at": local(finding.created_at, timezone),
        "cleared_at": local(finding.cleared_at, timezone) if finding.cleared_at else None,
    }


def _email_view(rt: Runtime, submission: Submission) -> dict[str, Any]:
    """Headers and bodies from the stored raw message; the HTML body only ever as its source text."""
    from intake.mailbox.parse import parse_message

    view: dict[str, Any] = {
        "from": _from_line(submission.sender_name, submission.sender),
        "to": "",
        "subject": submission.subject or "",
        "date": "",
        "message_id": submission.message_id or "",
        "text_body": submission.text_body or "",
        "html_body": None,
        "defects": list(submission.defects),
        "raw_available": False,
    }
    try:
        raw = rt.store.get(submission.sha256)
    except (OSError, ValueError):
        view["defects"].append("mesajul original nu a fost găsit în arhivă")
        return view
    parsed = parse_message(raw)
    view["raw_available"] = True
    view["to"] = ", ".join(parsed.to)
    # The sender's Date header in the office's zone, dd.mm.yyyy HH:MM: never the raw RFC 5322 text.
    view["date"] = labels.date_time(parsed.date, rt.settings.office.timezone) if parsed.date else ""
    view["html_body"] = parsed.html_body
    if not view["text_body"]:
        view["text_body"] = parsed.text_body
    return view


def _from_line(name: str | None, address: str | None) -> str:
    if name and address:
        return f"{name} <{address}>"
    return address or name or ""


def _document_view(doc: Document, timezone: str) -> dict[str, Any]:
    signature = doc.signature or None
    signed_at = None
    if signature and signature.get("signed_at"):
        try:
            signed_at = local(datetime.fromisoformat(signature["signed_at"]), timezone)
        except (TypeError, ValueError):
            signed_at = None
    label = signature.get("label") if signature else None
    return {
        "id": doc.id,
        "filename": doc.filename,
        "original_filename": doc.original_filename,
        "detected_type": doc.detected_type,
        "content_type": doc.content_type or doc.declared_type,
        "declared_type": doc.declared_type,
        "pages": doc.pages,
        "size": doc.size,
        "size_text": human_size(doc.size),
        "sha256": doc.sha256,
        "accepted": doc.accepted,
        "reason": doc.reason,
        "notes": doc.notes,
        "kind": doc.kind,
        "kind_ro": labels.label(doc.kind, "document"),
        "origin": doc.origin,
        "origin_ro": labels.label(doc.origin, "origine"),
        "thumbnail": bool(doc.accepted) and doc.detected_type in THUMBNAIL_TYPES,
        "signature": (
            {
                "label": label,
                "label_ro": SIGNATURE_LABELS_RO.get(label or "", label),
                "css": _signature_css(label),
                "reasons": [labels.signature_reason(code) for code in signature.get("reasons") or []],
                "signer": signature.get("signer"),
                "signed_at": signed_at,
                "summary": signature.get("summary"),
                "via": signature.get("via"),
                **_signature_details(signature),
            }
            if signature
            else None
        ),
    }


TIME_SOURCES_RO = labels.SIGNATURE_TIME_SOURCES


def _signature_details(signature: dict[str, Any]) -> dict[str, Any]:
    """The deciding (applicant's) signature's time and changes, and every other signature beside it."""
    signatures = signature.get("signatures") or []
    index = signature.get("applicant_signature")
    decisive = signatures[index] if isinstance(index, int) and 0 <= index < len(signatures) else None
    others = [s for i, s in enumerate(signatures) if i != index]
    return {
        "time_source_ro": TIME_SOURCES_RO.get((decisive or {}).get("time_source") or ""),
        "timestamp_qualified": (decisive or {}).get("timestamp_qualified"),
        "modifications": (decisive or {}).get("modifications") or [],
        "others": [
            {
                "label": other.get("label"),
                "label_ro": SIGNATURE_LABELS_RO.get(other.get("label") or "", other.get("label")),
                "signer": other.get("signer") or "semnatar necunoscut",
            }
            for other in others
        ],
    }


THUMBNAIL_TYPES = frozenset({"jpeg", "png"})


def _signature_css(label: str | None) -> str:
    if label == "QES":
        return "sig-good"
    if label in ("invalid",):
        return "sig-bad"
    return "sig-warn"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB".replace(".", ",")
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def _slot_choices(
    session: Session, rt: Runtime, root: Submission, appointment: Appointment | None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The free slots the appointment may move to, by day: the same rules as the beneficiary's link."""
    if appointment is None:
        return []
    timezone = rt.settings.office.timezone
    slots = service.free_slots(rt, session, appointment)
    days: dict[str, list[tuple[str, str]]] = {}
    for slot in slots:
        if slot.start == appointment.start:
            continue  # moving to where it already is would only send the beneficiary a pointless e-mail
        start = local(slot.start, timezone)
        days.setdefault(f"{start:%d.%m.%Y} ({WEEKDAYS_RO[start.weekday()]})", []).append(
            (start.isoformat(), f"{start:%H:%M}")
        )
    return list(days.items())


WEEKDAYS_RO = WEEKDAYS


def _history(session: Session, rt: Runtime, submission: Submission, root: Submission) -> list[dict[str, Any]]:
    """Events (what intake did) and audit events (what people did) of this message, merged by time.

    Appointment events are recorded on the case's first message, so a follow-up shows those too.
    """
    timezone = rt.settings.office.timezone
    ids = {submission.id, root.id}
    items: list[dict[str, Any]] = []
    for event in session.exec(select(Event).where(col(Event.submission_id).in_(ids))).all():
        items.append(
            {
                "at": event.at,
                "actor": event.actor,
                "action": labels.event_label(event.action),
                "detail": labels.detail_text(event.detail, timezone),
                "note": None,
                "kind": "event",
                "order": event.id or 0,
            }
        )
    for entry in session.exec(
        select(AuditEvent).where(col(AuditEvent.submission_id).in_(ids), AuditEvent.office == rt.office)
    ).all():
        change = ""
        if entry.before or entry.after:
            before = labels.detail_text(entry.before, timezone) or "—"
            change = f"{before} → {labels.detail_text(entry.after, timezone) or '—'}"
        items.append(
            {
                "at": entry.at,
                "actor": entry.actor,
                "action": labels.event_label(entry.action),
                "detail": change,
                "note": entry.note,
                "kind": "audit",
                "order": entry.id or 0,
            }
        )
    items.sort(key=lambda item: (item["at"], item["kind"], item["order"]))
    for item in items:
        item["at"] = local(item["at"], timezone)
    return items


# --- actions -----------------------------------------------------------------------------------------------


def resolve(session: Session, rt: Runtime, user: CurrentUser, submission: Submission, note: str) -> None:
    note = note.strip()
    if not note:
        raise ActionError("nota_lipsa")
    if submission.resolved_at is not None:
        raise ActionError("deja_rezolvat")
    before = {"resolved_at": None, "resolved_by": None}
    submission.resolved_at = rt.clock.now()
    submission.resolved_by = user.name
    session.add(submission)
    audit(
        session,
        rt.office,
        user,
        "resolve",
        submission_id=submission.id,
        before=before,
        after={"resolved_at": submission.resolved_at.isoformat(), "resolved_by": user.name},
        note=note,
    )


def add_staff_finding(
    session: Session, rt: Runtime, user: CurrentUser, submission: Submission, code: str, message: str
) -> None:
    message = message.strip()
    if code not in FINDING_CODES:
        raise ActionError("cod_invalid")
    if not message:
        raise ActionError("mesaj_lipsa")
    before = {"open_findings": [f.code for f in open_findings(session, submission)], "flagged": submission.flagged}
    add_finding(session, rt, submission, code, message, detail={"added_by": user.name})
    session.add(submission)
    session.flush()
    # Procedure 000 step 7: a mismatch staff find (e.g. with another institution's database) calls the citizen to
    # a clarification visit within the legal deadline, and the e-mail says why.
    change = service.after_staff_change(rt, session, submission)
    audit(
        session,
        rt.office,
        user,
        "add_finding",
        submission_id=submission.id,
        before=before,
        after={
            "open_findings": [f.code for f in open_findings(session, submission)],
            "flagged": True,
            "code": code,
            "message": message,
            "visit": change.kind,
            "appointment": _appointment_audit(change.appointment),
        },
    )


def clear_finding(session: Session, rt: Runtime, user: CurrentUser, submission: Submission, finding_id: int) -> None:
    finding = session.get(Finding, finding_id)
    if finding is None or finding.submission_id != submission.id:
        raise ActionError("constatare_inexistenta")
    if finding.cleared_at is not None:
        raise ActionError("constatare_deja_inchisa")
    finding.cleared_at = rt.clock.now()
    finding.cleared_by = user.name
    session.add(finding)
    session.flush()
    remaining = open_findings(session, submission)  # what still concerns the citizen: staff-only ones never flag
    before_flagged = submission.flagged
    submission.flagged = bool(remaining)
    session.add(submission)
    audit(
        session,
        rt.office,
        user,
        "clear_finding",
        submission_id=submission.id,
        before={
            "finding_id": finding.id,
            "code": finding.code,
            "message": finding.message,
            "cleared_at": None,
            "staff_only": finding.staff_only,
            "flagged": before_flagged,
        },
        after={
            "finding_id": finding.id,
            "cleared_at": finding.cleared_at.isoformat(),
            "flagged": submission.flagged,
            "open_findings": [f.code for f in remaining],
        },
    )
    # The last finding gone: the clarification visit is cancelled and the file goes to verification.
    service.after_staff_change(rt, session, submission)


def book(session: Session, rt: Runtime, user: CurrentUser, submission: Submission) -> bool:
    """Book the appointment the case's state calls for, told by e-mail; False when there was no place before the
    deadline (the booking rules then add the `appointment_unavailable` finding and alert ops). A complete case
    waiting for verification is confirmed instead (`confirm_file`)."""
    root = service.case_root(session, submission)
    try:
        appointment = service.book_by_staff(rt, session, submission)
    except service.CaseStateError as exc:
        raise ActionError(exc.key) from None
    session.flush()
    after = _appointment_audit(appointment)
    audit(session, rt.office, user, "book_appointment", submission_id=root.id, before={}, after=after)
    return appointment is not None


def confirm_file(session: Session, rt: Runtime, user: CurrentUser, submission: Submission) -> str:
    """Procedure 000 step 8: the clerk has cross-checked the complete file and confirms it is correct. One action:
    the staff-only findings it settles close, the decision visit is booked and the beneficiary invited (with the
    invite). Returns the message key for the page."""
    root = service.case_root(session, submission)
    before = {
        "verification": service.verification_state(session, root),
        "staff_findings": [f.code for f in case_findings(session, root, staff=True) if f.staff_only],
    }
    try:
        appointment = service.confirm(rt, session, submission, user.name)
    except service.CaseStateError as exc:
        raise ActionError(exc.key) from None
    session.flush()
    audit(
        session,
        rt.office,
        user,
        "confirm_file",
        submission_id=root.id,
        before=before,
        after={"verification": service.verification_state(session, root), **_appointment_audit(appointment)},
    )
    return "confirmat" if appointment is not None else "confirmat_fara_loc"


def move(session: Session, rt: Runtime, user: CurrentUser, submission: Submission, start_text: str) -> None:
    root = service.case_root(session, submission)
    appointment = service.active_appointment(session, root.id or 0)
    if appointment is None:
        raise ActionError("fara_programare")
    try:
        start = datetime.fromisoformat(start_text)
    except ValueError:
        raise ActionError("ora_invalida") from None
    if start.tzinfo is None:
        raise ActionError("ora_invalida")
    before = _appointment_audit(appointment)
    try:
        service.reschedule(rt, session, appointment, start, actor=user.name)
    except ValueError:
        raise ActionError("ora_ocupata") from None
    audit(
        session,
        rt.office,
        user,
        "move_appointment",
        submission_id=root.id,
        before=before,
        after=_appointment_audit(appointment),
    )


def cancel(session: Session, rt: Runtime, user: CurrentUser, submission: Submission) -> None:
    root = service.case_root(session, submission)
    appointment = service.active_appointment(session, root.id or 0)
    if appointment is None:
        raise ActionError("fara_programare")
    before = _appointment_audit(appointment)
    service.cancel(rt, session, appointment, actor=user.name)
    audit(
        session,
        rt.office,
        user,
        "cancel_appointment",
        submission_id=root.id,
        before=before,
        after=_appointment_audit(appointment),
    )


def _appointment_audit(appointment: Appointment | None) -> dict[str, Any]:
    if appointment is None:
        return {}
    return {
        "appointment_id": appointment.id,
        "state": appointment.state,
        "purpose": appointment.purpose,
        "start": appointment.start.astimezone(UTC).isoformat(),  # one form, whatever the booker handed over
        "overflow": appointment.overflow,
        "sequence": appointment.sequence,
    }


def _last_receipt_message(session: Session, submission: Submission) -> OutboxMessage | None:
    """The original recipisă e-mail (never a previous resend: each resend copies the original)."""
    receipt = session.exec(
        select(Receipt)
        .where(Receipt.submission_id == submission.id, col(Receipt.outbox_id).is_not(None))
        .order_by(col(Receipt.id).desc())
    ).first()
    if receipt is not None and receipt.outbox_id is not None:
        return session.get(OutboxMessage, receipt.outbox_id)
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.submission_id == submission.id, OutboxMessage.kind == "receipt")
        .order_by(col(OutboxMessage.id).desc())
    ).first()


def resend_receipt(session: Session, rt: Runtime, user: CurrentUser, submission: Submission) -> str:
    """Queue the last recipisă again, byte for byte except for a new Message-ID (the old one is already in the
    recipient's mailbox, and the outbox keeps Message-IDs unique). Returns the new Message-ID."""
    original = _last_receipt_message(session, submission)
    if original is None:
        raise ActionError("fara_recipisa")
    resends = session.exec(
        select(func.count()).where(OutboxMessage.submission_id == submission.id, OutboxMessage.kind == "receipt_resend")
    ).one()
    message_id = compose.make_message_id(
        f"receipt-resend-{resends + 1}",
        submission.office,
        submission.id or 0,
        rt.settings.smtp.from_address,
        secret=rt.link_secret,
    )
    message = BytesParser(policy=policy.default).parsebytes(original.raw)
    assert isinstance(message, EmailMessage)
    del message["Message-ID"]
    message["Message-ID"] = message_id
    enqueue(session, rt, submission, kind="receipt_resend", message=message)
    session.add(
        Event(
            submission_id=submission.id,
            at=rt.clock.now(),
            actor=user.name,
            action="receipt_resent",
            detail={"message_id": message_id},
        )
    )
    audit(
        session,
        rt.office,
        user,
        "resend_receipt",
        submission_id=submission.id,
        before={"message_id": original.message_id, "state": original.state},
        after={"message_id": message_id, "recipient": original.recipient, "state": "pending"},
    )
    return message_id


def mark_consent(session: Session, rt: Runtime, user: CurrentUser, submission: Submission) -> None:
    if submission.consent is True and not any(f.code == "consent_missing" for f in open_findings(session, submission)):
        raise ActionError("consimtamant_deja")
    now = rt.clock.now()
    cleared = []
    for finding in open_findings(session, submission):
        if finding.code == "consent_missing":
            finding.cleared_at = now
            session.add(finding)
            cleared.append(finding.id)
    session.flush()
    before = {"consent": submission.consent, "flagged": submission.flagged}
    submission.consent = True
    submission.flagged = bool(open_findings(session, submission))
    session.add(submission)
    audit(
        session,
        rt.office,
        user,
        "mark_consent",
        submission_id=submission.id,
        before=before,
        after={"consent": True, "flagged": submission.flagged, "cleared_findings": cleared},
    )
    service.after_staff_change(rt, session, submission)


def reprocess(rt: Runtime, user: CurrentUser, submission_id: int) -> None:
    """Send a quarantined message through the pipeline again; the next poll cycle picks it up.

    `pipeline.replay` runs its own transaction, so this one is called with none open, and the audit event
    is written after the replay succeeded (a replay refused for a changed state records nothing).
    """
    from intake import pipeline

    with transaction(rt.engine) as session:
        submission = load_case(session, rt, submission_id)
        if submission is None:
            raise LookupError(submission_id)
        if submission.state != SubmissionState.QUARANTINED:
            raise ActionError("nu_e_carantina")
        before = {
            "state": submission.state,
            "quarantine_reason": submission.quarantine_reason,
            "attempts": submission.attempts,
        }
    try:
        pipeline.replay(rt, submission_id)
    except ValueError:
        raise ActionError("nu_e_carantina") from None
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        audit(
            session,
            rt.office,
            user,
            "reprocess",
            submission_id=submission_id,
            before=before,
            after={
                "state": submission.state,
                "quarantine_reason": submission.quarantine_reason,
                "attempts": submission.attempts,
            },
        )
