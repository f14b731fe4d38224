"""The registry's monthly lists of procedure 001 (Art. 12, 17 and 23): data, CSV and PDF.

- art12: benefit files (unemployment_benefit): registration date, name, pseudonymous CNP identifier.
- art17: job seekers without benefit (jobseeker_registration): the same three fields.
- art23: summary list (borderou centralizator) of benefit requests: registration date of the request, name,
  registration number. Intake does not know the decision (granting, rejection, ...), so this is one list of
  the requests registered in the month; the registry splits it by decision category.

The CNP never appears in a report. Art. 12(2)(c)/17(2)(c) ask for a "unique anonymisation identifier": here
HMAC-SHA256 keyed by `web.report_secret` (or the link secret when none is set), first 16 hex characters.
The same CNP always gets the same identifier while the key stays the same; without the key the identifier
cannot be traced back by trying all CNPs (there are few enough that a plain hash could be).

Where the CNP comes from, in order: the signer's certificate identifier stored with the signature verdict
("PNORO-<CNP>", when it was stored unmasked), the CNP values kept with identity findings, and finally the
applicant's CNP read again from the stored application or declaration PDF (form fields or labelled text).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlmodel import Session, col, select

from intake import texts
from intake.clock import local
from intake.db import read_transaction
from intake.models import Document, Finding, Submission
from intake.registry import format_registration
from intake.runtime import Runtime
from intake.validation import documents as kinds
from intake.validation import identity

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "receipts" / "fonts"
NO_VALUE = "—"
PERSON_KINDS = ("application", "declaration")  # documents that name the applicant
MAX_CELL = 90  # longest value printed in a PDF cell (an e-mail can carry any name)


@dataclass(frozen=True)
class ReportKind:
    code: str
    request_type: str
    title: str
    legal_basis: str
    columns: tuple[str, ...]


KINDS: dict[str, ReportKind] = {
    "art12": ReportKind(
        "art12",
        "unemployment_benefit",
        "Lista dosarelor de indemnizație de șomaj",
        "Art. 12 alin. (2)",
        ("Nr. crt.", "Data înregistrării", "Nume și prenume", "Identificator unic CNP"),
    ),
    "art17": ReportKind(
        "art17",
        "jobseeker_registration",
        "Lista persoanelor în căutarea unui loc de muncă fără drept la indemnizație",
        "Art. 17 alin. (2)",
        ("Nr. crt.", "Data înregistrării", "Nume și prenume", "Identificator unic CNP"),
    ),
    "art23": ReportKind(
        "art23",
        "unemployment_benefit",
        "Borderou centralizator al cererilor de indemnizație de șomaj",
        "Art. 23 alin. (2)",
        ("Nr. crt.", "Data înregistrării cererii", "Nume și prenume", "Nr. de înregistrare"),
    ),
}

MONTHS_RO = texts.MONTHS


class ReportError(ValueError):
    """A bad report request (unknown kind, bad month)."""


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    year: int
    month: int
    office_name: str
    generated_at: datetime  # office time
    rows: list[tuple[str, ...]]  # without the running number

    @property
    def month_label(self) -> str:
        return f"{MONTHS_RO[self.month - 1]} {self.year}"

    @property
    def filename_stem(self) -> str:
        return f"raport-{self.kind.code}-{self.year:04d}-{self.month:02d}"


def parse_month(value: str) -> tuple[int, int]:
    """A month given as YYYY-MM → (year, month)."""
    try:
        year_text, month_text = value.strip().split("-")
        year, month = int(year_text), int(month_text)
    except (ValueError, AttributeError):
        raise ReportError("luna trebuie dată ca AAAA-LL") from None
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        raise ReportError("luna trebuie dată ca AAAA-LL")
    return year, month


def pseudonym(secret: str, cnp: str) -> str:
    """The report identifier of a CNP: keyed, stable, not reversible without the key."""
    return hmac.new(secret.encode("utf-8"), cnp.strip().encode("ascii", "ignore"), hashlib.sha256).hexdigest()[:16]


def report_secret(rt: Runtime) -> str:
    return rt.settings.web.report_secret.get_secret_value() or rt.link_secret


@dataclass(frozen=True)
class _Entry:
    """What one submission contributes, copied out of the database so the forms are read outside the
    transaction (with SQLite a transaction holds the write lock)."""

    registered_at: datetime
    number: int
    sender_name: str | None
    documents: list[Document]
    finding_details: list[dict[str, Any]]


def _month_bounds(rt: Runtime, year: int, month: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(rt.settings.office.timezone)
    start = datetime.combine(date(year, month, 1), time(0), tzinfo=zone)
    end = datetime.combine(date(year + (month == 12), month % 12 + 1, 1), time(0), tzinfo=zone)
    return start, end


def _kind(kind_code: str) -> ReportKind:
    kind = KINDS.get(kind_code)
    if kind is None:
        raise ReportError(f"raport necunoscut: {kind_code}")
    return kind


def _query(rt: Runtime, kind: ReportKind, year: int, month: int):  # type: ignore[no-untyped-def]
    start, end = _month_bounds(rt, year, month)
    return select(Submission).where(
        Submission.office == rt.office,
        Submission.request_type == kind.request_type,
        col(Submission.registered_at) >= start,
        col(Submission.registered_at) < end,
        col(Submission.number).is_not(None),
        # A follow-up e-mail joins the case that started it: one row per case, not per message.
        col(Submission.case_id).is_(None),
    )


def count_rows(session: Session, rt: Runtime, kind_code: str, year: int, month: int) -> int:
    query = _query(rt, _kind(kind_code), year, month)
    return len(session.exec(query).all())


def _entries(session: Session, rt: Runtime, kind: ReportKind, year: int, month: int) -> list[_Entry]:
    submissions = session.exec(
        _query(rt, kind, year, month).order_by(col(Submission.registered_at), col(Submission.number))
    ).all()
    entries = []
    for submission in submissions:
        assert submission.registered_at is not None and submission.number is not None
        findings = session.exec(
            select(Finding).where(Finding.submission_id == submission.id).order_by(col(Finding.id))
        ).all()
        entries.append(
            _Entry(
                registered_at=submission.registered_at,
                number=submission.number,
                sender_name=submission.sender_name,
                documents=_person_documents(session, submission),
                finding_details=[dict(finding.detail or {}) for finding in findings],
            )
        )
    return entries


def build_report(rt: Runtime, kind_code: str, year: int, month: int) -> Report:
    """The report's rows. Opens its own (short) transaction: call it with no transaction open."""
    kind = _kind(kind_code)
    with read_transaction(rt.engine) as session:
        entries = _entries(session, rt, kind, year, month)
    timezone = rt.settings.office.timezone
    secret = report_secret(rt)
    rows = []
    for entry in entries:
        registered = local(entry.registered_at, timezone)
        name = _name(rt, entry)
        if kind.code == "art23":
            third = format_registration(entry.number, registered)
        else:
            cnp = _cnp(rt, entry)
            third = pseudonym(secret, cnp) if cnp else NO_VALUE
        rows.append((f"{registered:%d.%m.%Y}", name or NO_VALUE, third))
    return Report(
        kind=kind,
        year=year,
        month=month,
        office_name=rt.settings.office.name,
        generated_at=local(rt.clock.now(), timezone),
        rows=rows,
    )


# ------------------------------------------------------------------------------------------------ people
def _person_documents(session: Session, submission: Submission) -> list[Document]:
    documents = session.exec(
        select(Document).where(Document.submission_id == submission.id).order_by(col(Document.position))
    ).all()
    # The application names the applicant first; the declaration is signed by the same person.
    return sorted(
        (d for d in documents if d.kind in PERSON_KINDS), key=lambda d: (PERSON_KINDS.index(d.kind), d.position)
    )


def _name(rt: Runtime, entry: _Entry) -> str | None:
    for document in entry.documents:
        signer = (document.signature or {}).get("signer")
        if signer:
            return " ".join(str(signer).split())
    for document in entry.documents:
        applicant = _applicant(rt, document)
        if applicant and applicant.name:
            return applicant.name
    return " ".join(entry.sender_name.split()) if entry.sender_name else None


def _cnp(rt: Runtime, entry: _Entry) -> str | None:
    for document in entry.documents:
        for signature in (document.signature or {}).get("signatures") or []:
            cnp = identity.semantics_cnp(signature.get("signer_identifier"))
            if cnp:
                return cnp
    for key in ("signer_cnp", "form_cnp"):
        for detail in entry.finding_details:
            value = detail.get(key)
            if isinstance(value, str) and value.strip().isdigit():
                return value.strip()
    for document in entry.documents:
        applicant = _applicant(rt, document)
        if applicant and applicant.cnp:
            return applicant.cnp
    return None


def _applicant(rt: Runtime, document: Document) -> identity.Applicant | None:
    """The applicant on a stored PDF form, read again (the pipeline keeps only the verdict, not the CNP)."""
    if document.detected_type != "pdf":
        return None
    try:
        data = rt.store.get(document.sha256)
        return identity.applicant_from_form(kinds.extract_pdf_text(data), kinds.pdf_form_fields(data))
    except Exception as exc:  # a missing blob or unreadable file leaves the column empty, never the report
        log.warning("report: document %s not readable: %s", document.id, type(exc).__name__)
        return None


# ------------------------------------------------------------------------------------------------ CSV
def to_csv(report: Report) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows the diacritics; one header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(report.kind.columns)
    for index, row in enumerate(report.rows, start=1):
        writer.writerow((str(index), *(_csv_safe(value) for value in row)))
    return buffer.getvalue().encode("utf-8-sig")


def _csv_safe(value: str) -> str:
    # A name from an e-mail starting with = + - @ would be run as a formula by a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# ------------------------------------------------------------------------------------------------ PDF
FAMILY = "DejaVu"


def to_pdf(report: Report) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"{report.kind.title} – {report.month_label}")
    pdf.set_creator("intake")
    pdf.add_font(FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 10)
    pdf.multi_cell(0, 5, _cut(report.office_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FAMILY, "B", 13)
    pdf.multi_cell(0, 6.5, report.kind.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 9.5)
    pdf.multi_cell(
        0,
        5,
        f"Luna: {report.month_label} · Ordinul 001, {report.kind.legal_basis} · "
        f"generat la {report.generated_at:%d.%m.%Y %H:%M}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if report.kind.code != "art23":
        pdf.set_font(FAMILY, "", 8)
        pdf.multi_cell(
            0,
            4.2,
            "Identificatorul unic înlocuiește codul numeric personal (pseudonim calculat cu o cheie secretă).",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.ln(3)
    pdf.set_font(FAMILY, "", 9)
    if not report.rows:
        pdf.multi_cell(0, 5, "Nu există înregistrări în această lună.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        with pdf.table(col_widths=(12, 32, 90, 46), line_height=5.5, first_row_as_headings=True) as table:
            header = table.row()
            for title in report.kind.columns:
                header.cell(title)
            for index, row in enumerate(report.rows, start=1):
                cells = table.row()
                cells.cell(str(index))
                for value in row:
                    cells.cell(_cut(value))
    pdf.ln(4)
    pdf.set_font(FAMILY, "", 9)
    pdf.multi_cell(0, 5, f"Total: {len(report.rows)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _cut(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= MAX_CELL else value[: MAX_CELL - 1] + "…"
