"""Everything held on one person, as a ZIP with a manifest (GDPR Art. 15, the right of access).

A person is found by e-mail address (the sender of any message) or by CNP: the one in a signer's qualified
certificate (`PNORO-<CNP>`), the ones staff findings recorded, and the applicant's CNP on the forms, read again
from the stored PDFs (the pipeline keeps no CNP column, so a CNP search reads every form: a few seconds per
thousand cases). Whole cases are exported: the follow-ups of a matching case are about the same file.

The ZIP holds, per case and message, the raw e-mail, the attachments, the recipise and the replies sent (as
stored, so whatever was purged is no longer there), and one `date.json` per case with what the database holds:
the registration, documents with their verdicts, findings, appointments, the history and the audit entries about
the case (without staff names, which are not the person's data, GDPR Art. 15(4)). `manifest.json` lists every file
with its SHA-256, what it is and its case; `CITESTE.txt` explains it in Romanian.

Nothing here logs or stores the CNP: the audit entry of an export carries a keyed hash of it (`reports.pseudonym`,
the same one the monthly reports use), so "was this person's data exported?" can be answered by whoever holds the
key, and nobody else.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from intake.clock import local
from intake.db import read_transaction
from intake.models import Appointment, AuditEvent, Document, Event, Finding, OutboxMessage, Receipt, Submission
from intake.registry import registration_label
from intake.reports import pseudonym, report_secret
from intake.runtime import Runtime
from intake.signatures import policy as law
from intake.validation import documents as kinds
from intake.validation import identity
from intake.views import submission_view

log = logging.getLogger(__name__)

AUDIT_ACTION = "subject_export"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


class SubjectError(ValueError):
    """Not a CNP nor an e-mail address; str() is English (the CLI), .ro is shown on the admin page."""

    def __init__(self, message: str, ro: str) -> None:
        super().__init__(message)
        self.ro = ro


@dataclass(frozen=True)
class Subject:
    kind: str  # cnp | email
    value: str  # normalised: the 13 digits, or the address in lower case

    def fingerprint(self, rt: Runtime) -> str:
        return pseudonym(report_secret(rt), f"{self.kind}:{self.value}")


def parse_subject(text: str) -> Subject:
    value = "".join(text.split())
    if value.isdigit():
        if len(value) != 13 or value[0] == "0" or value[-1] != str(identity.cnp_check_digit(value[:12])):
            raise SubjectError(
                "not a valid CNP (13 digits, check digit)", "CNP-ul nu este valid (13 cifre, cifra de control)."
            )
        return Subject("cnp", value)
    if _EMAIL.match(value):
        return Subject("email", value.lower())
    raise SubjectError("give a CNP or an e-mail address", "Introduceți un CNP sau o adresă de e-mail.")


@dataclass
class ExportResult:
    data: bytes  # the ZIP
    cases: int
    files: int
    manifest: list[dict[str, Any]] = field(default_factory=list)


def matching_cases(rt: Runtime, subject: Subject) -> list[int]:
    """The first messages of the cases that concern the person, oldest first."""
    with read_transaction(rt.engine) as session:
        if subject.kind == "email":
            rows = session.exec(
                select(Submission.id, Submission.case_id).where(
                    Submission.office == rt.office, func.lower(Submission.sender) == subject.value
                )
            ).all()
            return sorted({case_id or submission_id for submission_id, case_id in rows})
        candidates = _cnp_candidates(session, rt.office)
    roots = set()
    for root, documents, details in candidates:
        if subject.value in _cheap_cnps(documents, details) or any(
            _form_cnp(rt, sha256) == subject.value for sha256 in _form_blobs(documents)
        ):
            roots.add(root)
    return sorted(roots)


def _cnp_candidates(session: Session, office: str) -> list[tuple[int, list[Document], list[dict[str, Any]]]]:
    """Per message: its case, its documents and its findings' details, copied out so the forms are read outside
    the transaction."""
    out = []
    for submission in session.exec(select(Submission).where(Submission.office == office)).all():
        documents = list(session.exec(select(Document).where(Document.submission_id == submission.id)).all())
        details = [
            dict(detail or {})
            for detail in session.exec(select(Finding.detail).where(Finding.submission_id == submission.id)).all()
        ]
        if documents or details:
            out.append((submission.case_id or submission.id or 0, documents, details))
    return out


def _cheap_cnps(documents: list[Document], details: list[dict[str, Any]]) -> set[str]:
    found = set()
    for document in documents:
        for signature in (document.signature or {}).get("signatures") or []:
            cnp = identity.semantics_cnp(signature.get("signer_identifier"))
            if cnp:
                found.add(cnp)
    for detail in details:
        for key in ("signer_cnp", "form_cnp"):
            value = detail.get(key)
            if isinstance(value, str) and value.strip().isdigit():
                found.add(value.strip())
    return found


def _form_blobs(documents: list[Document]) -> list[str]:
    # The forms that name their applicant with a CNP (the ones the verify stage checks the CNP of).
    return [d.sha256 for d in documents if d.detected_type == "pdf" and d.kind in law.KIND_NAMES_RO]


def _form_cnp(rt: Runtime, sha256: str) -> str | None:
    try:
        data = rt.store.get(sha256)
        return identity.applicant_from_form(kinds.extract_pdf_text(data), kinds.pdf_form_fields(data)).cnp
    except Exception as exc:  # purged or unreadable: this form names nobody any more
        log.debug("subject export: form not readable: %s", type(exc).__name__)
        return None


# --------------------------------------------------------------------------------------------------- the ZIP


def export(rt: Runtime, subject: Subject) -> ExportResult:
    roots = matching_cases(rt, subject)
    files: list[tuple[str, bytes, str, str | None]] = []  # path, bytes, what, case
    with read_transaction(rt.engine) as session:
        for root_id in roots:
            files.extend(_case_files(session, rt, root_id))
    manifest = [
        {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "what": what, "case": case}
        for path, data, what, case in files
    ]
    readme = _readme(rt, subject, len(roots), len(files)).encode("utf-8")
    manifest.insert(
        0,
        {"path": "CITESTE.txt", "sha256": hashlib.sha256(readme).hexdigest(), "size": len(readme), "what": "readme",
         "case": None},
    )  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("CITESTE.txt", readme)
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for path, data, _what, _case in files:
            archive.writestr(path, data)
    return ExportResult(buffer.getvalue(), cases=len(roots), files=len(manifest), manifest=manifest)


def audit_detail(rt: Runtime, subject: Subject, result: ExportResult) -> dict[str, Any]:
    """What the audit trail keeps of an export: a keyed hash of the CNP or address, never the value itself."""
    return {"subject": subject.fingerprint(rt), "subject_kind": subject.kind, "cases": result.cases,
            "files": result.files}  # fmt: skip


def record_export(session: Session, rt: Runtime, actor: str, subject: Subject, result: ExportResult) -> None:
    """The audit entry of an export from the command line (the admin page uses web.auth.audit)."""
    detail = audit_detail(rt, subject, result)
    session.add(AuditEvent(office=rt.office, at=rt.clock.now(), actor=actor, action=AUDIT_ACTION, after=detail))


def _case_files(session: Session, rt: Runtime, root_id: int) -> list[tuple[str, bytes, str, str | None]]:
    timezone = rt.settings.office.timezone
    root = session.get(Submission, root_id)
    if root is None:
        return []
    label = registration_label(root, timezone) or None
    folder = f"dosare/{_safe(label or f'fara-numar-{root_id}')}"
    messages = session.exec(
        select(Submission)
        .where((Submission.id == root_id) | (Submission.case_id == root_id))
        .order_by(col(Submission.received_at), col(Submission.id))
    ).all()
    files: list[tuple[str, bytes, str, str | None]] = []
    data: dict[str, Any] = {"case": label, "messages": []}
    for message in messages:
        base = f"{folder}/mesaj-{message.id}"
        _add_blob(rt, files, f"{base}/mesaj.eml", message.sha256, "raw_mail", label)
        documents = session.exec(
            select(Document).where(Document.submission_id == message.id).order_by(col(Document.position))
        ).all()
        for document in documents:
            name = f"{document.position + 1:02d}-{_safe(document.filename)}"
            _add_blob(rt, files, f"{base}/documente/{name}", document.sha256, "attachment", label)
        receipts = session.exec(
            select(Receipt).where(Receipt.submission_id == message.id).order_by(col(Receipt.id))
        ).all()
        for number, receipt in enumerate(receipts, 1):
            _add_blob(rt, files, f"{base}/recipisa-{number}.pdf", receipt.pdf_sha256, "receipt", label)
        replies = session.exec(
            select(OutboxMessage).where(OutboxMessage.submission_id == message.id).order_by(col(OutboxMessage.id))
        ).all()
        for number, reply in enumerate(replies, 1):
            if reply.raw:
                files.append((f"{base}/raspunsuri/{number:02d}-{_safe(reply.kind)}.eml", reply.raw, "reply", label))
        view = submission_view(session, rt, message)
        view["history"] = [
            {
                "at": _iso(event.at, timezone),
                "action": event.action,
                "by": "intake" if event.actor == "intake" else "personal",
            }
            for event in session.exec(
                select(Event).where(Event.submission_id == message.id).order_by(col(Event.at), col(Event.id))
            ).all()
        ]
        view["audit"] = [
            {"at": _iso(entry.at, timezone), "action": entry.action}
            for entry in session.exec(
                select(AuditEvent).where(AuditEvent.submission_id == message.id).order_by(col(AuditEvent.at))
            ).all()
        ]
        view["replies"] = [
            {"kind": reply.kind, "state": reply.state, "created_at": _iso(reply.created_at, timezone),
             "sent_at": _iso(reply.sent_at, timezone)}
            for reply in replies
        ]  # fmt: skip
        # Every finding, the closed ones too (the view above has only the open ones); their details stay out: they
        # may name a third party (another signer).
        view["all_findings"] = [
            {"code": finding.code, "message": finding.message, "staff_only": finding.staff_only,
             "created_at": _iso(finding.created_at, timezone), "cleared_at": _iso(finding.cleared_at, timezone)}
            for finding in session.exec(
                select(Finding).where(Finding.submission_id == message.id).order_by(col(Finding.id))
            ).all()
        ]  # fmt: skip
        data["messages"].append(view)
    data["appointments"] = [
        {"purpose": visit.purpose, "start": _iso(visit.start, timezone), "end": _iso(visit.end, timezone),
         "state": visit.state, "booked_at": _iso(visit.created_at, timezone)}
        for visit in session.exec(
            select(Appointment)
            .where(col(Appointment.submission_id).in_([message.id for message in messages]))
            .order_by(col(Appointment.created_at))
        ).all()
    ]  # fmt: skip
    files.append(
        (f"{folder}/date.json", json.dumps(data, ensure_ascii=False, indent=2, default=str).encode(), "data", label)
    )
    return files


def _add_blob(rt: Runtime, files: list, path: str, sha256: str, what: str, case: str | None) -> None:  # type: ignore[type-arg]
    # A file erased at the end of its retention (intake purge) is left out: the data file still says what it was.
    with contextlib.suppress(OSError, ValueError):
        files.append((path, rt.store.get(sha256), what, case))


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._")[:100] or "fisier"


def _iso(moment: datetime | None, timezone: str) -> str | None:
    return local(moment, timezone).isoformat() if moment else None


def _readme(rt: Runtime, subject: Subject, cases: int, files: int) -> str:
    office = rt.settings.office
    when = local(rt.clock.now(), office.timezone).strftime("%d.%m.%Y %H:%M")
    what = "codul numeric personal indicat" if subject.kind == "cnp" else f"adresa de e-mail {subject.value}"
    return f"""Datele cu caracter personal deținute de {office.name}
despre persoana identificată prin {what}
(Regulamentul (UE) 2016/679, art. 15 - dreptul de acces), extrase la {when}.

Conținut: {cases} dosare, {files} fișiere.

- dosare/<număr de înregistrare>/mesaj-<n>/mesaj.eml: mesajul e-mail așa cum a fost primit;
- dosare/.../documente/: documentele atașate;
- dosare/.../recipisa-<n>.pdf: recipisele semnate trimise;
- dosare/.../raspunsuri/: mesajele trimise de noi în legătură cu dosarul;
- dosare/.../date.json: ce reține baza de date: înregistrarea, documentele și verificarea lor,
  constatările, programările, istoricul prelucrării;
- manifest.json: fiecare fișier, amprenta sa SHA-256, ce este și dosarul căruia îi aparține.

Datele se păstrează pe durata prevăzută de nomenclatorul arhivistic al instituției (Legea nr. 16/1996);
după expirarea acestei durate sunt șterse, iar în registru rămân doar numărul și data înregistrării.
Fișierele care lipsesc au fost deja șterse la expirarea termenului de păstrare.
"""
