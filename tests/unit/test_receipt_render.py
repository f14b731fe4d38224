"""The recipisă PDF: Romanian text survives, untrusted input cannot break the layout."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from intake import texts
from intake.receipts import render
from intake.receipts.render import (
    REPLACEMENT,
    ReceiptData,
    ReceiptDocument,
    clean_text,
    format_moment,
    format_size,
    render_receipt,
)

REGISTRATION = "12/23.11.2026"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def document(index: int = 1, *, filename: str | None = None, accepted: bool = True,
             reason: str | None = None) -> ReceiptDocument:
    return ReceiptDocument(
        filename=filename or f"cerere_șomaj_țară_{index:02d}.pdf",
        detected_type="PDF",
        pages=2,
        size=1536 * index,
        sha256=SHA,
        accepted=accepted,
        reason=reason,
    )


def receipt(documents: tuple[ReceiptDocument, ...] = (), **overrides: object) -> ReceiptData:
    fields: dict[str, object] = {
        "office_name": "Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
        "office_address": "Str. Călărașilor nr. 1, Cluj-Napoca, județul Cluj",
        "registration_number": REGISTRATION,
        "registered_at": datetime(2026, 11, 23, 7, 14, 5, tzinfo=UTC),
        "received_at": datetime(2026, 11, 23, 7, 14, 3, tzinfo=UTC),
        "sender": "ștefania.țurcanu@exemplu.ro",
        "subject": "Dosar indemnizație de șomaj — Ștefănescu Țurcanu",
        "documents": documents,
        "findings": ("Lipsește actul de identitate.", "Cererea nu este semnată olograf."),
        "appointment": "Vă așteptăm la ghișeul 3 în data de 25.11.2026, ora 10:00.",
    }
    fields.update(overrides)
    return ReceiptData(**fields)  # type: ignore[arg-type]


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squeeze(text: str) -> str:
    """Table cells wrap, so extraction inserts line breaks inside long values."""
    return re.sub(r"\s+", "", text)


def test_diacritics_in_every_field_survive() -> None:
    pdf = render_receipt(receipt((document(1, reason="Conține și o declarație pe propria răspundere."),)))
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(pages_text(pdf))
    assert "RECIPISĂ" in text
    assert f"Nr. de înregistrare: {REGISTRATION}" in text
    for expected in (
        "Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
        "Str. Călărașilor nr. 1, Cluj-Napoca, județul Cluj",
        "ștefania.țurcanu@exemplu.ro",
        "Dosar indemnizație de șomaj — Ștefănescu Țurcanu",
        "cerere_șomaj_țară_01.pdf",
        "Lipsește actul de identitate.",
        "Vă așteptăm la ghișeul 3",
        "Data înregistrării",
        "certifică numai",
    ):
        assert expected in text, expected
    assert "ș" in text and "ț" in text and "ş" not in text and "ţ" not in text  # comma, not cedilla
    assert "Conțineșiodeclarațiepepropriarăspundere." in squeeze(text)


def test_received_time_is_romanian_local_time() -> None:
    text = pages_text(render_receipt(receipt()))[0]
    assert "Primit la: 23.11.2026, ora 09:14:03 (ora României)" in text
    assert "Data înregistrării: 23.11.2026, ora 09:14:05 (ora României)" in text


def test_summer_time_is_utc_plus_three() -> None:
    assert format_moment(datetime(2026, 7, 1, 7, 0, tzinfo=UTC), "Europe/Bucharest") == (
        "01.07.2026, ora 10:00:00 (ora României)"
    )


def test_naive_datetime_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="time zone"):
        render_receipt(receipt(received_at=datetime(2026, 11, 23, 9, 14, 3)))


def test_no_attachments_is_stated() -> None:
    text = pages_text(render_receipt(receipt(findings=(), appointment=None)))[0]
    assert texts.part("recipisa_pdf", "fara_atasamente") in text
    assert "Constatări" not in text and "Programare" not in text


def test_one_document_row() -> None:
    pdf = render_receipt(receipt((document(1, accepted=False, reason="Fișierul este protejat cu parolă."),)))
    pages = pages_text(pdf)
    assert len(pages) == 1
    flat = squeeze(pages[0])
    assert "cerere_șomaj_țară_01.pdf" in flat
    assert SHA in flat  # full hash, wrapped in groups of 16
    assert "1,5KB" in flat
    assert "neacceptat" in flat and "respins" not in flat and "Fișierulesteprotejatcuparolă." in flat


def test_sixty_documents_flow_over_pages_with_repeated_header() -> None:
    documents = tuple(document(i) for i in range(1, 61))
    pages = pages_text(render_receipt(receipt(documents)))
    assert len(pages) >= 2
    for page in pages[1:]:
        if "SHA-256" not in page:  # the closing paragraph may sit alone on the last page
            assert "cerere_" not in page
            continue
        assert "Fișier" in page and "Stare" in page
    assert "pagina 1 din " + str(len(pages)) in pages[0]
    flat = squeeze("".join(pages))
    for i in range(1, 61):
        assert f"cerere_șomaj_țară_{i:02d}.pdf" in flat
    assert flat.count(SHA) == 60


def test_long_file_name_wraps_inside_its_column() -> None:
    name = "dosar_" + "ăâîșț" * 98 + ".pdf"
    assert len(name) == 500
    pdf = render_receipt(receipt((document(1, filename=name, reason="motiv " * 80),)))
    text = "\n".join(pages_text(pdf))
    assert name in squeeze(text)
    _assert_text_inside_page(pdf)
    wrapped = [line for line in text.splitlines() if "ăâîșț" in line]
    assert len(wrapped) > 10 and all(len(line) < 45 for line in wrapped)


def test_worst_case_row_still_renders() -> None:
    # fpdf2 refuses a table row taller than a page: the widest glyph at the length limits must fit.
    kit = render._font_kit()
    font = kit.template.fonts["dejavu"]
    widest = chr(max((cp for cp in kit.charset if cp > 0x20), key=lambda cp: font.cw[cp]))
    doc = ReceiptDocument(widest * 5000, widest * 500, 10**6, 2**40, "x" * 5000, False, widest * 5000,
                          widest * 5000)
    pdf = render_receipt(receipt((doc, document(2)), subject=widest * 100_000))
    assert len(pages_text(pdf)) >= 2


def test_emoji_and_hostile_text_in_subject_and_names() -> None:
    subject = "Acte 😀👍🏽 👨‍👩‍👧 pentru șomaj\u202efdp.exe \x00\x07\ud800 ✓"
    doc = document(1, filename="poză_buletin_🙂.jpg\r\n\u200bx")
    text = "\n".join(pages_text(render_receipt(receipt((doc,), subject=subject))))
    assert "Acte" in text and "pentru șomaj" in text and "fdp.exe" in text and "✓" in text
    assert REPLACEMENT in text  # emoji the font lacks are replaced, not dropped silently
    assert "poză_buletin_" in text


def test_clean_text_rules() -> None:
    charset = render._font_kit().charset
    assert clean_text("a\u202eb", charset, None) == "ab"  # bidi override removed
    assert clean_text("s\u0326", charset, None) == "ș"  # NFC: s + combining comma below
    assert clean_text("😀😀😀 x", charset, None) == f"{REPLACEMENT} x"
    assert clean_text("a\nb", charset, None) == "a b"
    assert clean_text("a\nb", charset, None, multiline=True) == "a\nb"
    assert clean_text("x" * 50, charset, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, "0 B"), (512, "512 B"), (1536, "1,5 KB"), (5 * 1024 * 1024 + 300 * 1024, "5,3 MB"),
     (3 * 1024**3, "3,0 GB")],
)
def test_format_size(size: int, expected: str) -> None:
    assert format_size(size) == expected


def test_repeated_renders_reuse_the_prepared_fonts() -> None:
    # The speed itself is measured in bench/, never asserted in tests.
    data = receipt((document(1), document(2)))
    first = render_receipt(data)  # the first call pre-subsets the fonts, once per process
    assert all(render_receipt(data)[:5] == first[:5] == b"%PDF-" for _ in range(3))


def test_concurrent_renders_share_the_fonts_safely() -> None:
    data = receipt(tuple(document(i) for i in range(1, 4)))
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: render_receipt(data), range(6)))
    for pdf in results:
        assert "cerere_șomaj_țară_03.pdf" in squeeze("".join(pages_text(pdf)))


def _assert_text_inside_page(pdf: bytes) -> None:
    for page in PdfReader(io.BytesIO(pdf)).pages:
        width = float(page.mediabox.width)
        xs: list[float] = []

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float,
                  xs: list[float] = xs) -> None:
            if text.strip():
                xs.append(tm[4] * cm[0] + cm[4])

        page.extract_text(visitor_text=visit)
        assert xs and min(xs) >= 0 and max(xs) < width * 0.9
