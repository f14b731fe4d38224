"""Can staff read the attachment? (procedure 000 step 7: documents that "nu sunt lizibile" lead to an appointment)

Images (JPEG, PNG) are checked for three things, on a grayscale copy downscaled to at most
`ANALYSIS_SIZE` pixels on the long side, so that one attachment costs tens of milliseconds:

- too small for an A4 page: under `MIN_SHORT_SIDE` pixels on the short side. A4 is 8.27 × 11.69 in, so that
  is about 121 dpi; the message also gives the dpi equivalent and asks for 150 dpi, a usual scan setting.
  A file whose own resolution tag says it was scanned at `SCANNER_DPI` or more is a small original (an ID
  card is 54 mm high: 638 px at 300 dpi) and is not flagged unless it is tiny;
- nearly blank: almost no pixel differs from the background by more than `INK_DEVIATION` grey levels (a
  white page, a page of scanner noise, text too faint to read);
- heavily blurred: the strongest edges (a high quantile of a Laplacian, taken after a 3×3 median that removes
  sensor noise) are weak compared with the contrast between ink and paper. The ratio is scale-free (the same
  for a 150 dpi and a 300 dpi scan of the same page, once both are downscaled) and does not depend on how
  much text the page holds. Calibrated on text drawn on an A4 page at 150 dpi (tests/unit/test_legibility.py):
  sharp ≈ 1.0, Gaussian blur radius 1 ≈ 1.2, radius 2 (still readable) ≈ 0.5, radius 3 (hard to read) ≈ 0.28,
  radius 3 with noise ≈ 0.37, radius 4 ≈ 0.21; the threshold `MIN_SHARPNESS` = 0.42 sits between readable
  and not.

PDFs: no pages, or blank pages (no text, no image XObject, no painting operator). Scanned PDFs are images,
so an image XObject makes a page non-blank. Work is bounded (pages, content size, nesting depth).

Nothing here raises: data that cannot be read gives no legibility issue (the content check reports
corrupt files).
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageFilter
from pypdf import PasswordType, PdfReader
from pypdf.generic import DictionaryObject, IndirectObject, NameObject, StreamObject

logging.getLogger("pypdf").setLevel(logging.ERROR)
log = logging.getLogger(__name__)

CODE = "illegible"

A4_SHORT_SIDE_INCHES = 8.27
MIN_SHORT_SIDE = 1000  # pixels; ~121 dpi on A4
RECOMMENDED_DPI = 150
SCANNER_DPI = 300  # a resolution tag this high is a scanner's: the original is small, not the image
MIN_SHORT_SIDE_SCANNED = 500

ANALYSIS_SIZE = 1000  # long side of the copy that is analysed
MAX_DECODED_PIXELS = 60_000_000  # larger images are only checked for their size
INK_DEVIATION = 48  # grey levels from the background that count as ink
MIN_INK_FRACTION = 0.0002  # a single short line of text on a page is ~0.3 %
MIN_SHARPNESS = 0.42
EDGE_QUANTILE = 1 / 2000  # the strongest 0.05 % of edge responses
MIN_EDGE_PIXELS = 20

MAX_PDF_BYTES = 40 * 1024 * 1024
MAX_PDF_PAGES = 200
MAX_CONTENT_BYTES = 4 * 1024 * 1024  # a content stream this large draws something
MAX_XOBJECT_DEPTH = 5
MAX_LISTED_PAGES = 10

# Sum of the 4 neighbours minus 4× the pixel, halved so that edges of up to ±255 fit around the offset 128.
_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=2, offset=128)
_LAPLACIAN_SCALE = 2


@dataclass(frozen=True)
class LegibilityIssue:
    code: str  # "illegible"
    message: str  # Romanian, names the file
    reason: str = ""  # too_small | blank | blurred | no_pages | blank_pages (for staff and tests)


# --------------------------------------------------------------------------------------------------
# Images


def assess_image(filename: str, data: bytes) -> list[LegibilityIssue]:
    try:
        return _assess_image(_display_name(filename), data)
    except Exception:  # unreadable or hostile data is the content check's business, not ours
        log.debug("image not assessed", exc_info=True)
        return []


def _assess_image(name: str, data: bytes) -> list[LegibilityIssue]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        issues = _size_issues(name, width, height, _scan_dpi(image))
        if width * height > MAX_DECODED_PIXELS:
            return issues
        gray = _analysis_copy(image)
    content = _content_issue(name, gray)
    return issues + ([content] if content else [])


def _scan_dpi(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    try:
        return round(float(min(dpi))) if dpi else 0.0  # PNG stores dots per metre: 299.9994
    except (TypeError, ValueError):
        return 0.0


def _size_issues(name: str, width: int, height: int, dpi: float) -> list[LegibilityIssue]:
    short = min(width, height)
    if short >= MIN_SHORT_SIDE:
        return []
    if dpi >= SCANNER_DPI and short >= MIN_SHORT_SIDE_SCANNED:
        return []  # a small original scanned finely: the text is as legible as on an A4 page at 150 dpi
    a4_dpi = round(short / A4_SHORT_SIDE_INCHES)
    message = (
        f"Fișierul „{name}” are o rezoluție prea mică pentru a putea fi citit ca pagină A4: "
        f"{width} × {height} pixeli, adică aproximativ {a4_dpi} dpi. Vă rugăm să scanați sau să fotografiați "
        f"documentul din nou, la cel puțin {RECOMMENDED_DPI} dpi."
    )
    return [LegibilityIssue(CODE, message, "too_small")]


def _analysis_copy(image: Image.Image) -> Image.Image:
    """Grayscale, transparency on white, at most ANALYSIS_SIZE on the long side (JPEG decodes at that scale)."""
    width, height = image.size
    factor = min(1.0, ANALYSIS_SIZE / max(width, height, 1))
    image.draft("L", (max(1, int(width * factor)), max(1, int(height * factor))))  # JPEG only; a no-op otherwise
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda value: value * (1 / 256))  # 16-bit: keep the range, not the clip
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    gray = image.convert("L")
    gray.thumbnail((ANALYSIS_SIZE, ANALYSIS_SIZE))
    return gray


def _content_issue(name: str, gray: Image.Image) -> LegibilityIssue | None:
    histogram = gray.histogram()
    total = sum(histogram)
    background = _median(histogram, total)
    deviations = [0] * 256
    for level, count in enumerate(histogram):
        deviations[abs(level - background)] += count
    ink = sum(deviations[INK_DEVIATION + 1 :])
    if total == 0 or ink < MIN_INK_FRACTION * total:
        message = (
            f"Fișierul „{name}” pare să fie o pagină goală sau are un contrast prea slab pentru a putea fi citit. "
            "Vă rugăm să trimiteți din nou documentul, scanat sau fotografiat clar."
        )
        return LegibilityIssue(CODE, message, "blank")
    if _sharpness(gray, deviations, total, ink) < MIN_SHARPNESS:
        message = (
            f"Fișierul „{name}” este neclar (imagine mișcată sau nefocalizată) și nu poate fi citit. "
            "Vă rugăm să trimiteți din nou documentul, scanat sau fotografiat clar."
        )
        return LegibilityIssue(CODE, message, "blurred")
    return None


def _sharpness(gray: Image.Image, deviations: Sequence[int], total: int, ink: int) -> float:
    """Strongest edges over ink contrast, both taken at the same high quantile (see the module docstring)."""
    if gray.width < 8 or gray.height < 8:
        return 1.0  # nothing to measure on; a tiny image is reported as too small
    count = max(MIN_EDGE_PIXELS, min(int(total * EDGE_QUANTILE), ink // 4))
    contrast = _top_level(deviations, count)
    edges = gray.filter(ImageFilter.MedianFilter(3)).filter(_LAPLACIAN)
    edges = edges.crop((2, 2, edges.width - 2, edges.height - 2))  # the filters' borders are not the image
    strengths = [0] * 129
    for level, pixels in enumerate(edges.histogram()):
        strengths[min(128, abs(level - 128))] += pixels
    edge = _top_level(strengths, count) * _LAPLACIAN_SCALE
    return edge / max(contrast, 1)


def _median(histogram: Sequence[int], total: int) -> int:
    seen = 0
    for level, count in enumerate(histogram):
        seen += count
        if seen * 2 >= total:
            return level
    return 0


def _top_level(histogram: Sequence[int], count: int) -> int:
    """The level reached by the `count` highest values of the histogram."""
    seen = 0
    for level in range(len(histogram) - 1, -1, -1):
        seen += histogram[level]
        if seen >= count:
            return level
    return 0


# --------------------------------------------------------------------------------------------------
# PDFs

# Operators that put something on the page, other than text: XObjects, paths, shadings, inline images.
_PAINTING = frozenset({b"Do", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*", b"S", b"s", b"sh", b"BI"})
_TEXT_SHOWING = frozenset({b"Tj", b"TJ", b"'", b'"'})
# Strings and comments go first, so that "(S) Tj" is not mistaken for a stroke.
_STRINGS = re.compile(rb"\((?:\\.|[^\\()])*\)|<[0-9A-Fa-f\s]*>|%[^\r\n]*", re.DOTALL)
_OPERATOR = re.compile(rb"(?<![A-Za-z0-9*'\"/])([A-Za-z]{1,2}\*?|'|\")(?![A-Za-z0-9*])")


def assess_pdf(filename: str, data: bytes) -> list[LegibilityIssue]:
    try:
        return _assess_pdf(_display_name(filename), data)
    except Exception:
        log.debug("PDF not assessed", exc_info=True)
        return []


def _assess_pdf(name: str, data: bytes) -> list[LegibilityIssue]:
    reader = _open_pdf(data)
    if reader is None:
        return []
    count = len(reader.pages)
    if count == 0:
        message = f"Fișierul PDF „{name}” nu conține nicio pagină."
        return [LegibilityIssue(CODE, message, "no_pages")]
    blank = [number for number in range(1, min(count, MAX_PDF_PAGES) + 1) if _page_is_blank(reader, number - 1)]
    if not blank:
        return []
    return [LegibilityIssue(CODE, _blank_pages_message(name, blank, count), "blank_pages")]


def _open_pdf(data: bytes) -> PdfReader | None:
    if not data or len(data) > MAX_PDF_BYTES:
        return None
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return None  # cannot look inside: not a legibility finding
        return reader
    except Exception:
        return None


def _blank_pages_message(name: str, blank: list[int], count: int) -> str:
    if len(blank) == count == 1:
        return f"Fișierul PDF „{name}” conține doar o pagină goală."
    if len(blank) == count:
        return f"Fișierul PDF „{name}” conține numai pagini goale ({count} pagini)."
    listed = ", ".join(str(number) for number in blank[:MAX_LISTED_PAGES])
    more = " ș.a." if len(blank) > MAX_LISTED_PAGES else ""
    word = "pagina goală" if len(blank) == 1 else "paginile goale"
    return f"Fișierul PDF „{name}” are {word} {listed}{more}. Verificați dacă ați scanat toate paginile."


def _page_is_blank(reader: PdfReader, index: int) -> bool:
    """No painting operator, no image, no text. Anything unreadable counts as not blank (no false finding)."""
    try:
        page = reader.pages[index]
        if _has_image(page.get("/Resources"), depth=0):
            return False
        contents = page.get_contents()
        content = contents.get_data() if contents is not None else b""
        if len(content) > MAX_CONTENT_BYTES:
            return False
        operators = _operators(content)
        if operators & _PAINTING:
            return False
        if operators & _TEXT_SHOWING:
            return not (page.extract_text() or "").strip()
        return True
    except Exception:
        return False


def _operators(content: bytes) -> set[bytes]:
    return set(_OPERATOR.findall(_STRINGS.sub(b" ", content)))


def _has_image(resources: object, depth: int) -> bool:
    """An image XObject among the resources, or inside a form XObject's (scanned pages are images)."""
    resources = _resolve(resources)
    if not isinstance(resources, DictionaryObject) or depth > MAX_XOBJECT_DEPTH:
        return False
    xobjects = _resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        return False
    for value in list(xobjects.values())[:100]:
        xobject = _resolve(value)
        if not isinstance(xobject, StreamObject):
            continue
        subtype = xobject.get("/Subtype")
        if subtype == NameObject("/Image"):
            return True
        if subtype == NameObject("/Form") and _form_draws(xobject, depth):
            return True
    return False


def _form_draws(form: StreamObject, depth: int) -> bool:
    if _has_image(form.get("/Resources"), depth + 1):
        return True
    content = form.get_data()
    return len(content) > MAX_CONTENT_BYTES or bool(_operators(content) & (_PAINTING | _TEXT_SHOWING))


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


# --------------------------------------------------------------------------------------------------


def _display_name(filename: str) -> str:
    """The file name as the sender wrote it, on one line and of reasonable length (it goes into the reply)."""
    name = " ".join("".join(char if char.isprintable() else " " for char in filename or "").split())
    return (name[:117] + "...") if len(name) > 120 else (name or "fără nume")
