"""Issue 10 points 1, 4 and 10: PDF and image bombs are read within bounded memory and time, a JPEG whose scan
was cut and closed with an EOI is corrupt, and honest files are judged as before.

The bombs are built at test time (`tests/bombs.py`); the bounds are measured in a spawned child process
(`bombs.measure`, peak resident set of the child) with generous margins: they fail on blow-ups only (before the
fix: 10 GB and 55 s for the PDF, 1 GB for the PNG)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from intake.validation import documents, image_budget, legibility, pdf_budget
from intake.validation.filetypes import check_attachment
from tests import bombs
from tests.forms import benefit_application

MAX_PEAK_MB = 400
MAX_SECONDS = 20
CHILD_MEMORY_LIMIT = 3 * 1024 * 1024 * 1024  # a regression ends in MemoryError in the child, not in an OOM


# --- functions run in the child (module level: picklable) ---------------------------------------------------


def _pdf_checks(data: bytes) -> tuple[bool, list[str], int]:
    check = check_attachment("cerere.pdf", data)
    issues = [issue.reason for issue in legibility.assess_pdf("cerere.pdf", data)]
    text = documents.read_form("application", data, "pdf").text
    return check.accepted, issues, len(text.strip())


def _image_checks(name: str, files: list[bytes]) -> tuple[int, list[str]]:
    accepted = sum(check_attachment(name, data).accepted for data in files)
    issues = [issue.reason for data in files for issue in legibility.assess_image(name, data)]
    return accepted, issues


# --- point 1: PDF --------------------------------------------------------------------------------------------


def test_pdf_bomb_is_read_within_bounds_and_not_held_against_the_sender() -> None:
    measured = bombs.measure(_pdf_checks, bombs.pdf_bomb(text=True), memory_limit=CHILD_MEMORY_LIMIT)
    accepted, issues, text_chars = measured.result
    assert accepted  # a valid PDF: what cannot be read within the budget is not a finding
    assert issues == []  # pages not read are not judged blank
    assert text_chars == 0  # "not read": no text, as for a scan without a text layer
    assert measured.peak_mb < MAX_PEAK_MB, measured
    assert measured.seconds < MAX_SECONDS, measured


def test_budget_stops_a_stream_while_it_decodes() -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(bombs.pdf_bomb(pages=2, stream_bytes=20 * 1024 * 1024)))
    budget = pdf_budget.Budget(total=6 * 1024 * 1024, per_stream=4 * 1024 * 1024)
    with pdf_budget.limits(), pytest.raises(pdf_budget.TooLarge):
        budget.read_page(reader.pages[0])
    assert budget.remaining <= 2 * 1024 * 1024  # the 4 MB decoded before the stop are charged
    with pdf_budget.limits(), pytest.raises(pdf_budget.TooLarge):
        budget.read_page(reader.pages[1])
    assert budget.exhausted


def test_pypdf_limits_are_lowered_inside_the_block_only() -> None:
    from pypdf import get_configuration

    default = get_configuration().zlib_maximum_output_length
    with pdf_budget.limits():
        assert get_configuration().zlib_maximum_output_length == pdf_budget.PYPDF_STREAM_BYTES < default
    assert get_configuration().zlib_maximum_output_length == default


def test_honest_pdf_is_still_read_and_judged() -> None:
    data = benefit_application()
    assert check_attachment("cerere.pdf", data).accepted
    assert legibility.assess_pdf("cerere.pdf", data) == []
    assert "indemniza" in documents.extract_pdf_text(data).lower()


# --- point 4: an image just under the pixel limit ------------------------------------------------------------


def test_png_just_under_the_pixel_limit_costs_one_bounded_decode() -> None:
    files = [bombs.png_bomb(seed=index) for index in range(3)]  # several in one message must not add up
    measured = bombs.measure(_image_checks, "scan.png", files, memory_limit=CHILD_MEMORY_LIMIT)
    accepted, issues = measured.result
    assert accepted == 3  # a whole PNG, checked without decoding it
    assert issues == []  # judged on its size alone: large enough
    assert measured.peak_mb < MAX_PEAK_MB, measured
    assert measured.seconds < MAX_SECONDS, measured


def test_decoded_bytes_counts_bytes_per_pixel_not_pixels() -> None:
    image = Image.open(io.BytesIO(bombs.png_bomb()))
    assert image_budget.decoded_bytes(image) == 7745 * 7745 * 4
    assert image_budget.decoded_bytes(image) > image_budget.DEFAULT_MAX_DECODED_BYTES


def test_png_over_the_decode_budget_is_still_checked_for_damage() -> None:
    data = bombs.png_bomb(side=3000)
    assert check_attachment("scan.png", data, max_decoded_bytes=8 * 1024 * 1024).accepted
    # Same chunks, same CRCs, but the image data stops early: a crafted file Pillow would reject too.
    _header, idat = image_budget._png_chunks(data)
    short = bytes(idat[0])[: len(idat[0]) // 2]
    import zlib

    broken = zlib.compress(zlib.decompressobj().decompress(short))
    forged = data.replace(bytes(idat[0]), broken)
    forged = forged.replace(
        len(idat[0]).to_bytes(4, "big") + b"IDAT" + broken,
        len(broken).to_bytes(4, "big") + b"IDAT" + broken,
    )
    crc_at = forged.index(b"IDAT") + 4 + len(broken)
    forged = forged[:crc_at] + zlib.crc32(b"IDAT" + broken).to_bytes(4, "big") + forged[crc_at + 4 :]
    assert image_budget._png_chunks(forged)  # structurally whole
    result = check_attachment("scan.png", forged, max_decoded_bytes=8 * 1024 * 1024)
    assert not result.accepted and result.code == "corrupt_attachment"


def test_png_with_alpha_is_judged_as_before() -> None:
    page = Image.new("RGBA", (1240, 1754), (0, 0, 0, 0))
    from PIL import ImageDraw

    draw = ImageDraw.Draw(page)
    for y in range(150, 1600, 30):
        draw.text((120, y), "Subsemnatul Ion Popescu solicit indemnizația de șomaj " * 3, fill=(0, 0, 0, 255))
    out = io.BytesIO()
    page.save(out, "PNG")
    assert legibility.assess_image("cerere.png", out.getvalue()) == []
    blank = io.BytesIO()
    Image.new("RGBA", (1240, 1754), (0, 0, 0, 0)).save(blank, "PNG")
    assert [issue.reason for issue in legibility.assess_image("gol.png", blank.getvalue())] == ["blank"]


# --- point 10: a JPEG cut and closed with an EOI --------------------------------------------------------------


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_jpeg_with_cut_scan_and_appended_eoi_is_corrupt(progressive: bool, keep: float) -> None:
    data = bombs.truncated_jpeg(bombs.scanned_page_jpeg(progressive=progressive), keep)
    Image.open(io.BytesIO(data)).load()  # Pillow alone takes it for whole: that was the bug
    result = check_attachment("cerere.jpg", data)
    assert not result.accepted
    assert result.code == "corrupt_attachment"
    assert "deteriorat sau incomplet" in (result.reason or "")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("progressive", [False, True])
def test_honest_jpeg_is_accepted_and_judged_as_before(progressive: bool) -> None:
    data = bombs.scanned_page_jpeg(progressive=progressive)
    assert image_budget.jpeg_scan_complete(data) is True
    result = check_attachment("cerere.jpg", data)
    assert result.accepted, result.reason
    assert legibility.assess_image("cerere.jpg", data) == []


def test_loading_truncated_images_is_switched_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    result = check_attachment("cerere.jpg", bombs.truncated_jpeg(keep=0.5))
    assert not result.accepted
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
