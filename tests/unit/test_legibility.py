"""Legibility of attachments (procedure 000 step 7): images too small, blank or blurred; PDFs without pages."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from pypdf import PdfWriter

from intake.validation import legibility
from intake.validation.legibility import LegibilityIssue, assess_image, assess_pdf

FONT = Path(legibility.__file__).resolve().parent.parent / "receipts" / "fonts" / "DejaVuSans.ttf"
A4_150_DPI = (1240, 1754)
LINE = "Subsemnatul Popescu Ion, domiciliat în Cluj-Napoca, declar pe propria răspundere că"


@cache
def text_page(size: tuple[int, int] = A4_150_DPI, lines: int = 40, ink: int = 0, paper: int = 255) -> Image.Image:
    """A page of 10.5 pt text (22 px at 150 dpi), like a scanned form."""
    width, height = size
    font_size = max(8, round(22 * width / A4_150_DPI[0]))
    page = Image.new("L", size, paper)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), font_size)
    for index in range(lines):
        y = int(height * 0.06) + index * int(font_size * 1.6)
        draw.text((int(width * 0.08), y), LINE[: 60 if index % 3 else 80], fill=ink, font=font)
    return page


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, fmt, **options)
    return buffer.getvalue()


def noisy(image: Image.Image) -> Image.Image:
    """Sensor noise, as on a phone photo (deterministic enough: only its spread matters here)."""
    return ImageChops.add(image, Image.effect_noise(image.size, 8), 1, -128)


def reasons(issues: list[LegibilityIssue]) -> list[str]:
    return [issue.reason for issue in issues]


# --------------------------------------------------------------------------------------------------
# Images


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_sharp_a4_text_at_150_dpi_is_legible(fmt: str) -> None:
    assert assess_image("cerere.jpg", encode(text_page(), fmt)) == []


@pytest.mark.parametrize(
    "image",
    [
        text_page(lines=1),  # one short line: not blank
        text_page().filter(ImageFilter.GaussianBlur(1)),  # slightly soft: fine
        text_page(ink=200),  # faint but readable grey
        text_page(ink=250, paper=40),  # light text on a dark background
        noisy(text_page(ink=30, paper=230)),  # a phone photo
        text_page((2480, 3508)).filter(ImageFilter.GaussianBlur(3)),  # 300 dpi: radius 3 is 1.5 at 150 dpi
    ],
    ids=["one-line", "blur-1", "faint", "inverted", "noisy", "300dpi-blur-3"],
)
def test_legible_variants(image: Image.Image) -> None:
    assert assess_image("scan.jpg", encode(image, "JPEG", quality=85)) == []


def test_too_small_for_a4() -> None:
    issues = assess_image("ci_fata.jpg", encode(text_page((600, 800)), "JPEG"))
    assert reasons(issues) == ["too_small"]
    assert issues[0].code == "illegible"
    assert "„ci_fata.jpg”" in issues[0].message
    assert "600 × 800 pixeli" in issues[0].message and "aproximativ 73 dpi" in issues[0].message  # 600 / 8.27


def test_the_short_side_decides_in_landscape_too() -> None:
    assert reasons(assess_image("x.png", encode(text_page((1754, 999))))) == ["too_small"]
    assert assess_image("x.png", encode(text_page((1754, 1000)))) == []


def test_a_small_original_scanned_at_300_dpi_is_not_too_small() -> None:
    card = text_page((1011, 638), lines=8)  # an ID card, 85.6 × 54 mm, at 300 dpi
    assert assess_image("ci.png", encode(card, "PNG", dpi=(300, 300))) == []
    assert reasons(assess_image("ci.png", encode(card, "PNG", dpi=(72, 72)))) == ["too_small"]  # a camera's tag


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", A4_150_DPI, 255),
        Image.new("L", A4_150_DPI, 0),
        noisy(Image.new("L", A4_150_DPI, 235)),  # a scanner's empty glass
        text_page(ink=225),  # too faint to read
    ],
    ids=["white", "black", "noise", "too-faint"],
)
def test_nearly_blank(image: Image.Image) -> None:
    issues = assess_image("pagina2.png", encode(image))
    assert reasons(issues) == ["blank"]
    assert "„pagina2.png”" in issues[0].message and "goală" in issues[0].message


@pytest.mark.parametrize(
    "image",
    [
        text_page().filter(ImageFilter.GaussianBlur(3)),
        text_page().filter(ImageFilter.GaussianBlur(4)),
        text_page(lines=1).filter(ImageFilter.GaussianBlur(4)),
        noisy(text_page(ink=30, paper=230).filter(ImageFilter.GaussianBlur(3))),
        text_page((2480, 3508)).filter(ImageFilter.GaussianBlur(8)),
    ],
    ids=["blur-3", "blur-4", "one-line-blur-4", "noisy-blur-3", "300dpi-blur-8"],
)
def test_heavily_blurred(image: Image.Image) -> None:
    for fmt in ("PNG", "JPEG"):
        issues = assess_image("diploma.jpg", encode(image, fmt))
        assert reasons(issues) == ["blurred"], fmt
        assert "„diploma.jpg”" in issues[0].message and "neclar" in issues[0].message


def test_small_and_blurred_are_both_reported() -> None:
    image = text_page((700, 990)).filter(ImageFilter.GaussianBlur(3))
    assert reasons(assess_image("x.png", encode(image))) == ["too_small", "blurred"]


def test_transparent_png_is_read_on_white() -> None:
    page = Image.new("RGBA", A4_150_DPI, (0, 0, 0, 0))  # transparent black paper
    page.putalpha(ImageChops.invert(text_page()))  # ink opaque, paper transparent
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    assert assess_image("scan.png", buffer.getvalue()) == []


def test_16_bit_png_keeps_its_contrast() -> None:
    # Pillow's I;16 → L conversion clips: grey ink at 100 × 256 would become white paper.
    wide = text_page(ink=100).point(lambda value: value * 256, mode="I").convert("I;16")
    buffer = io.BytesIO()
    wide.save(buffer, "PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode.startswith("I")
    assert assess_image("scan.png", buffer.getvalue()) == []


@pytest.mark.parametrize("data", [b"", b"not an image", encode(text_page())[:2000], b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_unreadable_images_never_raise(data: bytes) -> None:
    assert assess_image("x.png", data) == []


def test_file_names_in_messages_are_one_line() -> None:
    issues = assess_image("a\r\nBcc: x@y\x00.png", encode(text_page((600, 800))))
    assert "„a Bcc: x@y .png”" in issues[0].message
    assert "\n" not in issues[0].message


# --------------------------------------------------------------------------------------------------
# PDFs


def make_pdf(pages: list[str]) -> bytes:
    pdf = FPDF()
    for kind in pages:
        pdf.add_page()
        if kind == "text":
            pdf.set_font("helvetica", size=12)
            pdf.cell(text="Cerere pentru acordarea indemnizatiei de somaj")
        elif kind == "scan":  # a scanner's PDF: one image, no text
            pdf.image(io.BytesIO(encode(text_page((400, 566)))), x=0, y=0, w=210)
        elif kind == "drawing":
            pdf.line(10, 10, 100, 100)
    return bytes(pdf.output())


@pytest.mark.parametrize("pages", [["text"], ["scan"], ["drawing"], ["text", "scan", "text"]])
def test_pdf_pages_with_content_are_legible(pages: list[str]) -> None:
    assert assess_pdf("cerere.pdf", make_pdf(pages)) == []


def test_blank_pdf_page() -> None:
    issues = assess_pdf("cerere.pdf", make_pdf(["blank"]))
    assert reasons(issues) == ["blank_pages"]
    assert issues[0].code == "illegible"
    assert issues[0].message == "Fișierul PDF „cerere.pdf” conține doar o pagină goală."


def test_blank_pages_among_others_are_numbered() -> None:
    issues = assess_pdf("acte.pdf", make_pdf(["text", "blank", "scan", "blank"]))
    assert reasons(issues) == ["blank_pages"]
    assert "paginile goale 2, 4" in issues[0].message


def test_all_pages_blank() -> None:
    issues = assess_pdf("acte.pdf", make_pdf(["blank", "blank"]))
    assert "numai pagini goale (2 pagini)" in issues[0].message


def test_pdf_without_pages() -> None:
    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    issues = assess_pdf("gol.pdf", buffer.getvalue())
    assert reasons(issues) == ["no_pages"]
    assert "„gol.pdf”" in issues[0].message


def test_a_string_with_operator_letters_is_not_a_drawing() -> None:
    # Letters inside strings and comments are not operators: only "Tj" is.
    content = b"BT /F1 12 Tf 72 720 Td (S f B) Tj ET % S f B"
    assert legibility._operators(legibility._STRINGS.sub(b" ", content)) & legibility._PAINTING == set()
    assert legibility._operators(content) & legibility._TEXT_SHOWING == {b"Tj"}


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", make_pdf(["text"])[:300]])
def test_unreadable_pdfs_never_raise(data: bytes) -> None:
    assert assess_pdf("x.pdf", data) == []
