"""The unsigned PDFs the applicant signs: the application (Anexa 3) and the declaration (Anexa 1^1).

Generated with fpdf2 and the DejaVu font shipped for the receipts (core PDF fonts cannot encode ă â î ș ț).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parents[2] / "intake" / "receipts" / "fonts"
CNP_WEIGHTS = "279146358279"


def cnp_checksum(first12: str) -> str:
    """Control digit of a Romanian CNP: weighted sum mod 11, where 10 counts as 1."""
    total = sum(int(d) * int(w) for d, w in zip(first12, CNP_WEIGHTS, strict=True))
    rest = total % 11
    return "1" if rest == 10 else str(rest)


def make_cnp(sex_century: int, born: date, county: int, serial: int) -> str:
    first12 = f"{sex_century}{born:%y%m%d}{county:02d}{serial:03d}"
    return first12 + cnp_checksum(first12)


@dataclass(frozen=True)
class Applicant:
    given_name: str
    surname: str
    cnp: str
    address: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.surname}"


# Synthetic person: woman (2 = born 1900-1999), 23 May 1990, county 12 (Cluj). The CNP is valid but invented.
APPLICANT = Applicant(
    given_name="Ioana",
    surname="Ștefănescu",
    cnp=make_cnp(2, date(1990, 5, 23), 12, 345),
    address="Cluj-Napoca, str. Memorandumului nr. 21, ap. 4, jud. Cluj",
)


MARGIN_MM = 20.0
A4_MM = (210.0, 297.0)
PT_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class ParagraphLayout:
    """Where fpdf2 put one paragraph: page number (1-based) and top/bottom in mm from the top of the page."""

    text: str
    page: int
    top_mm: float
    bottom_mm: float

    def pdf_box(self, pad_pt: float = 2.0) -> tuple[float, float, float, float]:
        """The paragraph's rectangle (x1, y1, x2, y2) in PDF points, origin bottom-left, full text width."""
        width, height = A4_MM
        return (
            MARGIN_MM * PT_PER_MM - pad_pt,
            (height - self.bottom_mm) * PT_PER_MM - pad_pt,
            (width - MARGIN_MM) * PT_PER_MM + pad_pt,
            (height - self.top_mm) * PT_PER_MM + pad_pt,
        )


def _new_pdf(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author("intake test PKI")
    pdf.set_creator("intake tests")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.add_page()
    return pdf


def _paragraphs(pdf: FPDF, lines: list[str], layout: list[ParagraphLayout] | None = None) -> None:
    pdf.set_font("DejaVu", "", 11)
    for line in lines:
        top = pdf.get_y()
        pdf.multi_cell(0, 6.5, line, new_x="LMARGIN", new_y="NEXT")
        if layout is not None:  # recording only reads the cursor: the PDF is the same with or without it
            layout.append(ParagraphLayout(line, pdf.page, top, pdf.get_y()))
        pdf.ln(2)


def _header(pdf: FPDF, annex: str, title: str, subtitle: str | None = None) -> None:
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, annex, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")
    if subtitle:
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 6, subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)


def application_pdf(applicant: Applicant = APPLICANT, layout: list[ParagraphLayout] | None = None) -> bytes:
    """Anexa 3: the application for unemployment benefit (`layout`, if given, receives where each paragraph went)."""
    title = "CERERE pentru acordarea indemnizației de șomaj"
    pdf = _new_pdf(title)
    _header(pdf, "Anexa nr. 3", title)
    _paragraphs(
        pdf,
        [
            "Către Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            f"Subsemnata {applicant.full_name}, CNP {applicant.cnp}, domiciliată în {applicant.address}, "
            "telefon 0740 000 000, e-mail ioana.stefanescu@example.ro,",
            "în temeiul prevederilor Legii nr. 76/2002 privind sistemul asigurărilor pentru șomaj și stimularea "
            "ocupării forței de muncă, cu modificările și completările ulterioare, solicit acordarea "
            "indemnizației de șomaj începând cu data de 02.11.2026.",
            "Raportul de muncă a încetat la data de 30.10.2026, în temeiul art. 65 alin. (1) din Codul muncii "
            "(concediere pentru motive care nu țin de persoana salariatului).",
            "Declar că nu realizez venituri din activități autorizate potrivit legii și că nu am refuzat un loc "
            "de muncă potrivit pregătirii mele.",
            "Anexez: copie act de identitate, carnet de muncă / extras REVISAL, decizia de încetare a "
            "raportului de muncă, declarația pe propria răspundere (Anexa 1^1).",
            "Data: 03.11.2026",
            f"Semnătura: {applicant.full_name} (semnătură electronică calificată)",
        ],
        layout,
    )
    return bytes(pdf.output())


def declaration_pdf(applicant: Applicant = APPLICANT) -> bytes:
    """Anexa 1^1: the sworn declaration that accompanies the application."""
    title = "DECLARAȚIE PE PROPRIA RĂSPUNDERE"
    pdf = _new_pdf(title)
    _header(pdf, "Anexa nr. 1^1", title)
    _paragraphs(
        pdf,
        [
            f"Subsemnata {applicant.full_name}, CNP {applicant.cnp}, domiciliată în {applicant.address},",
            "cunoscând prevederile art. 326 din Codul penal privind falsul în declarații, declar pe propria "
            "răspundere că:",
            "- nu realizez venituri lunare mai mari decât valoarea indicatorului social de referință;",
            "- nu am calitatea de asociat, administrator sau acționar care realizează venituri;",
            "- nu beneficiez de pensie sau de alte drepturi incompatibile cu indemnizația de șomaj;",
            "- mă oblig să anunț agenția în termen de 3 zile despre orice modificare a situației mele.",
            "Data: 03.11.2026",
            f"Semnătura: {applicant.full_name} (semnătură electronică calificată)",
        ],
    )
    return bytes(pdf.output())
