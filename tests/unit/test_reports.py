"""The monthly lists of procedure 001 Art. 12, 17, 23 (intake/reports.py): pseudonymous CNP identifier, which
submissions each list takes, CSV columns, PDF text with Romanian diacritics."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader

from intake import reports
from intake.clock import Clock
from intake.db import transaction
from intake.models import Document, Finding, Submission
from intake.runtime import Runtime
from intake.settings import WebSettings
from intake.validation.identity import cnp_check_digit
from tests.unit import runtimes

FONTS = Path(reports.__file__).resolve().parent / "receipts" / "fonts"


def cnp(body12: str) -> str:
    return body12 + str(cnp_check_digit(body12))


CNP_A = cnp("196052312345")  # in the signer's certificate
CNP_B = cnp("285111212345")  # in a finding's detail
CNP_C = cnp("192010112345")  # only on the stored PDF form


def make_runtime(tmp_path: Path, secret: str = "cheia-rapoartelor") -> Runtime:
    return runtimes.make_runtime(
        tmp_path,
        clock=Clock(datetime(2026, 4, 2, 9, 0, tzinfo=UTC)),
        web=WebSettings(report_secret=secret),  # type: ignore[arg-type]
    )


def form_pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def add_submission(
    rt: Runtime,
    session,  # type: ignore[no-untyped-def]
    *,
    number: int,
    registered_at: datetime,
    request_type: str,
    sender_name: str | None = None,
    signer: str | None = None,
    identifier: str | None = None,
    finding_cnp: str | None = None,
    form_text: str | None = None,
    case_id: int | None = None,
) -> Submission:
    submission = Submission(
        office=rt.office, sha256=f"{number:064d}", size=1, received_at=registered_at, claimed_at=registered_at,
        state="receipted", number=number, year=registered_at.year, registered_at=registered_at,
        request_type=request_type, sender_name=sender_name, case_id=case_id,
    )  # fmt: skip
    session.add(submission)
    session.flush()
    assert submission.id is not None
    signature = None
    if signer:
        signature = {"label": "QES", "signer": signer, "signatures": [{"signer_identifier": identifier}]}
    data = form_pdf(form_text) if form_text else b"%PDF-1.7 no form"
    document = Document(
        submission_id=submission.id, position=0, filename="cerere.pdf", declared_type="application/pdf",
        origin="attachment", sha256=rt.store.put(data), size=len(data), detected_type="pdf", kind="application",
        signature=signature,
    )  # fmt: skip
    session.add(document)
    if finding_cnp:
        session.add(
            Finding(
                submission_id=submission.id, code="identity_mismatch", message="x", created_at=registered_at,
                detail={"signer_cnp": None, "form_cnp": finding_cnp},
            )
        )  # fmt: skip
    return submission


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    rt = make_runtime(tmp_path)
    march = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    with transaction(rt.engine) as session:
        add_submission(
            rt, session, number=101, registered_at=march, request_type="unemployment_benefit",
            signer="Popescu Ion", identifier=f"PNORO-{CNP_A}", sender_name="ion p",
        )  # fmt: skip
        add_submission(
            rt, session, number=102, registered_at=march.replace(day=20), request_type="unemployment_benefit",
            signer="Ștefănescu Țurcanu Ana-Maria", identifier="PNORO-2***********5", finding_cnp=CNP_B,
        )  # fmt: skip
        root = add_submission(
            rt, session, number=103, registered_at=march.replace(day=21), request_type="jobseeker_registration",
            form_text=f"Subsemnatul Vasilescu Mihai, CNP: {CNP_C}, solicit înregistrarea.", sender_name="Mihai",
        )  # fmt: skip
        add_submission(  # a follow-up of 103: same case, not a second row
            rt, session, number=104, registered_at=march.replace(day=22), request_type="jobseeker_registration",
            sender_name="Mihai", case_id=root.id,
        )  # fmt: skip
        add_submission(  # no signature, no form, no finding: the identifier column says "—"
            rt, session, number=105, registered_at=march.replace(day=23), request_type="jobseeker_registration",
            sender_name="Irina Dumitru",
        )  # fmt: skip
        # 31 March 23:30 UTC is 1 April in Cluj: belongs to April.
        add_submission(
            rt, session, number=106, registered_at=datetime(2026, 3, 31, 22, 30, tzinfo=UTC),
            request_type="unemployment_benefit", signer="Aprilie Ion",
        )  # fmt: skip
        add_submission(  # February: not in the March lists
            rt, session, number=7, registered_at=datetime(2026, 2, 27, 9, 0, tzinfo=UTC),
            request_type="unemployment_benefit", signer="Februarie Ion",
        )  # fmt: skip
    return rt


def test_pseudonym_is_stable_keyed_and_hides_the_cnp() -> None:
    first = reports.pseudonym("secret", CNP_A)
    assert first == reports.pseudonym("secret", CNP_A) == reports.pseudonym("secret", f" {CNP_A} ")
    assert len(first) == 16 and int(first, 16) >= 0
    assert CNP_A not in first and CNP_A[:6] not in first
    assert reports.pseudonym("secret", CNP_B) != first
    assert reports.pseudonym("another key", CNP_A) != first


def test_art12_rows(rt: Runtime) -> None:
    report = reports.build_report(rt, "art12", 2026, 3)
    assert report.rows == [
        ("05.03.2026", "Popescu Ion", reports.pseudonym("cheia-rapoartelor", CNP_A)),
        ("20.03.2026", "Ștefănescu Țurcanu Ana-Maria", reports.pseudonym("cheia-rapoartelor", CNP_B)),
    ]
    april = reports.build_report(rt, "art12", 2026, 4)
    assert [row[1] for row in april.rows] == ["Aprilie Ion"]
    assert april.rows[0][0] == "01.04.2026"


def test_art17_reads_the_stored_form_and_skips_follow_ups(rt: Runtime) -> None:
    report = reports.build_report(rt, "art17", 2026, 3)
    assert report.rows == [
        ("21.03.2026", "Vasilescu Mihai", reports.pseudonym("cheia-rapoartelor", CNP_C)),
        ("23.03.2026", "Irina Dumitru", "—"),
    ]


def test_art23_lists_registration_numbers(rt: Runtime) -> None:
    report = reports.build_report(rt, "art23", 2026, 3)
    assert report.rows == [
        ("05.03.2026", "Popescu Ion", "101/05.03.2026"),
        ("20.03.2026", "Ștefănescu Țurcanu Ana-Maria", "102/20.03.2026"),
    ]


def test_csv_has_bom_header_and_no_cnp(rt: Runtime) -> None:
    data = reports.to_csv(reports.build_report(rt, "art12", 2026, 3))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Nr. crt.", "Data înregistrării", "Nume și prenume", "Identificator unic CNP"]
    assert rows[1][:3] == ["1", "05.03.2026", "Popescu Ion"] and len(rows) == 3
    for secret in (CNP_A, CNP_B):
        assert secret.encode() not in data
    art23 = list(
        csv.reader(io.StringIO(reports.to_csv(reports.build_report(rt, "art23", 2026, 3)).decode("utf-8-sig")))
    )
    assert art23[0] == ["Nr. crt.", "Data înregistrării cererii", "Nume și prenume", "Nr. de înregistrare"]


def test_csv_neutralises_spreadsheet_formulas() -> None:
    report = reports.Report(
        kind=reports.KINDS["art17"], year=2026, month=3, office_name="AJOFM", generated_at=datetime.now(UTC),
        rows=[("01.03.2026", "=HYPERLINK(\"http://x\")", "—")],
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(reports.to_csv(report).decode("utf-8-sig"))))
    assert rows[1][2].startswith("'=")


def test_pdf_text_keeps_diacritics(rt: Runtime) -> None:
    data = reports.to_pdf(reports.build_report(rt, "art12", 2026, 3))
    assert data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Lista dosarelor de indemnizație de șomaj" in text
    assert "Ștefănescu Țurcanu Ana-Maria" in text
    assert "martie 2026" in text
    assert "Agenția Județeană pentru Ocuparea Forței de Muncă Cluj" in text
    assert "generat la 02.04.2026 12:00" in text
    assert reports.pseudonym("cheia-rapoartelor", CNP_A) in text
    assert CNP_A not in text and CNP_B not in text


def test_empty_month_pdf(rt: Runtime) -> None:
    text = PdfReader(io.BytesIO(reports.to_pdf(reports.build_report(rt, "art17", 2025, 1)))).pages[0].extract_text()
    assert "Nu există înregistrări" in text


def test_bad_requests() -> None:
    with pytest.raises(reports.ReportError):
        reports.parse_month("2026-13")
    with pytest.raises(reports.ReportError):
        reports.parse_month("martie")
    assert reports.parse_month("2026-03") == (2026, 3)
