"""The recipisă as a PDF (fpdf2, A4, Romanian), unsigned: `sign.py` adds the PAdES signature.

Everything the beneficiary sent (subject, file names) is untrusted text: it is normalised, stripped of
invisible control characters, cut to a length that always fits on a page and rendered with the glyphs
the embedded font has (anything else becomes U+FFFD) so no input can crash the renderer or overflow.
"""

from __future__ import annotations

import copy
import io
import logging
import re
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import DocumentCompliance, MethodReturnValue, XPos, YPos
from fpdf.fonts import FontFace, TTFFont

from intake import texts

FONT_DIR = Path(__file__).with_name("fonts")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FAMILY = "DejaVu"
# The SHA-256 column. An embedded face, not the Courier core font: PDF/A (ISO 19005-3 §6.2.11.4.1) requires every
# font to be embedded. Cut to ASCII, since it only ever prints hex digits.
MONO = "DejaVuMono"
MONO_FILE = "DejaVuSansMono.ttf"
_MONO_REPERTOIRE: tuple[tuple[int, int], ...] = ((0x0020, 0x007E),)

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"

# Longest untrusted value we print. A table row must fit on one page (fpdf2 refuses otherwise) and a
# megabyte-long subject must not turn a receipt into a book; the SHA-256 still identifies the file.
MAX_FILENAME = 600
MAX_REASON = 600
MAX_SUBJECT = 1000
MAX_SHORT = 40

# Scripts a beneficiary may plausibly write in (Latin incl. Vietnamese, Greek, Cyrillic) and common
# symbols. Pre-subsetting DejaVu to these once per process makes a receipt ~3x faster to render than
# embedding from the full 6000-glyph font; other characters are shown as U+FFFD.
_REPERTOIRE: tuple[tuple[int, int], ...] = (
    (0x0020, 0x024F),  # Basic Latin .. Latin Extended-B (ă â î ș ț)
    (0x0250, 0x02FF),  # IPA, spacing modifiers
    (0x0300, 0x036F),  # combining diacritics left over after NFC
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x052F),  # Cyrillic (+ supplement: Ukrainian, etc.)
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # general punctuation
    (0x20A0, 0x20CF),  # currency
    (0x2100, 0x215F),  # letterlike, number forms
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators
    (0x2460, 0x24FF),  # enclosed alphanumerics
    (0x2500, 0x25FF),  # box drawing, geometric shapes
    (0x2600, 0x27BF),  # misc symbols, dingbats (☺ ✓)
    (0xFFFD, 0xFFFD),
)

# fontTools reports each subsetting step at INFO: a line per receipt is noise in the daemon's log.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceiptDocument:
    filename: str
    detected_type: str  # "PDF", "JPEG", "PNG", "DOCX", ... (display)
    pages: int | None
    size: int  # bytes
    sha256: str  # hex
    accepted: bool
    reason: str | None  # Romanian, when rejected or with a remark
    signature_summary: str | None = None  # Romanian one-liner about the e-signature
    status: str | None = None  # "acceptat" / "neacceptat (format nepermis)" …; None: from `accepted`


@dataclass(frozen=True)
class CaseDocumentLine:
    """One document of the case file, for the recipisă of a follow-up (procedure 000 step 6: the list of the
    documents received, here for the whole file the follow-up completes)."""

    filename: str
    kind: str  # Romanian name of what it is
    received_with: str  # registration number of the e-mail that brought it
    replaced_by: str | None = None  # file name of the later document that counts instead


@dataclass(frozen=True)
class AssociatedFile:
    """A file embedded in the recipisă as a PDF/A-3 associated file (ISO 19005-3 §6.8): the e-mail it answers, the
    evidence of what was verified. The signature that follows covers it."""

    name: str
    data: bytes
    mime_type: str
    relationship: str  # /AFRelationship: "Source" (what the recipisă was made from) or "Data"
    description: str
    modified_at: datetime  # aware
    compress: bool = True


@dataclass(frozen=True)
class ReceiptData:
    office_name: str
    office_address: str
    registration_number: str  # "12/23.11.2026"
    registered_at: datetime  # aware
    received_at: datetime  # aware (IMAP INTERNALDATE)
    sender: str
    subject: str
    documents: tuple[ReceiptDocument, ...]
    findings: tuple[str, ...] = ()
    appointment: str | None = None
    timezone: str = "Europe/Bucharest"
    verifying: bool = False  # `appointment` says the complete file is being verified: no visit yet
    office_genitive: str | None = None  # "la registratura <genitive>"; None: the name as given
    case_registration: str | None = None  # a follow-up: the registration number of the case's first e-mail
    case_documents: tuple[CaseDocumentLine, ...] = ()
    possibly_needed: tuple[str, ...] = ()  # "dacă este cazul": documents that depend on what the file cannot show
    status_url: str | None = None  # the case's status page (/dosar/<token>, intake.case_link)


# --------------------------------------------------------------------------------------------- fonts


@dataclass(frozen=True)
class _FontKit:
    template: FPDF  # holds the parsed TTFFont objects, cloned into every receipt
    data: dict[str, bytes]  # fontkey -> pre-subset TTF bytes
    charset: frozenset[int]  # code points both styles can draw


# The visible signature's face (render_stamp) needs only these: fpdf2 subsets a font again for every document it
# writes, ~40 ms with the receipt's repertoire and a few with this one. Anything else shows as U+FFFD.
_STAMP_REPERTOIRE: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00C0, 0x017F),  # Latin-1 letters and Latin Extended-A (â î ă, and the names of neighbours' letters)
    (0x0218, 0x021B),  # ș ț with comma below
    (0x2013, 0x2014),
    (0x201E, 0x201E),
    (0x201D, 0x201D),
    (0x00B7, 0x00B7),
    (0xFFFD, 0xFFFD),
)

_kits: dict[str, _FontKit] = {}
_kit_lock = threading.Lock()


def _repertoire(ranges: tuple[tuple[int, int], ...] = _REPERTOIRE) -> set[int]:
    return {cp for low, high in ranges for cp in range(low, high + 1)}


def _presubset(path: Path, ranges: tuple[tuple[int, int], ...] = _REPERTOIRE) -> bytes:
    """The font cut down to the repertoire: ~1 s per font to compute, so kept in a per-user cache once made
    (every `intake poll --once` would otherwise pay it again). A cache that cannot be read or written is
    simply not used."""
    import hashlib

    import fontTools

    fingerprint = hashlib.sha256(path.read_bytes())
    fingerprint.update(repr((ranges, fontTools.version, _SUBSET_FORMAT)).encode())
    cached = _font_cache_dir() / f"{path.stem}-{fingerprint.hexdigest()[:24]}.ttf"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    data = _subset(path, ranges)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, delete=False) as out:
            out.write(data)
        Path(out.name).replace(cached)  # atomic: a reader never sees half a font
    except OSError as exc:
        log.debug("font cache not written (%s)", exc)
    return data


# Bump when _subset changes its options: the cache key must change with the output.
_SUBSET_FORMAT = 1


def _font_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "intake" / "fonts"


def _subset(path: Path, ranges: tuple[tuple[int, int], ...]) -> bytes:
    font = ttLib.TTFont(path, recalcTimestamp=False)
    # glyph_names=True: fpdf2 maps glyphs by name when it subsets again at output time.
    options = ftsubset.Options(glyph_names=True, notdef_outline=True, recommended_glyphs=True, hinting=False)
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM", "kern"]
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=_repertoire(ranges))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _build_kit(ranges: tuple[tuple[int, int], ...], styles: tuple[str, ...], *, mono: bool = False) -> _FontKit:
    template = FPDF()
    data: dict[str, bytes] = {}
    faces = [(FAMILY, style, FONT_FILES[style], ranges) for style in styles]
    if mono:
        faces.append((MONO, "", MONO_FILE, _MONO_REPERTOIRE))
    # add_font only takes a path; the pre-subset bytes live in memory afterwards.
    with tempfile.TemporaryDirectory(prefix="intake-fonts-") as tmp:
        for family, style, name, cut in faces:
            subset = _presubset(FONT_DIR / name, cut)
            path = Path(tmp) / name
            path.write_bytes(subset)
            template.add_font(family, style, path)
            data[f"{family.lower()}{style}"] = subset
    # What untrusted text may use: the glyphs of the text faces (the mono face only prints hex).
    charsets = [set(template.fonts[f"{FAMILY.lower()}{style}"].cmap) for style in styles]
    return _FontKit(template=template, data=data, charset=frozenset(set.intersection(*charsets)))


def _font_kit(*, stamp: bool = False) -> _FontKit:
    """The receipt's fonts (regular and bold, wide repertoire) or, with `stamp`, the signature box's (regular)."""
    key = "stamp" if stamp else "receipt"
    with _kit_lock:
        if key not in _kits:
            _kits[key] = (
                _build_kit(_STAMP_REPERTOIRE, ("",)) if stamp else _build_kit(_REPERTOIRE, tuple(FONT_FILES), mono=True)
            )
        return _kits[key]


def _install_fonts(pdf: FPDF, kit: _FontKit) -> None:
    """Clone the pre-parsed fonts into a new document instead of parsing the TTF again (~50 ms each).

    fpdf2's TTFFont.__deepcopy__ shares the immutable tables and copies the per-document state; the
    width and glyph-id maps are read-only once built, so they are shared too (the memo). The fontTools
    object is rebuilt from bytes because fpdf2 subsets it in place when writing the PDF.
    """
    for key, font in kit.template.fonts.items():
        assert isinstance(font, TTFFont)
        memo = {id(font.cw): font.cw, id(font.glyph_ids): font.glyph_ids}
        clone = copy.deepcopy(font, memo)
        clone.ttfont = ttLib.TTFont(io.BytesIO(kit.data[key]), recalcTimestamp=False, lazy=True)
        pdf.fonts[key] = clone


# ------------------------------------------------------------------------------------------ cleaning

# Variation selectors and emoji skin-tone modifiers only make sense next to a glyph we cannot draw.
_DROPPED = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0x1F3FB, 0x1F400))


def clean_text(text: str, charset: frozenset[int], limit: int | None, *, multiline: bool = False) -> str:
    """Make untrusted text printable with our font: never raises, never longer than `limit`."""
    if limit is not None:
        text = text[: 4 * limit + 16]  # a megabyte subject costs no time; dropped characters leave slack
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        cp = ord(ch)
        category = unicodedata.category(ch)
        if ch == "\n" and multiline:
            out.append(ch)
        elif category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif category == "Cf" or cp in _DROPPED:
            # Bidi overrides would make "cerere\u202efdp.exe" look like a PDF; zero-width joiners glue
            # emoji we cannot draw anyway. Show the logical order, nothing hidden.
            continue
        elif cp in charset:
            out.append(ch)
        elif not out or out[-1] != REPLACEMENT:
            out.append(REPLACEMENT)  # one marker per run: a line of 😀😀😀 is one missing thing
    cleaned = "".join(out).strip()
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + ELLIPSIS
    return cleaned


# ---------------------------------------------------------------------------------------- formatting


def format_size(size: int) -> str:
    """Binary units, Romanian decimal comma: 1536 -> "1,5 KB"."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}".replace(".", ",")


def format_moment(moment: datetime, timezone: str) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"receipt time {moment.isoformat()} has no time zone")
    local = moment.astimezone(ZoneInfo(timezone))
    label = "ora României" if timezone == "Europe/Bucharest" else f"ora {timezone}"
    return f"{local:%d.%m.%Y, ora %H:%M:%S} ({label})"


def _grouped_hash(sha256: str) -> str:
    digest = sha256.strip().lower()
    if not digest or len(digest) > 128 or any(c not in "0123456789abcdef" for c in digest):
        return "-"  # Courier is a latin-1 core font: no en dash
    return "\n".join(digest[i : i + 16] for i in range(0, len(digest), 16))


# ------------------------------------------------------------------------------------------- layout

# The fixed words are the blocks of the editable template intake/texts/templates/recipisa_pdf.txt.
TEXTS = "recipisa_pdf"
NO_SUBJECT = "(fără subiect)"
TABLE_HEADER = ("Nr.", "Fișier", "Tip", "Pagini", "Dimensiune", "SHA-256", "Stare")
COL_WIDTHS = (8, 50, 14, 13, 21, 27, 47)  # mm, sum = A4 width minus 15 mm margins
MARGIN = 15.0
CELL_PADDING = 1.0
TABLE_FONT_SIZE = 8
# Lines of text a file name may take before it is cut (x2 worst case, 3.6 mm each): with the status
# cell bounded the same way a row stays well under one page.
CELL_LINES = 20
LABEL_WIDTH = 42.0
# The visible signature (stamp.py): a box at the foot of the last page, in mm from the bottom-left corner.
STAMP_LEFT = MARGIN
STAMP_WIDTH = 95.0
STAMP_BOTTOM = 19.0
STAMP_HEIGHT = 19.0
STAMP_PADDING = 2.5  # mm above the first line and below the last
BOTTOM_MARGIN = 18.0
LINK_COLOUR = (0, 70, 160)
MIN_LINK_SIZE = 6.0  # pt: below this a link is wrapped rather than shrunk
URL_LINE = re.compile(r"\s*(https?://\S+)\s*")
# A receipt that spills a few lines onto a page of their own is laid out again, tighter (the first spacing that
# saves the page wins): a beneficiary should not get "1 page + 3 lines". A last page holding more than
# TAIL_LIMIT mm of text is a page the content needs.
TIGHTER = (0.9, 0.85)  # 85 %: body text 8 pt, still read without a magnifier
TAIL_LIMIT = 70.0


class _ReceiptPDF(FPDF):
    footer_text = ""
    tight = 1.0  # factor on font sizes, line heights and gaps (see TIGHTER)
    tail_split = False  # the appointment notice and the closing words were cut by a page break
    stamp_alone = False  # the last page holds only the visible signature
    before_tail: _ReceiptPDF | None = None  # while the page breaks are decided: the document before the notice

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(90)
        self.cell(0, 5, f"{self.footer_text} · pagina {self.page_no()} din {{nb}}", align="C")


@dataclass(frozen=True)
class _Context:
    pdf: _ReceiptPDF
    charset: frozenset[int]
    data: ReceiptData

    def clean(self, text: str | None, limit: int | None, *, multiline: bool = False) -> str:
        return clean_text(text or "", self.charset, limit, multiline=multiline)


def _new_pdf(data: ReceiptData, kit: _FontKit, tight: float) -> _ReceiptPDF:
    # PDF/A-3b (ISO 19005-3, level B): fpdf2 then writes the XMP with pdfaid:part=3, the sRGB output intent (the ICC's
    # sRGB2014 profile, freely redistributable) and refuses anything PDF/A forbids (core fonts, encryption).
    pdf = _ReceiptPDF(format="A4", unit="mm", enforce_compliance=DocumentCompliance.PDFA_3B)
    pdf.tight = tight
    _install_fonts(pdf, kit)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=BOTTOM_MARGIN)
    pdf.footer_text = f"Recipisa nr. {clean_text(data.registration_number, kit.charset, MAX_SHORT)}"
    pdf.set_title(f"{texts.part(TEXTS, 'titlu')} nr. {data.registration_number}")
    pdf.set_author(data.office_name)
    pdf.set_subject(texts.part(TEXTS, "subtitlu"))
    pdf.set_creator("intake")
    pdf.set_lang("ro-RO")
    pdf.add_page()
    return pdf


def _paragraph(
    pdf: _ReceiptPDF, text: str, *, size: float = 9.5, style: str = "", height: float = 4.8, align: str = "L"
) -> None:
    pdf.set_font(FAMILY, style, size * pdf.tight)
    lines = _wrapped(pdf, text)
    if lines is None:
        pdf.multi_cell(0, height * pdf.tight, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    for line in lines:
        pdf.cell(0, height * pdf.tight, line, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _wrapped(pdf: FPDF, text: str) -> list[str] | None:
    """`text` broken into lines at spaces, each as wide as the line allows (greedy, as fpdf2's multi_cell breaks
    them), or None when a word alone is wider than a line (multi_cell then breaks inside it).

    Why not multi_cell itself: it measures the whole line again for every character it adds, and the receipt's
    paragraphs took ~40 % of its rendering time that way; here each word is measured once."""
    room = pdf.epw - 2 * pdf.c_margin
    space = pdf.get_string_width(" ")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        width = 0.0
        for word in paragraph.split(" "):
            word_width = pdf.get_string_width(word)
            if word_width > room:
                return None
            if line and width + space + word_width > room:
                lines.append(" ".join(line))
                line, width = [word], word_width
            else:
                width += (space if line else 0.0) + word_width
                line.append(word)
        lines.append(" ".join(line))
    return lines


def _gap(pdf: _ReceiptPDF, height: float) -> None:
    pdf.ln(height * pdf.tight)


def _link(pdf: _ReceiptPDF, url: str, *, size: float = 9.5, height: float = 4.8) -> None:
    """`url` as a link annotation on one line: the font shrinks until the whole address fits (a link broken
    over two lines is copied in halves); one too long even at MIN_LINK_SIZE wraps, still clickable."""
    size *= pdf.tight
    pdf.set_text_color(*LINK_COLOUR)
    pdf.set_font(FAMILY, "", size)
    while size > MIN_LINK_SIZE and pdf.get_string_width(url) > pdf.epw:
        size = max(MIN_LINK_SIZE, size - 0.5)
        pdf.set_font(FAMILY, "", size)
    if pdf.get_string_width(url) <= pdf.epw:
        pdf.cell(0, height * pdf.tight, url, link=url, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.write(height * pdf.tight, url, link=url)
        pdf.ln(height * pdf.tight)
    pdf.set_text_color(0)


def _heading(pdf: _ReceiptPDF, text: str) -> None:
    _gap(pdf, 3)
    _paragraph(pdf, text, size=11, style="B", height=6)
    _gap(pdf, 1)


def _letterhead(ctx: _Context) -> None:
    pdf, data = ctx.pdf, ctx.data
    _paragraph(pdf, ctx.clean(data.office_name, 300), size=12, style="B", height=6, align="C")
    _paragraph(pdf, ctx.clean(data.office_address, 300), size=9, height=4.5, align="C")
    _gap(pdf, 2)
    pdf.set_draw_color(120)
    pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
    _gap(pdf, 6)
    _paragraph(pdf, texts.part(TEXTS, "titlu"), size=20, style="B", height=9, align="C")
    _paragraph(pdf, texts.part(TEXTS, "subtitlu"), size=10, height=5, align="C")
    _gap(pdf, 5)


def _field(pdf: _ReceiptPDF, label: str, value: str) -> None:
    pdf.set_font(FAMILY, "B", 9.5 * pdf.tight)
    pdf.cell(LABEL_WIDTH, 5.2 * pdf.tight, label)
    pdf.set_font(FAMILY, "", 9.5 * pdf.tight)
    pdf.multi_cell(0, 5.2 * pdf.tight, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _registration_fields(ctx: _Context) -> None:
    data = ctx.data
    _field(ctx.pdf, "Nr. de înregistrare:", ctx.clean(data.registration_number, MAX_SHORT))
    _field(ctx.pdf, "Data înregistrării:", format_moment(data.registered_at, data.timezone))
    _field(ctx.pdf, "Primit la:", format_moment(data.received_at, data.timezone))
    _field(ctx.pdf, "Expeditor:", ctx.clean(data.sender, 320) or "–")
    _field(ctx.pdf, "Subiect:", ctx.clean(data.subject, MAX_SUBJECT) or NO_SUBJECT)


def _fit(pdf: FPDF, text: str, column: float, lines: int) -> str:
    """Shorten `text` so that, wrapped in `column` mm, it takes at most about 2 x `lines` lines.

    fpdf2 refuses a table row taller than a page, so every cell is bounded by its rendered width, not
    its character count (one '‱' is three times as wide as an 'a'). Word wrapping can waste up to half
    of each line, hence the factor 2 in the bound.
    """
    budget = (column - 2 * CELL_PADDING) * lines
    if pdf.get_string_width(text) <= budget:
        return text
    cut = len(text)
    while cut > 1 and pdf.get_string_width(text[:cut] + ELLIPSIS) > budget:
        cut = min(cut - 1, int(cut * budget / pdf.get_string_width(text[:cut] + ELLIPSIS)))
    return text[:cut].rstrip() + ELLIPSIS


def _status_cell(ctx: _Context, doc: ReceiptDocument) -> str:
    column = COL_WIDTHS[6]
    lines = [doc.status or texts.render("stare_document", acceptat=doc.accepted, cod=None)]
    for remark in (doc.reason, doc.signature_summary):
        cleaned = ctx.clean(remark, MAX_REASON)
        if cleaned:
            lines.append(_fit(ctx.pdf, cleaned, column, CELL_LINES // 2))
    return "\n".join(lines)


def _document_row(ctx: _Context, number: int, doc: ReceiptDocument) -> tuple[str, ...]:
    filename = ctx.clean(doc.filename, MAX_FILENAME) or "(fără nume)"
    detected = ctx.clean(doc.detected_type, MAX_SHORT) or "–"
    return (
        str(number),
        _fit(ctx.pdf, filename, COL_WIDTHS[1], CELL_LINES),
        _fit(ctx.pdf, detected, COL_WIDTHS[2], 2),
        str(doc.pages) if doc.pages is not None else "–",
        format_size(doc.size),
        _grouped_hash(doc.sha256),
        _status_cell(ctx, doc),
    )


def _documents(ctx: _Context) -> None:
    pdf, documents = ctx.pdf, ctx.data.documents
    _heading(pdf, f"Documente primite ({len(documents)})")
    if not documents:
        _paragraph(pdf, texts.part(TEXTS, "fara_atasamente"))
        return
    size = TABLE_FONT_SIZE * pdf.tight
    pdf.set_font(FAMILY, "", size)  # also the font _fit measures with
    rows = [_document_row(ctx, number, doc) for number, doc in enumerate(documents, start=1)]
    mono = FontFace(family=MONO, size_pt=7 * pdf.tight)
    with pdf.table(
        col_widths=COL_WIDTHS,
        width=sum(COL_WIDTHS),
        line_height=3.6 * pdf.tight,
        padding=CELL_PADDING,
        text_align=("CENTER", "LEFT", "LEFT", "CENTER", "RIGHT", "LEFT", "LEFT"),
        headings_style=FontFace(emphasis="BOLD", size_pt=size, fill_color=(230, 230, 230)),
        v_align="TOP",
    ) as table:
        table.row(TABLE_HEADER)
        for values in rows:
            row = table.row()
            for index, value in enumerate(values):
                row.cell(value, style=mono if index == 5 else None)
    _gap(pdf, 2)


def _case_documents(ctx: _Context) -> None:
    data = ctx.data
    if not data.case_registration or not data.case_documents:
        return
    _heading(ctx.pdf, f"Documentele dosarului nr. {ctx.clean(data.case_registration, MAX_SHORT)}")
    _paragraph(ctx.pdf, texts.part(TEXTS, "dosar"), size=8.5, height=4.3)
    for line in data.case_documents:
        name = ctx.clean(line.filename, MAX_FILENAME) or "(fără nume)"
        text = f"•  „{name}” ({ctx.clean(line.kind, 200)}), primit cu nr. {ctx.clean(line.received_with, MAX_SHORT)}"
        if line.replaced_by:
            text += f"; înlocuit de „{ctx.clean(line.replaced_by, MAX_FILENAME)}”"
        _paragraph(ctx.pdf, text + ".", size=9)


def _possibly_needed(ctx: _Context) -> None:
    items = [ctx.clean(item, 600) for item in ctx.data.possibly_needed]
    items = [item for item in items if item]
    if not items:
        return
    _heading(ctx.pdf, "Documente necesare, dacă este cazul")
    _paragraph(ctx.pdf, texts.part(TEXTS, "daca_este_cazul"), size=8.5, height=4.3)
    for item in items:
        _paragraph(ctx.pdf, f"•  {item}")


def _findings(ctx: _Context) -> None:
    findings = [ctx.clean(f, 2000, multiline=True) for f in ctx.data.findings]
    findings = [f for f in findings if f]
    if not findings:
        return
    _heading(ctx.pdf, "Constatări")
    for finding in findings:
        _paragraph(ctx.pdf, f"•  {finding}")


def _appointment(ctx: _Context) -> None:
    text = ctx.clean(ctx.data.appointment, 4000, multiline=True)
    if not text:
        return
    _heading(ctx.pdf, texts.part(TEXTS, "titlu_verificare" if ctx.data.verifying else "titlu_programare"))
    # The reschedule link (a line of its own in the notice) becomes a link annotation the reader can click.
    block: list[str] = []
    for line in text.split("\n"):
        url = URL_LINE.fullmatch(line)
        if url is None:
            block.append(line)
            continue
        if block:
            _paragraph(ctx.pdf, "\n".join(block))
            block = []
        _link(ctx.pdf, url.group(1))
    if block:
        _paragraph(ctx.pdf, "\n".join(block))


def _closing(ctx: _Context) -> None:
    if ctx.data.status_url:
        _gap(ctx.pdf, 3)
        _paragraph(ctx.pdf, texts.part(TEXTS, "stare_dosar"))
        _link(ctx.pdf, ctx.data.status_url)
    _gap(ctx.pdf, 6)
    genitive = ctx.clean(ctx.data.office_genitive or ctx.data.office_name, 300)
    _paragraph(ctx.pdf, texts.part(TEXTS, "incheiere", birou_genitiv=genitive), size=8.5, height=4.3)


def _stamp_space(pdf: _ReceiptPDF) -> None:
    """Keep the foot of the last page free for the visible signature `sign.py` adds (stamp.py places it)."""
    if pdf.get_y() > pdf.h - STAMP_BOTTOM - STAMP_HEIGHT - 2:
        pdf.add_page()
        pdf.stamp_alone = True


def _layout(data: ReceiptData, kit: _FontKit, tight: float) -> _ReceiptPDF:
    """The receipt laid out; `pdf.tail_split` says whether the appointment and the closing words were cut by a page
    break, and `pdf.before_tail` is a copy of the document as it stood before them (see `_tail_on_new_page`)."""
    ctx = _Context(pdf=_new_pdf(data, kit, tight), charset=kit.charset, data=data)
    _body(ctx)
    before_tail = _copy(ctx.pdf)
    _tail(ctx)
    ctx.pdf.before_tail = before_tail
    return ctx.pdf


def _body(ctx: _Context) -> None:
    _letterhead(ctx)
    _registration_fields(ctx)
    _documents(ctx)
    _case_documents(ctx)
    _findings(ctx)
    _possibly_needed(ctx)


def _tail(ctx: _Context) -> None:
    tail_page = ctx.pdf.page_no()
    _appointment(ctx)
    _closing(ctx)
    ctx.pdf.tail_split = ctx.pdf.page_no() != tail_page
    _stamp_space(ctx.pdf)


def _tail_on_new_page(pdf: _ReceiptPDF, data: ReceiptData, kit: _FontKit) -> _ReceiptPDF:
    """The same receipt with the appointment and the closing words starting a page of their own: continued from
    the copy made before them, which is what laying the whole receipt out again would give, for a fraction of the
    time (tests/unit/test_receipt_layout.py compares the two)."""
    if pdf.before_tail is None:
        raise ValueError("the receipt was laid out without a copy before its tail")
    ctx = _Context(pdf=pdf.before_tail, charset=kit.charset, data=data)
    ctx.pdf.add_page()
    _tail(ctx)
    return ctx.pdf


def _copy(pdf: _ReceiptPDF) -> _ReceiptPDF:
    # The fonts' width and glyph-id maps are read-only once built: shared, as in _install_fonts.
    memo: dict[int, Any] = {}
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont):
            memo[id(font.cw)] = font.cw
            memo[id(font.glyph_ids)] = font.glyph_ids
    return copy.deepcopy(pdf, memo)


def _short_tail(pdf: _ReceiptPDF) -> bool:
    return pdf.page_no() > 1 and pdf.get_y() - MARGIN < TAIL_LIMIT


def _laid_out(data: ReceiptData) -> _ReceiptPDF:
    """The receipt with its page breaks decided: tighter if that saves a nearly empty last page, and the notice and
    the closing words whole on the last page."""
    kit = _font_kit()
    pdf = _layout(data, kit, 1.0)
    if _short_tail(pdf):
        for tight in TIGHTER:
            tighter = _layout(data, kit, tight)
            if tighter.page_no() < pdf.page_no():
                pdf = tighter
                break
    if pdf.tail_split or pdf.stamp_alone:
        # The last lines of the notice alone on the last page, or a signature with no text above it, read as an
        # accident: the notice and the closing words move to the last page whole.
        pdf = _tail_on_new_page(pdf, data, kit)
    pdf.before_tail = None
    return pdf


def render_receipt(data: ReceiptData, attachments: Sequence[AssociatedFile] = ()) -> bytes:
    """An unsigned A4 PDF/A-3b with `attachments` embedded; raises ValueError only for a naive datetime (a caller
    bug)."""
    pdf = _laid_out(data)
    for item in attachments:
        pdf.embed_file(
            bytes=item.data,
            basename=item.name,
            modification_date=item.modified_at,
            mime_type=item.mime_type,
            associated_file_relationship=item.relationship,
            desc=item.description,
            compress=item.compress,
        )
    return bytes(pdf.output())


def render_stamp(lines: str) -> bytes:
    """The visible signature's face: a one-page PDF the size of the box, in the receipt's font (stamp.py makes
    it the appearance of the signature field)."""
    kit = _font_kit(stamp=True)
    pdf = FPDF(format=(STAMP_WIDTH, STAMP_HEIGHT), unit="mm")
    _install_fonts(pdf, kit)
    pdf.set_margins(3, STAMP_PADDING, 3)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_draw_color(0, 70, 160)
    pdf.set_line_width(0.4)
    pdf.rect(0.3, 0.3, STAMP_WIDTH - 0.6, STAMP_HEIGHT - 0.6)
    text = clean_text(lines, kit.charset, 600, multiline=True)
    # A long signer name (the certificate's CN) shrinks the type until the wrapped text fits in the box.
    room = STAMP_HEIGHT - 2 * STAMP_PADDING
    size = 7.5
    while True:
        pdf.set_font(FAMILY, "", size)
        height = size * 0.59  # mm per line: the 7.5 pt face has 4.4 mm lines
        wrapped = pdf.multi_cell(0, height, text, dry_run=True, output=MethodReturnValue.LINES)
        if len(wrapped) * height <= room or size <= 5:
            break
        size -= 0.5
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
