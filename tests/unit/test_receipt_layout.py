"""The recipisă as the beneficiary sees it: a clickable reschedule link, a visible signature that stays valid,
no page holding only a few spilled lines; and the link as an <a> in the e-mail's HTML part."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from intake.receipts import compose, render
from intake.receipts.keys import generate_ca_and_leaf_pkcs12
from intake.receipts.render import ReceiptData, ReceiptDocument, render_receipt, render_stamp
from intake.receipts.sign import ReceiptSigner
from intake.receipts.stamp import StampText

PASSWORD = "parolă-de-test"
URL = "https://programari.ajofm-cluj.example.ro/programare/eyJzdWJtaXNzaW9uIjoxMn0.Zm9vYmFyYmF6cXV4cXV1eA-Zm9v"
MOMENT = datetime(2026, 11, 23, 7, 14, 3, tzinfo=UTC)
APPOINTMENT = (
    "Vă așteptăm la sediul AJOFM Cluj în data de 25.11.2026, ora 10:00.\n"
    "Ora a fost aleasă automat, la primul loc liber. Dacă nu vă convine sau nu puteți ajunge, puteți alege altă oră "
    f"liberă sau anula programarea aici:\n{URL}\nLinkul este valabil până la 25.11.2026, ora 09:00."
)


def receipt(documents: int = 1, findings: int = 0) -> ReceiptData:
    docs = tuple(
        ReceiptDocument(f"document_{index:02d}.pdf", "PDF", 2, 48_213, "ab" * 32, True, None)
        for index in range(1, documents + 1)
    )
    return ReceiptData(
        office_name="Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
        office_address="Str. Gheorghe Doja nr. 2, 400068 Cluj-Napoca, județul Cluj",
        registration_number="12/23.11.2026",
        registered_at=MOMENT,
        received_at=MOMENT,
        sender="ana@exemplu.ro",
        subject="Dosar șomaj",
        documents=docs,
        findings=tuple(
            f"Constatarea nr. {index}: documentul lipsește sau nu este semnat." for index in range(findings)
        ),
        appointment=APPOINTMENT,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_ca_and_leaf_pkcs12(tmp_path_factory.mktemp("pki"), PASSWORD)


@pytest.fixture(scope="module")
def signed(pki: tuple[Path, Path]) -> bytes:
    signer = ReceiptSigner(pki[0], PASSWORD, signer_name="Registratura AJOFM Cluj")
    return signer.sign(render_receipt(receipt()), registration="12/23.11.2026")


def _links(reader: PdfReader) -> list[str]:
    uris = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            obj = annotation.get_object()
            if obj.get("/Subtype") == "/Link" and "/A" in obj:
                uris.append(str(obj["/A"].get("/URI")))
    return uris


def test_reschedule_link_is_one_clickable_line(signed: bytes) -> None:
    reader = PdfReader(io.BytesIO(signed))
    assert _links(reader) == [URL]
    # The whole address on one line: text extraction finds it unbroken.
    assert any(URL in line for line in reader.pages[0].extract_text().splitlines())


def test_visible_signature_names_signer_time_and_number(signed: bytes) -> None:
    reader = PdfReader(io.BytesIO(signed))
    fields = [f for f in (reader.get_fields() or {}).values() if f.get("/FT") == "/Sig"]
    assert len(fields) == 1
    widget = next(a.get_object() for a in reader.pages[-1]["/Annots"] if a.get_object().get("/FT") == "/Sig")
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    assert x2 - x1 > 200 and y2 - y1 > 40, "a visible box, not a zero-size field"
    appearance = widget["/AP"]["/N"].get_object()
    assert appearance.get_data(), "the field has an appearance stream"
    assert appearance["/Resources"]["/XObject"], "the face of the stamp is drawn in the appearance"


def test_stamp_face_names_signer_time_and_number() -> None:
    face = StampText("Registratura AJOFM Cluj (demo)", "12/23.11.2026", MOMENT).lines()
    text = PdfReader(io.BytesIO(render_stamp(face))).pages[0].extract_text()
    assert "Semnat electronic de: Registratura AJOFM Cluj (demo)" in text
    assert "Data: 23.11.2026, ora 09:14:03 (ora României)" in text
    assert "Recipisa nr. 12/23.11.2026" in text


def test_stamp_face_fits_a_long_signer_name() -> None:
    signer = "Registratura Agenției Județene pentru Ocuparea Forței de Muncă Cluj (semnătură de test)"
    face = StampText(signer, "12/23.11.2026", MOMENT).lines()
    page = PdfReader(io.BytesIO(render_stamp(face))).pages[0]
    lines: list[float] = []

    def baseline(text: str, cm: object, tm: list[float], font: object, size: float) -> None:
        if text.strip():
            lines.append(tm[5])

    text = page.extract_text(visitor_text=baseline)
    assert " ".join(text.split()) == " ".join(face.split())
    height = float(page.mediabox.height)
    assert lines and min(lines) > 5 and max(lines) < height, (lines, height)  # every line inside the box (pt)


def test_visible_signature_keeps_the_signature_valid(signed: bytes, pki: tuple[Path, Path]) -> None:
    _, _, der = pem.unarmor(pki[1].read_bytes())
    reader = PdfFileReader(io.BytesIO(signed))
    status = validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)])
    )
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"


def _page_count(data: ReceiptData) -> int:
    return len(PdfReader(io.BytesIO(render_receipt(data))).pages)


def test_no_page_of_a_few_spilled_lines() -> None:
    # With one finding the notice and the signature box overflow the first page by a few lines: the tighter
    # layout keeps them on it. Longer receipts grow a page at a time, never fewer pages for more text.
    counts = [_page_count(receipt(documents=6, findings=n)) for n in (0, 1, 4, 12)]
    assert counts[:2] == [1, 1], counts
    assert counts == sorted(counts), counts


@pytest.mark.parametrize(("documents", "findings"), [(6, 12), (6, 19), (22, 0), (60, 10)])
def test_longer_receipts_keep_the_notice_whole(documents: int, findings: int) -> None:
    reader = PdfReader(io.BytesIO(render_receipt(receipt(documents, findings))))
    assert len(reader.pages) >= 2
    last = reader.pages[-1].extract_text()
    # The appointment notice is not cut by the page break: its heading and its link share the last page.
    assert "Programare\n" in last, last
    assert URL in last


def test_html_part_links_the_reschedule_url() -> None:
    who = compose.Correspondent("cluj@anofm.gov.ro", "AJOFM Cluj", "ana@exemplu.ro", "Europe/Bucharest")
    original = compose.Original("<a@b>", (), "Dosar", MOMENT)
    message = compose.build_receipt_reply(
        who,
        original,
        office_name="AJOFM Cluj",
        registration="12/23.11.2026",
        documents=[],
        findings=[],
        pdf=b"%PDF-1.7",
        pdf_filename="recipisa.pdf",
        message_id="<m@x>",
        now=MOMENT,
        appointment=APPOINTMENT,
    )
    html_part = message.get_body(("html",))
    assert html_part is not None
    assert f'<a href="{URL}">{URL}</a>' in html_part.get_content()


def _output(pdf: render.FPDF) -> bytes:
    """The PDF without what depends on the clock: its dates (fpdf2 takes the XMP modification date from the clock
    at output) and the /ID hashed over them."""
    pdf.set_creation_date(MOMENT)
    data = re.sub(rb'xmp:(ModifyDate|MetadataDate)="[^"]*"', b"", bytes(pdf.output()))
    return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", data)


def test_moving_the_notice_to_a_new_page_is_laying_out_again() -> None:
    """The notice is moved by continuing a copy of the document made before it (`_tail_on_new_page`): the PDF is
    byte for byte the one a whole second layout with the page break before the notice gives."""
    kit = render._font_kit()
    moved = 0
    for documents, findings in [(1, 0), (6, 12), (6, 19), (14, 3), (22, 0), (28, 6), (60, 10)]:
        data = receipt(documents, findings)
        first = render._layout(data, kit, 1.0)
        if not (first.tail_split or first.stamp_alone):
            continue
        whole = render._Context(pdf=render._new_pdf(data, kit, 1.0), charset=kit.charset, data=data)
        render._body(whole)
        whole.pdf.add_page()
        render._tail(whole)
        assert _output(render._tail_on_new_page(first, data, kit)) == _output(whole.pdf), (documents, findings)
        moved += 1
    assert moved >= 2
