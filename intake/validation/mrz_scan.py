"""Find the machine-readable zone in a scan of an identity card and OCR it (Pillow + Tesseract); the text is parsed
and verified by `intake.validation.mrz`.

Tesseract runs as a subprocess with a hard timeout, one thread, the Romanian model and a character whitelist
`A-Z0-9<`, on the last text lines of the lower part of the card only, straightened and binarised at the size OCR
needs: a third of a second a card. Nothing here logs what was read.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import subprocess
import time
from datetime import date

from PIL import Image, ImageOps
from pypdf import PdfReader

from intake.validation import rank_filters
from intake.validation.image_budget import jpeg_draft_size
from intake.validation.mrz import (
    REASON_NO_IMAGE,
    REASON_NO_MRZ,
    REASON_OCR_FAILED,
    CardReading,
    parse,
    unreadable,
)

log = logging.getLogger(__name__)

TYPES = frozenset({"jpeg", "png", "pdf"})  # what a scanned card arrives as (`Document.detected_type`)
WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
TESSERACT = "tesseract"
LANGUAGE = "ron"  # the model: its LSTM reads OCR-B well with the MRZ whitelist (bench/mrz.py)
# Width the MRZ band is OCRed at: about 25-30 px per character line for 36 characters, what Tesseract reads best.
BAND_WIDTH = 1100
# Longest side the scan is decoded at before anything else (a 12-megapixel phone photo need not be decoded whole).
DECODE_SIDE = 1600
# The largest image of a PDF page decoded to look for a card: an A4 page scanned at 450 dpi, not more (pypdf decodes
# a Flate image whole, inside the message's memory budget).
MAX_PDF_IMAGE_PIXELS = 20_000_000
# Angles tried when straightening the scan (a phone photo is rarely more than a few degrees off).
SKEW_ANGLES = tuple(a / 2 for a in range(-16, 17))
# Share of the card's height, from the bottom, where the MRZ lies (on both layouts it takes the lowest third).
BAND_SHARE = 0.45

# Print on the card: the darkest and the lightest 2 % of the pixels at least this many grey levels apart.
MIN_CONTRAST = 70
# Thresholds tried, as a share of the band's mean grey level.
THRESHOLDS = (0.8, 0.65)
# A row of MRZ text at BAND_WIDTH crosses 30-36 characters, each several strokes: far more changes than this.
MIN_ROW_CHANGES = 24
MIN_LINE_ROWS = 6  # a text line is at least this tall at BAND_WIDTH (thinner runs are rules and guilloche)
MRZ_LINES = 3  # TD1 has three lines; for TD2 the third from the bottom is printed data, harmless to OCR
# Taller than wide by more than this, the image is a page, not a card (ID-1 is 85.6 x 54 mm; a phone photo of one
# is landscape or nearly square).
MAX_PORTRAIT = 1.1
# The band's height at most this share of the width (the lower part of a card, not half an A4 page).
BAND_ASPECT = 0.36


def read_card(data: bytes, detected_type: str, *, today: date, timeout: float) -> CardReading:
    """OCR the MRZ of a scan (JPEG/PNG, or the largest image on the first page of a PDF): the last text lines of
    the lower part of the straightened card. At most two Tesseract runs, the second at a darker threshold when the
    first found MRZ-shaped lines whose check digits failed (thin print that the first threshold broke up); both
    within `timeout` seconds in all."""
    deadline = time.monotonic() + timeout
    image = _load(data, detected_type)
    if image is None:
        return unreadable(REASON_NO_IMAGE)
    if image.height > image.width * MAX_PORTRAIT:
        # A page (a card scanned on A4, a document photographed upright): the MRZ is not the bottom of the image,
        # which is all this reader looks at; not worth a Tesseract run.
        return unreadable(REASON_NO_MRZ)
    gray = _straighten(image)
    width, height = gray.size
    band = gray.crop((0, height - min(int(height * BAND_SHARE), int(width * BAND_ASPECT)), width, height))
    reading = unreadable(REASON_NO_MRZ)
    for darkness in THRESHOLDS:
        lines = _last_text_lines(_binarise(band, darkness))
        if lines is None:
            return reading
        left = deadline - time.monotonic()
        text = _ocr(lines, left) if left > 0 else None
        if text is None:
            return unreadable(REASON_OCR_FAILED)
        reading = parse(text, today=today)
        if reading.read or reading.reason == REASON_NO_MRZ:
            return reading
    return reading


def _load(data: bytes, detected_type: str) -> Image.Image | None:
    """The scan in grayscale at no more than DECODE_SIDE (JPEG decodes at that scale directly)."""
    try:
        if detected_type == "pdf":
            data = _largest_pdf_image(data)
            if not data:
                return None
        image = Image.open(io.BytesIO(data))
        image.draft("L", jpeg_draft_size(image, DECODE_SIDE))
        image = ImageOps.exif_transpose(image.convert("L"))
        image.thumbnail((DECODE_SIDE, DECODE_SIDE))
        return image
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _largest_pdf_image(data: bytes) -> bytes | None:
    """A scanned ID in a PDF is a page image: the largest one drawn by the first page, chosen by the sizes its
    dictionary declares (nothing else is decoded) and no larger than MAX_PDF_IMAGE_PIXELS."""
    try:
        page = PdfReader(io.BytesIO(data)).pages[0]
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        sizes = {}
        for name, reference in (xobjects.get_object() if xobjects is not None else {}).items():
            image = reference.get_object()
            if image.get("/Subtype") == "/Image":
                sizes[name] = int(image.get("/Width", 0)) * int(image.get("/Height", 0))
        if not sizes:
            return None
        name = max(sizes, key=sizes.__getitem__)
        if not 0 < sizes[name] <= MAX_PDF_IMAGE_PIXELS:
            return None
        return page.images[name].data
    except Exception:  # a PDF that hides its image (or breaks pypdf) is just an unreadable card
        return None


def _straighten(image: Image.Image) -> Image.Image:
    """Rotate by the angle at which text lines are most horizontal: the rows of a small copy are then most unlike
    one another (a row-profile deskew, cheap at 300 px)."""
    small = ImageOps.autocontrast(image.copy())
    small.thumbnail((300, 300))
    inverted = ImageOps.invert(small)
    best, best_score = 0.0, -1.0
    for angle in SKEW_ANGLES:
        turned = inverted.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=0)
        rows = list(turned.resize((1, turned.height), Image.Resampling.BOX).get_flattened_data())
        score = sum((a - b) ** 2 for a, b in itertools.pairwise(rows))
        if score > best_score:
            best, best_score = angle, score
    if best == 0:
        return image
    return image.rotate(best, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def _binarise(region: Image.Image, darkness: float) -> Image.Image | None:
    """Scaled to BAND_WIDTH, contrast stretched, then black and white at `darkness` times the mean level (the MRZ
    is dark print on a light card; this also drops most of the background pattern). None when the region holds no
    print: a flat image would only feed Tesseract noise."""
    factor = BAND_WIDTH / max(region.width, 1)
    scaled = region.resize((BAND_WIDTH, max(1, int(region.height * factor))), Image.Resampling.LANCZOS)
    scaled = rank_filters.median3(scaled)
    histogram = scaled.histogram()
    if _level(histogram, 0.98) - _level(histogram, 0.02) < MIN_CONTRAST:
        return None
    scaled = ImageOps.autocontrast(scaled, cutoff=1)
    histogram = scaled.histogram()
    threshold = sum(level * count for level, count in enumerate(histogram)) / (sum(histogram) or 1) * darkness
    return scaled.point(lambda level: 255 if level > threshold else 0)


def _last_text_lines(binary: Image.Image | None) -> Image.Image | None:
    """The last MRZ_LINES lines of text in the band, with a margin: the MRZ is the lowest print on a card, and
    Tesseract's time grows with the lines it is given (an A4 page of text takes seconds, three lines a fraction).
    A text row is one with many black-white changes; a row of table or shadow has few, however dark."""
    if binary is None:
        return None
    width, height = binary.size
    pixels = binary.tobytes()
    rows = [_changes(pixels[y * width : (y + 1) * width]) >= MIN_ROW_CHANGES for y in range(height)]
    lines: list[list[int]] = []  # [top, bottom] of each run of text rows, gaps of a few rows closed
    for y, text in enumerate(rows):
        if not text:
            continue
        if lines and y - lines[-1][1] <= 3:
            lines[-1][1] = y
        else:
            lines.append([y, y])
    lines = [line for line in lines if line[1] - line[0] >= MIN_LINE_ROWS]
    if not lines:
        return None
    kept = lines[-MRZ_LINES:]
    margin = max(4, (kept[-1][1] - kept[-1][0]) // 2)
    return binary.crop((0, max(0, kept[0][0] - margin), width, min(height, kept[-1][1] + margin + 1)))


def _changes(row: bytes) -> int:
    """Black-white changes along a row of a binarised image (one byte a pixel, 0 or 255)."""
    return row.count(b"\x00\xff") + row.count(b"\xff\x00")


def _level(histogram: list[int], fraction: float) -> int:
    """The grey level below which `fraction` of the pixels lie."""
    wanted, seen = fraction * sum(histogram), 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return level
    return 255


def _ocr(image: Image.Image, timeout: float) -> str | None:
    """Tesseract on a PNG through stdin: one thread (the box is shared), LSTM, a block of text, MRZ characters."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    command = [
        TESSERACT, "stdin", "stdout", "-l", LANGUAGE, "--oem", "1", "--psm", "6",
        "-c", f"tessedit_char_whitelist={WHITELIST}", "-c", "load_system_dawg=0", "-c", "load_freq_dawg=0",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command,
            input=buffer.getvalue(),
            capture_output=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        # Ops must hear of a missing or hanging Tesseract (every card would go to staff unchecked); the exception
        # names the program and the timeout, never what was read.
        log.warning("identity card OCR did not run: %s", type(exc).__name__)
        return None
    if done.returncode != 0:
        log.warning("identity card OCR failed: tesseract exited %d", done.returncode)
        return None
    return done.stdout.decode("ascii", errors="replace")
