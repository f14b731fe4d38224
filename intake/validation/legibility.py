"""Can staff read the attachment? (procedure 000 step 7: documents that "nu sunt lizibile" lead to an appointment)

Images (JPEG, PNG) are judged on what they show, on a grayscale copy downscaled to at most `ANALYSIS_SIZE`
pixels on the long side (JPEGs are decoded at that scale with Pillow's `draft()`, so a 4000 × 3000 phone photo
costs what a 1000 × 750 one does; nothing larger than `MAX_DECODED_PIXELS`, or whose decode would take more than
`limits.max_decoded_image_bytes` of memory (`image_budget`), is decoded at all).

**Where the document is.** A photo often shows the document on a table, a scan a card on the scanner's white
glass. When the image's border is uniform and a region inside differs from it clearly (`SEPARATE_DELTA` grey
levels between the border and the region's own paper), that region is the document; otherwise the document
fills the image (a page scanned or cropped to its edges; a card on a patterned surface: then it is assumed to
fill the frame, the generous reading).

**Resolution, against the document's physical size.** What makes print legible is pixels per millimetre of the
document, so the pixels of the document (region) are divided by its physical size, `PhysicalFormat`:

- every document but an identity document (forms, certificates, diplomas, CVs) is an A4 page, 210 × 297 mm,
  `A4_MIN_DPI` = 120 dpi (about 1,000 pixels on the short side: 10 pt print gets ~8 pixels of x-height); the
  message asks for 150 dpi, a usual scan setting;
- an identity card is ID-1, 85.6 × 54 mm (ISO/IEC 7810), a passport data page ID-3, 125 × 88 mm. Their data
  (name, CNP, address) is printed smaller, capitals and digits about 2 mm high, 0.8× those of a 10 pt form, so
  they need `CARD_MIN_DPI` = 120 / 0.8 = 150 dpi: 506 × 319 pixels of card. A card scanned at the usual 150
  dpi passes; a 1200 × 800 phone photo with the card filling most of the frame has about 300 dpi; the message
  asks for 300 dpi.

The format comes from the document's kind (`Document.kind`, recognised by the verify stage): `id_document` is a
card, or a passport page when the file name says so; a known form or certificate is A4. An image of unknown kind
is judged by the aspect ratio of the document (region): between `CARD_RATIO` bounds (1.50–1.68: the card is
1.585, A4 and the passport page 1.41–1.42, a 16:9 frame 1.78) it is a card, otherwise an A4 page. A file whose
own resolution tag says it was scanned at `SCANNER_DPI` or more is a small original scanned finely and is not
flagged unless it is tiny (`MIN_SHORT_SIDE_SCANNED`). A document measured as a region of the image gets
`REGION_TOLERANCE` (5 %) for the pixels its soft outline loses.

**Content**, on the document region brought to the scale of its print (`ANALYSIS_SCALE`: an A4 page at ~85 dpi,
1,000 pixels high, a card at ~107 dpi), so that blur is judged against the size of the letters and a card
photographed at 4000 × 3000 is judged like one photographed at 1200 × 800:

- nearly blank: almost no pixel differs from the paper by more than `INK_DEVIATION` grey levels (a white page,
  a page of scanner noise, text too faint to read, a card photographed blank);
- heavily blurred: the strongest edges (a high quantile of a Laplacian, taken after a 3×3 median that removes
  sensor noise) are weak compared with the contrast between ink and paper. The ratio is scale-free (the same
  for a 150 dpi and a 300 dpi scan of the same page, once both are downscaled) and does not depend on how
  much text the page holds. Calibrated on text drawn on an A4 page at 150 dpi (tests/unit/test_legibility.py):
  sharp ≈ 1.0, Gaussian blur radius 1 ≈ 1.2, radius 2 (still readable) ≈ 0.5, radius 3 (hard to read) ≈ 0.28,
  radius 3 with noise ≈ 0.37, radius 4 ≈ 0.21; the threshold `MIN_SHARPNESS` = 0.42 sits between readable
  and not. Synthetic ID-card photos (tests/images.py) at print scale: sharp ≈ 1.3, blur of 0.1 % of the long
  side ≈ 1.0, 0.2 % ≈ 0.6, 0.3 % ≈ 0.35, 0.6 % ≈ 0.1, at 1600 × 1000 and 4000 × 3000 alike;
- glare: a blown-out area (`CLIPPED_LEVEL` and brighter, after an erosion that ignores specks and the gaps
  between letters) covering at least `GLARE_MIN_FRACTION` of the document, on paper that is itself clearly
  darker (`GLARE_MAX_PAPER`): a flash or lamp reflected by a laminated card wipes the print out. On a scan the
  paper itself is white, so white is never glare there;
- cut off: print runs off the edge of the image: along one side the outermost pixels are mostly paper, crossed by
  at least `CUT_MIN_RUNS` short runs of ink (letters cut in half). A table or a scanner's shadow along the edge
  is one long dark run and does not count; a page with margins, or a card photographed whole, has no ink there.
  Also cut off: a document lying on a surface that runs into the frame's edge while what shows of it is more
  than `CUT_SHAPE_TOLERANCE` (12 %) away from its format's shape (a card in a scanner's corner touches the edge
  but keeps its 1.585 : 1). The side is named as the viewer sees the image (EXIF orientation applied).

PDFs: no pages, or blank pages (no text, no image XObject, no painting operator). Scanned PDFs are images,
so an image XObject makes a page non-blank. Work is bounded (pages, nesting depth, and decoded bytes per stream
and per document, counted while decoding: `pdf_budget`); a page that cannot be read within the budget is not
judged blank.

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

from jinja2 import TemplateError
from PIL import Image, ImageFilter
from pypdf import PasswordType, PdfReader
from pypdf.generic import DictionaryObject, IndirectObject, NameObject, StreamObject

from intake import texts
from intake.validation import image_budget, pdf_budget, rank_filters
from intake.validation.filetypes import takes_de
from intake.validation.text import normalize

logging.getLogger("pypdf").setLevel(logging.ERROR)
log = logging.getLogger(__name__)

CODE = "illegible"


@dataclass(frozen=True)
class PhysicalFormat:
    name: str  # "a4" | "id1" | "passport"
    long_mm: float
    short_mm: float
    min_dpi: int
    recommended_dpi: int


A4_MIN_DPI = 120
CARD_MIN_DPI = 150
# Named to the sender by `name` in the template constatare_illegible.txt ("… citit ca pagină A4 (210 × 297 mm)").
A4 = PhysicalFormat("a4", 297, 210, A4_MIN_DPI, 150)
ID1 = PhysicalFormat("id1", 85.6, 54, CARD_MIN_DPI, 300)
PASSPORT = PhysicalFormat("passport", 125, 88, CARD_MIN_DPI, 300)
CARD_RATIO = (1.50, 1.68)  # long / short of an image of unknown kind that is judged as an ID-1 card
_PASSPORT_NAMES = re.compile(r"(?<![a-z])(?:pasaport|passport)")

SCANNER_DPI = 300  # a resolution tag this high is a scanner's: the original is small, not the image
MIN_SHORT_SIDE_SCANNED = 500

ANALYSIS_SIZE = 1000  # long side of the copy that is decoded and analysed
# Content is judged at this fraction of the format's minimum resolution: 0.712 × 120 dpi puts an A4 page at
# 1,000 pixels, where the blur threshold was calibrated; a card comes out at ~107 dpi, 360 pixels wide.
ANALYSIS_SCALE = ANALYSIS_SIZE / (297 / 25.4 * A4_MIN_DPI)
REGION_SIZE = 400  # long side of the copy on which the document region and glare are found
MAX_DECODED_PIXELS = 60_000_000  # larger images are only checked for their size
DEFAULT_MAX_DECODED_BYTES = image_budget.DEFAULT_MAX_DECODED_BYTES  # `limits.max_decoded_image_bytes`
INK_DEVIATION = 48  # grey levels from the background that count as ink
MIN_INK_FRACTION = 0.0002  # a single short line of text on a page is ~0.3 %
MIN_SHARPNESS = 0.42
EDGE_QUANTILE = 1 / 2000  # the strongest 0.05 % of edge responses
MIN_EDGE_PIXELS = 20

BORDER_FRACTION = 0.03  # the image's border strips, where a surrounding surface shows
BORDER_TOLERANCE = 20  # grey levels around the border's median that count as the same surface
BORDER_MIN_UNIFORM = 0.6  # of the border: the surface around the document (the rest is the document, cut off)
REGION_DEVIATION = 28  # grey levels from the border that belong to something else
SEPARATE_DELTA = 24  # the region's paper differs this much from the border: it is a document lying on it
MIN_REGION_FRACTION = 0.02  # of the image; smaller is a speck, not the document
MAX_OUTSIDE_INK = 0.003  # print outside the region: the border is the page's own margin, the region a picture on it
REGION_TOLERANCE = 0.95  # of the minimum resolution, for a document measured as a region of the image
REGION_INSET = 0.04  # of the region's size: its outline against the surface is no print

CLIPPED_LEVEL = 248
GLARE_MAX_PAPER = 235
GLARE_MIN_FRACTION = 0.12

CUT_STRIP = 3  # pixels of the analysis copy along each side
CUT_MIN_PAPER = 0.4  # of the side's length
CUT_MIN_RUNS = 4
CUT_MAX_RUN = 0.04  # of the side's length: longer dark runs are a surface, a shadow or a border line
CUT_MIN_INK = 0.015  # of the paper along the side
CUT_SHAPE_TOLERANCE = 0.12  # a document whose shown part is this far from its format's shape, at the frame's edge

MAX_PDF_BYTES = pdf_budget.MAX_PDF_BYTES
MAX_PDF_PAGES = 200
MAX_CONTENT_BYTES = pdf_budget.MAX_STREAM_BYTES  # a content stream this large draws something
MAX_XOBJECT_DEPTH = 5
MAX_LISTED_PAGES = 10

# Sum of the 4 neighbours minus 4× the pixel, halved so that edges of up to ±255 fit around the offset 128.
_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=2, offset=128)
_LAPLACIAN_SCALE = 2

# EXIF orientation → the transpose that shows the image upright (as `PIL.ImageOps.exif_transpose`).
EXIF_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Kinds printed on an A4 page; `id_document` is a card or a passport page; anything else is told by its shape.
_UNKNOWN_KINDS = frozenset({"", "other"})


@dataclass(frozen=True)
class LegibilityIssue:
    code: str  # "illegible"
    message: str  # Romanian, names the file: the template constatare_illegible.txt, variant `reason`
    reason: str = ""  # too_small | blank | blurred | glare | cut_off | no_pages | blank_pages (staff and tests)


def _issue(reason: str, name: str, **context: object) -> LegibilityIssue:
    """The finding, its Romanian wording from the editable template `constatare_illegible.txt` (issue 9 point 12)."""
    return LegibilityIssue(CODE, texts.render("constatare_illegible", motiv=reason, fisier=name, **context), reason)


# --------------------------------------------------------------------------------------------------
# Images


def assess_image(
    filename: str, data: bytes, kind: str | None = None, max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
) -> list[LegibilityIssue]:
    """Legibility of a JPEG or PNG; `kind` is the document's kind when known (`id_document`, `application`…);
    an image whose decode would allocate more than `max_decoded_bytes` is judged on its size alone."""
    try:
        return _assess_image(_display_name(filename), filename or "", data, kind or "", max_decoded_bytes)
    except TemplateError:
        raise  # an edited wording that does not render is the agency's to fix (`intake check`), never a silent pass
    except Exception:  # unreadable or hostile data is the content check's business, not ours
        log.debug("image not assessed", exc_info=True)
        return []


def physical_format(kind: str, filename: str, ratio: float) -> PhysicalFormat:
    """The document's physical size: from its kind when known, else from the aspect ratio (long / short)."""
    if kind == "id_document":
        return PASSPORT if _PASSPORT_NAMES.search(normalize(filename)) else ID1
    if kind not in _UNKNOWN_KINDS:
        return A4
    return ID1 if CARD_RATIO[0] <= ratio <= CARD_RATIO[1] else A4


def _assess_image(name: str, filename: str, data: bytes, kind: str, max_decoded_bytes: int) -> list[LegibilityIssue]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))  # reads the header only
        width, height = image.size
        dpi_tag = _scan_dpi(image)
        # Memory, not only pixels (issue 10 point 4): a PNG decodes in full, 4 bytes a pixel for RGB(A).
        decoded = image_budget.decoded_bytes(image, image_budget.jpeg_draft_size(image, ANALYSIS_SIZE))
        if width * height > MAX_DECODED_PIXELS or decoded > max_decoded_bytes:  # never decoded: judged on its size
            document = physical_format(kind, filename, max(width, height) / max(1, min(width, height)))
            return _size_issues(name, (width, height), (width, height), document, dpi_tag)
        gray = _analysis_copy(image)
    scale = max(width, height) / max(gray.width, gray.height)  # original pixels per analysis pixel
    region = _document_region(gray)
    crop = gray.crop(region.box) if region.separate else gray
    region_size = (round(crop.width * scale), round(crop.height * scale)) if region.separate else (width, height)
    ratio = max(region_size) / max(1, min(region_size))
    document = physical_format(kind, filename, ratio)
    issues = _size_issues(name, (width, height), region_size, document, dpi_tag)
    inner = _inset(crop, REGION_INSET) if region.separate else crop
    inner = _at_print_scale(inner, _dpi(region_size, document) / scale, document)
    blank = _blank_issue(name, inner)
    if blank:
        return [*issues, blank]
    issues += [issue for issue in (_glare_issue(name, inner), _blur_issue(name, inner)) if issue]
    # Cut off: print crossing an edge, or a document lying on a surface that runs into the edge of the frame with
    # less of it showing than its format has (a card of 1.19 : 1 instead of 1.585 : 1).
    shape = max(document.long_mm, 1) / document.short_mm
    touching = _touching_sides(region) if region.separate and abs(ratio / shape - 1) > CUT_SHAPE_TOLERANCE else []
    cut = _cut_off_issue(name, gray, _median(inner.histogram(), inner.width * inner.height), touching)
    return issues + ([cut] if cut else [])


def _scan_dpi(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    try:
        return round(float(min(dpi))) if dpi else 0.0  # PNG stores dots per metre: 299.9994
    except (TypeError, ValueError):
        return 0.0


def _dpi(size: tuple[int, int], document: PhysicalFormat) -> float:
    """Pixels per inch of the document when it fills `size` as far as its shape allows."""
    long_px, short_px = max(size), min(size)
    return min(long_px * 25.4 / document.long_mm, short_px * 25.4 / document.short_mm)


def _size_issues(
    name: str, image_size: tuple[int, int], region_size: tuple[int, int], document: PhysicalFormat, dpi_tag: float
) -> list[LegibilityIssue]:
    if dpi_tag >= SCANNER_DPI and min(image_size) >= MIN_SHORT_SIDE_SCANNED:
        return []  # a small original scanned finely: the tag says how large it is, and it is legible
    dpi = _dpi(region_size, document)
    # A region's outline is found on a small copy and its soft edges are lost: a few per cent of measuring error.
    tolerance = REGION_TOLERANCE if region_size != image_size else 1.0
    if dpi >= document.min_dpi * tolerance:
        return []
    width, height = image_size
    return [
        _issue(
            "too_small",
            name,
            format=document.name,
            latime=width,
            inaltime=height,
            dpi=round(dpi),
            dpi_recomandat=document.recommended_dpi,
        )
    ]


def _analysis_copy(image: Image.Image) -> Image.Image:
    """Grayscale, transparency on white, upright, at most ANALYSIS_SIZE on the long side (JPEG decodes at that
    scale)."""
    orientation = _orientation(image)
    width, height = image.size
    factor = min(1.0, ANALYSIS_SIZE / max(width, height, 1))
    image.draft("L", (max(1, int(width * factor)), max(1, int(height * factor))))  # JPEG only; a no-op otherwise
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda value: value * (1 / 256))  # 16-bit: keep the range, not the clip
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        gray = _on_white(image)
    else:
        gray = image.convert("L")
    gray.thumbnail((ANALYSIS_SIZE, ANALYSIS_SIZE))
    # Only the small copy is turned upright (a full-size transpose would copy the whole image).
    return gray.transpose(EXIF_ORIENTATION[orientation]) if orientation in EXIF_ORIENTATION else gray


def _on_white(image: Image.Image) -> Image.Image:
    """Grey, transparency composited on white. Reduced first when large, then composited in one-byte bands: the
    full-size RGBA copies of an `alpha_composite` cost four times the decoded image (issue 10 point 4)."""
    rgba = image if image.mode in ("RGBA", "LA") else image.convert("RGBA")
    factor = max(rgba.size) // (2 * ANALYSIS_SIZE)
    if factor >= 2:
        rgba = rgba.reduce(factor)  # still twice the analysis size: `thumbnail` resamples from there
    return Image.composite(rgba.convert("L"), Image.new("L", rgba.size, 255), rgba.getchannel("A"))


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:
        return 1


@dataclass(frozen=True)
class _Region:
    box: tuple[int, int, int, int]  # in the analysis copy
    separate: bool  # a document lying on a surface, rather than filling the image
    frame: tuple[int, int]  # the analysis copy's size


def _document_region(gray: Image.Image) -> _Region:
    """The document in the image: a region that differs from a uniform border, with nothing printed around it."""
    whole = _Region((0, 0, gray.width, gray.height), False, gray.size)
    small = gray.copy()
    small.thumbnail((REGION_SIZE, REGION_SIZE))
    width, height = small.size
    if width < 32 or height < 32:
        return whole
    band = max(2, round(BORDER_FRACTION * min(width, height)))
    border_mask = Image.new("L", small.size, 255)
    border_mask.paste(0, (band, band, width - band, height - band))
    border_histogram = small.histogram(border_mask)
    border_total = sum(border_histogram)
    border = _median(border_histogram, border_total)
    near = sum(border_histogram[max(0, border - BORDER_TOLERANCE) : border + BORDER_TOLERANCE + 1])
    if near < BORDER_MIN_UNIFORM * border_total:
        return whole  # a patterned surface, or print up to the edge: the document is taken to fill the image
    differs = small.point([255 if abs(level - border) > REGION_DEVIATION else 0 for level in range(256)])
    # Opening: text strokes and specks vanish, a card or a page stays.
    box = rank_filters.max_filter_binary(rank_filters.min_filter_binary(differs, 5), 5).getbbox()
    if box is None:
        return whole
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area < MIN_REGION_FRACTION * width * height or area > 0.96 * width * height:
        return whole  # a speck; or the whole frame (the corners of a table around a page that fills it)
    paper = _median(small.crop(box).histogram(), area)
    if abs(paper - border) < SEPARATE_DELTA:
        return whole
    ink_mask = small.point([255 if abs(level - border) > INK_DEVIATION else 0 for level in range(256)])
    ink_mask.paste(0, box)
    if ink_mask.histogram()[255] > MAX_OUTSIDE_INK * (width * height - area):
        return whole  # e.g. the photo on a CV: the page around it is printed, so the page is the document
    scale_x, scale_y = gray.width / width, gray.height / height
    left, top = max(0, int(box[0] * scale_x)), max(0, int(box[1] * scale_y))
    right, bottom = min(gray.width, round(box[2] * scale_x)), min(gray.height, round(box[3] * scale_y))
    return _Region((left, top, right, bottom), True, gray.size)


def _at_print_scale(image: Image.Image, dpi: float, document: PhysicalFormat) -> Image.Image:
    """The document (now at `dpi`) brought to `ANALYSIS_SCALE` of its format's minimum resolution, so that blur is
    judged against the size of its print: an A4 page at ~85 dpi (1,000 pixels high, where the threshold was
    calibrated), a card at ~107 dpi (its print is smaller). Never enlarged: a document with fewer pixels is
    analysed as it is (and reported as too small)."""
    factor = ANALYSIS_SCALE * document.min_dpi / dpi if dpi > 0 else 1.0
    if factor >= 0.98:
        return image
    size = (max(8, round(image.width * factor)), max(8, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BOX)


def _inset(image: Image.Image, fraction: float) -> Image.Image:
    dx, dy = round(image.width * fraction), round(image.height * fraction)
    if image.width - 2 * dx < 8 or image.height - 2 * dy < 8:
        return image
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def _ink(gray: Image.Image) -> tuple[list[int], int, int]:
    """(pixels per grey-level distance from the paper, total pixels, ink pixels)."""
    histogram = gray.histogram()
    total = sum(histogram)
    background = _median(histogram, total)
    deviations = [0] * 256
    for level, count in enumerate(histogram):
        deviations[abs(level - background)] += count
    return deviations, total, sum(deviations[INK_DEVIATION + 1 :])


def _blank_issue(name: str, gray: Image.Image) -> LegibilityIssue | None:
    _, total, ink = _ink(gray)
    if total and ink >= MIN_INK_FRACTION * total:
        return None
    return _issue("blank", name)


def _blur_issue(name: str, gray: Image.Image) -> LegibilityIssue | None:
    deviations, total, ink = _ink(gray)
    if _sharpness(gray, deviations, total, ink) >= MIN_SHARPNESS:
        return None
    return _issue("blurred", name)


def _glare_issue(name: str, gray: Image.Image) -> LegibilityIssue | None:
    small = gray.copy()
    small.thumbnail((REGION_SIZE, REGION_SIZE))
    histogram = small.histogram()
    total = sum(histogram)
    # The paper's level: when it is itself (nearly) white, as on a scanner, white is no reflection. A reflection
    # over more than half of the document is missed here; with the print gone, the blank check reports it.
    if not total or _median(histogram, total) > GLARE_MAX_PAPER:
        return None
    clipped = small.point([255 if level >= CLIPPED_LEVEL else 0 for level in range(256)])
    # Erosion: a reflection is a solid patch; white specks and the white between letters are not.
    solid = rank_filters.min_filter_binary(clipped, 5).histogram()[255]
    if solid < GLARE_MIN_FRACTION * total:
        return None
    return _issue("glare", name, procent=round(100 * solid / total))


def _touching_sides(region: _Region) -> list[str]:
    left, top, right, bottom = region.box
    width, height = region.frame
    touches = {"left": left <= 1, "right": right >= width - 1, "top": top <= 1, "bottom": bottom >= height - 1}
    return [side for side, touching in touches.items() if touching]


def _cut_off_issue(name: str, gray: Image.Image, paper: int, touching: Sequence[str]) -> LegibilityIssue | None:
    width, height = gray.size
    if width < 4 * CUT_STRIP or height < 4 * CUT_STRIP:
        return None
    strips = {
        "left": gray.crop((0, 0, CUT_STRIP, height)),
        "right": gray.crop((width - CUT_STRIP, 0, width, height)),
        # Turned upright so that every strip is read top to bottom, CUT_STRIP pixels wide.
        "top": gray.crop((0, 0, width, CUT_STRIP)).transpose(Image.Transpose.ROTATE_90),
        "bottom": gray.crop((0, height - CUT_STRIP, width, height)).transpose(Image.Transpose.ROTATE_90),
    }
    sides = [side for side, strip in strips.items() if side in touching or _print_crosses(_darkest_along(strip), paper)]
    if not sides:
        return None
    return _issue("cut_off", name, laturi=sides)


def _darkest_along(strip: Image.Image) -> list[int]:
    """For each row of a narrow vertical strip, its darkest pixel."""
    data = strip.tobytes()
    step = strip.width
    return [min(data[row * step : (row + 1) * step]) for row in range(strip.height)]


def _print_crosses(profile: Sequence[int], paper: int) -> bool:
    """Along one side: mostly paper, crossed by several short runs of ink (letters cut by the edge)."""
    length = len(profile)
    paper_count = sum(1 for level in profile if abs(level - paper) <= INK_DEVIATION)
    if paper_count < CUT_MIN_PAPER * length:
        return False  # the side lies on a surface, a shadow or the scanner's lid
    longest = max(3, CUT_MAX_RUN * length)
    runs: list[int] = []
    current = 0
    for level in profile:
        if level < paper - INK_DEVIATION:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    if current:
        runs.append(current)
    short = [run for run in runs if run <= longest]
    ink = sum(short)
    return len(short) >= CUT_MIN_RUNS and ink >= CUT_MIN_INK * (paper_count + ink)


def _sharpness(gray: Image.Image, deviations: Sequence[int], total: int, ink: int) -> float:
    """Strongest edges over ink contrast, both taken at the same high quantile (see the module docstring)."""
    if gray.width < 8 or gray.height < 8:
        return 1.0  # nothing to measure on; a tiny image is reported as too small
    count = max(MIN_EDGE_PIXELS, min(int(total * EDGE_QUANTILE), ink // 4))
    contrast = _top_level(deviations, count)
    edges = rank_filters.median3(gray).filter(_LAPLACIAN)
    edges = edges.crop((2, 2, edges.width - 2, edges.height - 2))  # the filters' borders are not the image
    strengths = [0] * 129
    for level, pixels in enumerate(edges.histogram()):
        strengths[min(128, abs(level - 128))] += pixels
    edge = _top_level(strengths, count) * _LAPLACIAN_SCALE
    return edge / max(contrast, 1)


def _median(histogram: Sequence[int], total: int) -> int:
    return _quantile(histogram, total, 0.5)


def _quantile(histogram: Sequence[int], total: int, fraction: float) -> int:
    seen = 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= fraction * total and seen:
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
    except TemplateError:
        raise
    except Exception:
        log.debug("PDF not assessed", exc_info=True)
        return []


def _assess_pdf(name: str, data: bytes) -> list[LegibilityIssue]:
    with pdf_budget.limits():  # pypdf decodes lazily: its lowered limits must cover the whole reading
        reader = _open_pdf(data)
        if reader is None:
            return []
        count = len(reader.pages)
        if count == 0:
            return [_issue("no_pages", name)]
        budget = pdf_budget.Budget()
        pages = range(1, min(count, MAX_PDF_PAGES) + 1)
        blank = [number for number in pages if _page_is_blank(reader, number - 1, budget)]
    if not blank:
        return []
    return [
        _issue(
            "blank_pages",
            name,
            goale=len(blank),
            total=count,
            pagini=blank[:MAX_LISTED_PAGES],
            mai_multe=len(blank) > MAX_LISTED_PAGES,
            de=takes_de(count),
        )
    ]


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


def _page_is_blank(reader: PdfReader, index: int, budget: pdf_budget.Budget) -> bool:
    """No painting operator, no image, no text. Anything unreadable counts as not blank (no false finding): a
    content stream over the per-stream cap draws something; past the document's budget a page is not judged."""
    if budget.exhausted:
        return False
    try:
        page = reader.pages[index]
        if _has_image(page.get("/Resources"), depth=0, budget=budget):
            return False
        operators = _operators(budget.read_page(page))
        if operators & _PAINTING:
            return False
        if operators & _TEXT_SHOWING:
            budget.precheck_text(page)  # what extract_text will decode is known to fit before it does
            return not (page.extract_text() or "").strip()
        return True
    except Exception:  # pdf_budget.TooLarge included
        return False


def _operators(content: bytes) -> set[bytes]:
    return set(_OPERATOR.findall(_STRINGS.sub(b" ", content)))


def _has_image(resources: object, depth: int, budget: pdf_budget.Budget) -> bool:
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
        if subtype == NameObject("/Form") and _form_draws(xobject, depth, budget):
            return True
    return False


def _form_draws(form: StreamObject, depth: int, budget: pdf_budget.Budget) -> bool:
    if _has_image(form.get("/Resources"), depth + 1, budget):
        return True
    try:
        content = budget.read(form)
    except pdf_budget.TooLarge:
        return True  # a form this large draws something (or cannot be read: not blank either way)
    return bool(_operators(content) & (_PAINTING | _TEXT_SHOWING))


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


# --------------------------------------------------------------------------------------------------


def _display_name(filename: str) -> str:
    """The file name as the sender wrote it, on one line and of reasonable length (it goes into the reply)."""
    name = " ".join("".join(char if char.isprintable() else " " for char in filename or "").split())
    return (name[:117] + "...") if len(name) > 120 else (name or "fără nume")
