"""Legibility of attachments (procedure 000 step 7): images too small for the document they show, blank, blurred,
glared or cut off; PDFs without pages."""

from __future__ import annotations

import io
import re
import time
from functools import cache
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from pypdf import PdfWriter

from intake.validation import legibility
from intake.validation.legibility import LegibilityIssue, assess_image, assess_pdf
from tests import images

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
    issues = assess_image("cerere.jpg", encode(text_page((600, 800)), "JPEG"))
    assert reasons(issues) == ["too_small"]
    assert issues[0].code == "illegible"
    # A 4:3 image of an A4 page: the page fills the height, 800 px over 297 mm.
    assert issues[0].message == (
        "Fișierul „cerere.jpg” are o rezoluție prea mică pentru a putea fi citit ca pagină A4 (210 × 297 mm): "
        "600 × 800 pixeli, adică aproximativ 68 dpi pe document. Vă rugăm să scanați sau să fotografiați "
        "documentul din nou, la cel puțin 150 dpi."
    )


def test_a4_needs_120_dpi_on_both_sides() -> None:
    assert reasons(assess_image("x.png", encode(text_page((1754, 990), lines=16)))) == ["too_small"]  # 119.7 dpi
    assert assess_image("x.png", encode(text_page((1754, 1000), lines=16))) == []  # 121 dpi


def test_a_small_original_scanned_at_300_dpi_is_not_too_small() -> None:
    receipt = text_page((700, 990), lines=10)  # an A6-sized paper scanned at 300 dpi: A4-shaped, but small
    assert assess_image("chitanta.png", encode(receipt, "PNG", dpi=(300, 300))) == []
    assert reasons(assess_image("chitanta.png", encode(receipt, "PNG", dpi=(72, 72)))) == ["too_small"]  # a camera


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
    assert issues[0].message == (
        "Fișierul „pagina2.png” pare să fie o pagină goală sau are un contrast prea slab pentru a putea fi citit. "
        "Vă rugăm să trimiteți din nou documentul, scanat sau fotografiat clar."
    )


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
        assert issues[0].message == (
            "Fișierul „diploma.jpg” este neclar (imagine mișcată sau nefocalizată) și nu poate fi citit. "
            "Vă rugăm să trimiteți din nou documentul, scanat sau fotografiat clar."
        )


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
# Resolution against the document's physical size; content: blur, glare, cut off, blank (issue 9, point 7)


@pytest.mark.parametrize(
    ("kind", "filename", "ratio", "expected"),
    [
        ("id_document", "buletin.jpg", 1.33, legibility.ID1),  # the kind decides, not the frame
        ("id_document", "Pașaport Ion.jpg", 1.5, legibility.PASSPORT),
        ("id_document", "passport.png", 1.5, legibility.PASSPORT),
        ("application", "cerere.jpg", 1.585, legibility.A4),  # a form is A4 whatever its frame
        ("diploma", "diploma.jpg", 1.6, legibility.A4),
        ("other", "IMG_0001.jpg", 1.585, legibility.ID1),  # unknown: the shape decides
        ("other", "IMG_0001.jpg", 1.50, legibility.ID1),
        ("other", "IMG_0001.jpg", 1.68, legibility.ID1),
        ("", "IMG_0001.jpg", 1.414, legibility.A4),
        (None, "IMG_0001.jpg", 1.33, legibility.A4),
        (None, "IMG_0001.jpg", 1.78, legibility.A4),  # a 16:9 frame is no card
    ],
)
def test_physical_format_from_kind_then_shape(
    kind: str | None, filename: str, ratio: float, expected: legibility.PhysicalFormat
) -> None:
    assert legibility.physical_format(kind or "", filename, ratio) is expected


PHONE_SIZES = [(1200, 800), (1600, 1000), (4000, 3000), (1280, 960), (1920, 1080), (800, 500)]


@pytest.mark.parametrize("size", PHONE_SIZES, ids=[f"{w}x{h}" for w, h in PHONE_SIZES])
@pytest.mark.parametrize("kind", ["id_document", None])
def test_ordinary_phone_photos_of_an_id_card_are_legible(size: tuple[int, int], kind: str | None) -> None:
    assert assess_image("IMG_20261123_101500.jpg", images.encode(images.phone_photo(size)), kind=kind) == []


def test_the_1200x800_id_photo_is_judged_as_a_card_not_as_an_a4_page() -> None:
    data = images.encode(images.phone_photo((1200, 800)))
    assert assess_image("buletin.jpg", data, kind="id_document") == []
    # Control: the same pixels judged as an A4 form (what intake did before) are far too few.
    issues = assess_image("cerere.jpg", data, kind="application")
    assert reasons(issues) == ["too_small"]
    assert "ca pagină A4 (210 × 297 mm)" in issues[0].message


def test_a_card_scanned_alone_at_300_dpi_and_cropped_is_legible() -> None:
    card = images.card(300 / 25.4)  # 1011 × 638, no surface around it, no resolution tag
    assert assess_image("ci.png", images.encode(card, "PNG"), kind="id_document") == []
    assert assess_image("scan.png", images.encode(card, "PNG")) == []  # unknown kind: card-shaped


def test_a_card_in_the_corner_of_a_white_scanner_glass_is_not_cut_off() -> None:
    glass = Image.new("RGB", (1240, 1754), (252, 252, 252))  # A4 at 150 dpi
    glass.paste(images.card(150 / 25.4), (0, 0))  # pushed into the corner, as people do
    assert assess_image("buletin.png", images.encode(glass, "PNG"), kind="id_document") == []


@pytest.mark.parametrize("size", [(560, 350), (400, 250), (300, 190)], ids=["560x350", "400x250", "300x190"])
def test_a_tiny_photo_of_an_id_card_is_too_small(size: tuple[int, int]) -> None:
    issues = assess_image("buletin.jpg", images.encode(images.phone_photo(size)), kind="id_document")
    assert reasons(issues) == ["too_small"]
    message = issues[0].message
    assert "ca carte de identitate (85,6 × 54 mm)" in message and f"{size[0]} × {size[1]} pixeli" in message
    assert "la cel puțin 300 dpi, sau să îl fotografiați de aproape, astfel încât să umple imaginea." in message


def test_card_resolution_threshold() -> None:
    # The card fills 80 % of the frame: 0.8 × 800 px over 85.6 mm is 190 dpi; 0.8 × 560 px is 133 dpi.
    assert assess_image("ci.jpg", images.encode(images.phone_photo((800, 500))), kind="id_document") == []
    small = assess_image("ci.jpg", images.encode(images.phone_photo((560, 350))), kind="id_document")
    assert reasons(small) == ["too_small"] and "aproximativ 13" in small[0].message


def test_a_passport_page_is_judged_as_a_passport_page() -> None:
    issues = assess_image("pasaport.jpg", images.encode(images.phone_photo((500, 330))), kind="id_document")
    assert reasons(issues) == ["too_small"]
    assert "ca pagină de pașaport (125 × 88 mm)" in issues[0].message


@pytest.mark.parametrize("size", [(1600, 1000), (4000, 3000)], ids=["1600x1000", "4000x3000"])
def test_a_blurred_id_photo_is_flagged(size: tuple[int, int]) -> None:
    photo = images.phone_photo(size)
    # Slightly soft (radius 0.1 % of the long side: 1.6 px, 4 px): the data is readable.
    assert assess_image("ci.jpg", images.encode(images.blurred(photo, 0.001)), kind="id_document") == []
    # Out of focus (0.6 %: 10 px, 24 px): letters are smudges.
    issues = assess_image("ci.jpg", images.encode(images.blurred(photo, 0.006)), kind="id_document")
    assert reasons(issues) == ["blurred"]
    assert issues[0].message.startswith("Fișierul „ci.jpg” este neclar")


def test_blur_is_judged_against_the_size_of_the_print() -> None:
    # The same 3 px blur: harmless on a card photographed at 1600 px (its print is ~20 px high), fatal on an A4
    # page at 150 dpi (its print is ~10 px high).
    card = images.blurred(images.phone_photo((1600, 1000)), 3 / 1600)
    assert assess_image("ci.jpg", images.encode(card), kind="id_document") == []
    page = text_page().filter(ImageFilter.GaussianBlur(3))
    assert reasons(assess_image("cerere.jpg", encode(page, "JPEG"))) == ["blurred"]


def test_a_flash_reflection_over_the_card_is_glare() -> None:
    photo = images.phone_photo((1600, 1000))
    issues = assess_image("ci.jpg", images.encode(images.glared(photo, 0.15)), kind="id_document")
    assert reasons(issues) == ["glare"]
    assert re.fullmatch(
        r"Fișierul „ci\.jpg” are o zonă supraexpusă \(reflexie de lumină sau bliț\) care acoperă o parte a "
        r"documentului \(aproximativ \d{1,2}%\), iar textul de acolo nu se poate citi\. Vă rugăm să fotografiați "
        r"documentul din nou, fără reflexii \(de exemplu fără bliț, cu lumina din lateral\)\.",
        issues[0].message,
    ), issues[0].message
    # Control: a small highlight (3 % of the frame) hides nothing that matters.
    assert assess_image("ci.jpg", images.encode(images.glared(photo, 0.03)), kind="id_document") == []


def test_white_paper_on_a_scanner_is_not_glare() -> None:
    assert assess_image("cerere.png", encode(text_page(lines=4))) == []  # 255 paper, mostly empty


@pytest.mark.parametrize(
    ("offset", "side"),
    [((0.3, 0.0), "din dreapta"), ((-0.3, 0.0), "din stânga"), ((0.0, 0.3), "de jos"), ((0.0, -0.3), "de sus")],
)
def test_a_card_running_off_the_frame_is_cut_off(offset: tuple[float, float], side: str) -> None:
    photo = images.phone_photo((1600, 1000), offset=offset)
    issues = assess_image("ci.jpg", images.encode(photo), kind="id_document")
    assert reasons(issues) == ["cut_off"]
    assert issues[0].message == (
        f"Documentul din fișierul „ci.jpg” pare tăiat: textul continuă dincolo de marginea {side} a imaginii. "
        "Vă rugăm să trimiteți din nou documentul întreg, cu toate marginile vizibile."
    )


def test_a_card_filling_the_frame_with_its_print_cut_is_cut_off() -> None:
    photo = images.phone_photo((1600, 1000), fill=1.0, offset=(-0.15, 0.0))  # no surface left to see
    issues = assess_image("ci.jpg", images.encode(photo), kind="id_document")
    assert reasons(issues) == ["cut_off"] and "marginea din stânga" in issues[0].message


def test_a_page_whose_lines_run_off_the_edge_is_cut_off() -> None:
    page = text_page()
    cut = page.crop((0, 0, round(page.width * 0.7), page.height))  # the right 30 % of every line is gone
    issues = assess_image("cerere.png", encode(cut))
    assert "cut_off" in reasons(issues) and "marginea din dreapta" in issues[-1].message
    assert "cut_off" not in reasons(assess_image("cerere.png", encode(page)))  # control: margins all round


def test_the_cut_side_is_named_as_the_viewer_sees_the_photo() -> None:
    shown = images.phone_photo((1600, 1000), offset=(0.3, 0.0))  # cut on the right, as displayed
    stored = shown.transpose(Image.Transpose.ROTATE_90)  # the sensor's pixels; EXIF 6 turns them upright
    exif = Image.Exif()
    exif[0x0112] = 6
    issues = assess_image("ci.jpg", images.encode(stored, exif=exif), kind="id_document")
    assert reasons(issues) == ["cut_off"] and "marginea din dreapta" in issues[0].message


def test_a_blank_card_or_frame_is_blank() -> None:
    bare = images.phone_photo((1600, 1000), printed=False)  # the card stock alone, on the table
    assert reasons(assess_image("ci.jpg", images.encode(bare), kind="id_document")) == ["blank"]
    grey = Image.new("RGB", (1600, 1000), (120, 120, 120))  # the lens cap on
    assert reasons(assess_image("ci.jpg", images.encode(grey), kind="id_document")) == ["blank"]


def test_a_photo_on_a_cv_is_not_taken_for_the_document() -> None:
    page = text_page(lines=30).copy()
    page.paste(40, (900, 100, 1150, 420))  # the portrait in a CV's corner
    assert assess_image("cv.png", encode(page)) == []


def test_a_phone_jpeg_is_decoded_at_reduced_scale() -> None:
    # draft(): the 4000 × 3000 JPEG is decoded at 1/4 scale, never at 12 megapixels.
    image = Image.open(io.BytesIO(images.encode(images.phone_photo((4000, 3000)))))
    copy = legibility._analysis_copy(image)
    assert image.size == (1000, 750) and max(copy.size) <= legibility.ANALYSIS_SIZE


def test_an_image_too_large_to_decode_is_judged_on_its_size_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(legibility, "MAX_DECODED_PIXELS", 100_000)

    def no_decoding(image: Image.Image) -> Image.Image:
        raise AssertionError("decoded")

    monkeypatch.setattr(legibility, "_analysis_copy", no_decoding)
    big = images.encode(images.phone_photo((1600, 1000)))
    assert assess_image("ci.jpg", big, kind="id_document") == []
    small_card = images.encode(images.phone_photo((500, 300)))  # 150 000 pixels, 149 dpi as a card
    assert reasons(assess_image("ci.jpg", small_card, kind="id_document")) == ["too_small"]


def test_a_phone_photo_is_assessed_quickly() -> None:
    data = images.encode(images.phone_photo((4000, 3000)))
    started = time.perf_counter()
    for _ in range(3):
        assert assess_image("ci.jpg", data, kind="id_document") == []
    assert (time.perf_counter() - started) / 3 < 0.5  # ~60 ms measured; generous for a loaded CI machine


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
    assert issues[0].message == (
        "Fișierul PDF „acte.pdf” are paginile goale 2, 4. Verificați dacă ați scanat toate paginile."
    )


def test_all_pages_blank() -> None:
    issues = assess_pdf("acte.pdf", make_pdf(["blank", "blank"]))
    assert issues[0].message == "Fișierul PDF „acte.pdf” conține numai pagini goale (2 pagini)."


def test_pdf_without_pages() -> None:
    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    issues = assess_pdf("gol.pdf", buffer.getvalue())
    assert reasons(issues) == ["no_pages"]
    assert issues[0].message == "Fișierul PDF „gol.pdf” nu conține nicio pagină."


def test_a_string_with_operator_letters_is_not_a_drawing() -> None:
    # Letters inside strings and comments are not operators: only "Tj" is.
    content = b"BT /F1 12 Tf 72 720 Td (S f B) Tj ET % S f B"
    assert legibility._operators(legibility._STRINGS.sub(b" ", content)) & legibility._PAINTING == set()
    assert legibility._operators(content) & legibility._TEXT_SHOWING == {b"Tj"}


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", make_pdf(["text"])[:300]])
def test_unreadable_pdfs_never_raise(data: bytes) -> None:
    assert assess_pdf("x.pdf", data) == []
