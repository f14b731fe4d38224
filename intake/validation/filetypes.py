"""Content-based check of e-mail attachments.

The agency accepts only JPEG, PNG and PDF attachments ("JPEG, JPG, PNG sau PDF"). Senders rename files,
mail clients guess MIME types, so nothing the sender declares is trusted: the type comes from the bytes,
and an allowed type must also really decode (Pillow loads the pixels, pypdf reads the page tree).

The name never decides either way: a PDF named `.jpg` (or a JPEG named `.pdf`) is checked and accepted as what
it is, with a Romanian note that the name did not match the content (the citizen picked a wrong extension; the
file is exactly what the procedure accepts, and downstream everything goes by `detected_type`). A forbidden
format named like an accepted one (a ZIP or an EXE called `.pdf`) stays rejected, and the reason says what it
really is.

`check_attachment` never raises: whatever comes in, a `FileCheck` comes out, with a Romanian reason for
every rejection, because its result is shown to the sender on the receipt and to staff. (One exception: an
edited template that does not render, see below, is raised rather than hidden behind a false rejection.)

The reasons and notes are the agency's editable templates (issue 9 point 12), one per finding code:
`constatare_forbidden_attachment.txt` (with the shared sentence `formate_acceptate.txt`, procedure 000 step 3),
`constatare_corrupt_attachment.txt`, `constatare_encrypted_attachment.txt`, `constatare_oversized.txt`, and the
notes `nota_document.txt`. This module supplies the facts (names, formats, sizes written the Romanian way).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from asn1crypto import cms
from jinja2 import TemplateError
from PIL import Image, ImageFile
from pypdf import PdfReader
from pypdf.constants import TrailerKeys
from pypdf.generic import NullObject

from intake import texts
from intake.validation import image_budget, pdf_budget

# pypdf logs a warning for every small defect of real-world PDFs; they are not actionable here and
# would drown the daemon's log. Errors still come through.
logging.getLogger("pypdf").setLevel(logging.ERROR)

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_PIXELS = 60_000_000
DEFAULT_MAX_DECODED_BYTES = image_budget.DEFAULT_MAX_DECODED_BYTES  # `limits.max_decoded_image_bytes`

CODE_FORBIDDEN = "forbidden_attachment"
CODE_CORRUPT = "corrupt_attachment"
CODE_ENCRYPTED = "encrypted_attachment"
CODE_OVERSIZED = "oversized"


@dataclass(frozen=True)
class FileCheck:
    detected_type: str
    content_type: str
    accepted: bool
    code: str | None
    reason: str | None
    pages: int | None
    width: int | None
    height: int | None
    encrypted: bool
    name_mismatch: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Format:
    name: str  # value of FileCheck.detected_type
    mime: str
    label: str  # how the format is named to the sender, inside Romanian sentences


_FORMAT_TABLE: tuple[Format, ...] = (
    # Accepted.
    Format("pdf", "application/pdf", "PDF"),
    Format("jpeg", "image/jpeg", "JPEG"),
    Format("png", "image/png", "PNG"),
    # CAdES signature containers (procedure §7 item 4): a qualified signature may come as .p7s or .p7m; the
    # signature stage checks them, and the document inside a .p7m is checked like any attachment.
    Format("p7s", "application/pkcs7-signature", "semnătură CAdES detașată (.p7s)"),
    Format("p7m", "application/pkcs7-mime", "document semnat CAdES (.p7m)"),
    # Recognised only so that the rejection can name them.
    Format("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "DOCX"),
    Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
    Format("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "PPTX"),
    Format("odt", "application/vnd.oasis.opendocument.text", "ODT"),
    Format("ods", "application/vnd.oasis.opendocument.spreadsheet", "ODS"),
    Format("odp", "application/vnd.oasis.opendocument.presentation", "ODP"),
    # Any OLE2 compound file: Word, Excel and PowerPoint 97-2003 look alike at this level.
    Format("doc", "application/x-ole-storage", "DOC/XLS/PPT (Office 97–2003)"),
    Format("zip", "application/zip", "ZIP"),
    Format("rar", "application/vnd.rar", "RAR"),
    Format("7z", "application/x-7z-compressed", "7Z"),
    Format("gzip", "application/gzip", "GZIP"),
    Format("heic", "image/heic", "HEIC"),
    Format("heif", "image/heif", "HEIF"),
    Format("avif", "image/avif", "AVIF"),
    Format("gif", "image/gif", "GIF"),
    Format("bmp", "image/bmp", "BMP"),
    Format("tiff", "image/tiff", "TIFF"),
    Format("webp", "image/webp", "WEBP"),
    Format("svg", "image/svg+xml", "SVG"),
    Format("exe", "application/vnd.microsoft.portable-executable", "EXE"),
    Format("elf", "application/x-executable", "ELF"),
    Format("rtf", "application/rtf", "RTF"),
    Format("html", "text/html", "HTML"),
    Format("text", "text/plain", "text simplu"),
    Format("empty", "application/x-empty", "gol"),
    Format("unknown", "application/octet-stream", "format nerecunoscut"),
)
FORMATS: dict[str, Format] = {f.name: f for f in _FORMAT_TABLE}

ACCEPTED_TYPES: frozenset[str] = frozenset({"pdf", "jpeg", "png", "p7s", "p7m"})
SIGNATURE_CONTAINERS: frozenset[str] = frozenset({"p7s", "p7m"})

# What content each file-name extension promises. Only these extensions can produce a "mismatch":
# an extension we do not know (".dat", none at all) promises nothing.
_EXTENSION_TABLE: dict[str, frozenset[str]] = {
    ext: frozenset(types)
    for exts, types in (
        (("pdf",), {"pdf"}),
        (("jpg", "jpeg", "jpe", "jfif"), {"jpeg"}),
        (("png",), {"png"}),
        (("p7s",), {"p7s"}),
        (("p7m",), {"p7m"}),
        (("gif",), {"gif"}),
        (("bmp", "dib"), {"bmp"}),
        (("tif", "tiff"), {"tiff"}),
        (("webp",), {"webp"}),
        (("heic", "heif", "hif"), {"heic", "heif"}),
        (("avif",), {"avif"}),
        (("svg",), {"svg"}),
        (("doc", "dot", "xls", "xlt", "ppt", "pps", "msg"), {"doc"}),
        (("docx", "docm", "dotx"), {"docx"}),
        (("xlsx", "xlsm", "xltx"), {"xlsx"}),
        (("pptx", "pptm", "ppsx"), {"pptx"}),
        (("odt",), {"odt"}),
        (("ods",), {"ods"}),
        (("odp",), {"odp"}),
        (("zip",), {"zip"}),
        (("rar",), {"rar"}),
        (("7z",), {"7z"}),
        (("gz", "tgz"), {"gzip"}),
        (("exe", "dll", "scr", "com", "cpl"), {"exe"}),
        (("rtf",), {"rtf"}),
        (("htm", "html", "xhtml"), {"html"}),
        (("txt", "csv", "log"), {"text"}),
    )
    for ext in exts
}

# Signatures that sit at offset 0 and are specific enough on their own.
_PREFIX_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "doc"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"\x7fELF", "elf"),
    (b"{\\rtf", "rtf"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty archive
    (b"PK\x07\x08", "zip"),  # spanned archive
)

# Readers (Acrobat, pdf.js, pypdf) find the header anywhere in the first KiB, so senders' files with a
# few junk bytes in front are real PDFs to them and to us.
_PDF_HEADER_WINDOW = 1024

_PILLOW_FORMATS: dict[str, tuple[str, ...]] = {
    # Phones write multi-picture JPEGs that Pillow reports as MPO; they are JPEG files.
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
}

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"heif"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

_OOXML_PARTS: tuple[tuple[str, str], ...] = (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx"))
_ODF_MIMETYPES: tuple[tuple[bytes, str], ...] = (
    (b"application/vnd.oasis.opendocument.text", "odt"),
    (b"application/vnd.oasis.opendocument.spreadsheet", "ods"),
    (b"application/vnd.oasis.opendocument.presentation", "odp"),
)

_BMP_DIB_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_TEXT_SAMPLE = 4096
# Bytes that do not occur in text in any 8-bit encoding (tab, LF, FF, CR and ESC excepted).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")
_ENCRYPT_ENTRY = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")

_MAX_NAME_CHARS = 80
_NAME_TAIL_CHARS = 20


# --------------------------------------------------------------------------------------------------
# Public entry point


def check_attachment(
    filename: str,
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    office_short: str = "AJOFM Cluj",
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
) -> FileCheck:
    """Decide from the content whether an attachment is an acceptable, readable PDF, JPEG or PNG.

    `office_short` names the agency in the reason's legal reference ("procedura de comunicare electronică a …");
    `max_decoded_bytes` bounds the memory of one image decode (`limits.max_decoded_image_bytes`)."""
    try:
        return _check(filename, data, max_bytes, max_pixels, office_short, max_decoded_bytes)
    except TemplateError:
        raise  # an edited wording that does not render is the agency's to fix (`intake check`), not the sender's
    except Exception:
        # Our own bug or an input nobody imagined: fail closed, the sender gets a reason and staff a log.
        log.exception("attachment check failed unexpectedly")
        return _unverifiable(filename)


# --------------------------------------------------------------------------------------------------
# Orchestration


@dataclass(frozen=True)
class _Outcome:
    """What the content-specific check found; the file-name part is added by `_check`."""

    accepted: bool
    code: str | None = None
    reason: str | None = None
    pages: int | None = None
    width: int | None = None
    height: int | None = None
    encrypted: bool = False
    notes: tuple[str, ...] = ()


def _check(
    filename: object, data: object, max_bytes: int, max_pixels: int, office_short: str, max_decoded_bytes: int
) -> FileCheck:
    name = filename if isinstance(filename, str) else ""
    content = bytes(data) if isinstance(data, bytes | bytearray | memoryview) else b""
    shown = display_name(name)

    kind = sniff(content)
    if kind == "empty":
        outcome = _Outcome(False, CODE_CORRUPT, _reason(CODE_CORRUPT, "empty", shown))
    elif len(content) > max_bytes:
        outcome = _Outcome(False, CODE_OVERSIZED, _oversized_reason(shown, len(content), max_bytes))
    elif kind == "pdf":
        outcome = _check_pdf(content, shown)
    elif kind in _PILLOW_FORMATS:
        outcome = _check_image(content, kind, shown, max_pixels, max_decoded_bytes)
    elif kind in SIGNATURE_CONTAINERS:
        outcome = _check_cms(content, kind, shown)
    else:
        outcome = _Outcome(False, CODE_FORBIDDEN, _forbidden_reason(shown, kind, office_short))

    # The content decides, never the name: a PDF named .jpg is the PDF it is (and the reverse), checked and
    # accepted as such with a note; a forbidden format named like an accepted one stays rejected, and the
    # reason says what it really is.
    mismatch = _name_mismatch(name, kind)
    notes = outcome.notes
    if mismatch and outcome.accepted:
        notes = (_renamed_note(shown, name, kind), *notes)
    elif mismatch and outcome.code == CODE_FORBIDDEN and _promises_accepted(name):
        outcome = _Outcome(False, CODE_FORBIDDEN, _disguised_reason(shown, name, kind, office_short))
    elif mismatch:
        notes = (note("name_mismatch", shown, format=FORMATS[kind].label), *notes)
    return FileCheck(
        detected_type=kind,
        content_type=FORMATS[kind].mime,
        accepted=outcome.accepted,
        code=outcome.code,
        reason=outcome.reason,
        pages=outcome.pages,
        width=outcome.width,
        height=outcome.height,
        encrypted=outcome.encrypted,
        name_mismatch=mismatch,
        notes=notes,
    )


def _unverifiable(filename: object) -> FileCheck:
    try:
        shown = display_name(filename if isinstance(filename, str) else "")
    except Exception:
        shown = "(fără nume)"
    return FileCheck(
        detected_type="unknown",
        content_type=FORMATS["unknown"].mime,
        accepted=False,
        code=CODE_CORRUPT,
        reason=_reason(CODE_CORRUPT, "unverifiable", shown),
        pages=None,
        width=None,
        height=None,
        encrypted=False,
        name_mismatch=False,
        notes=(),
    )


# --------------------------------------------------------------------------------------------------
# Content sniffing


def sniff(data: bytes) -> str:
    """Name the format of `data` by its signature; see `FORMATS` for the possible answers."""
    if not data:
        return "empty"
    for magic, kind in _PREFIX_MAGIC:
        if data.startswith(magic):
            return _zip_kind(data) if kind == "zip" else kind
    structured = _sniff_structured(data)
    if structured:
        return structured
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW] or _is_headerless_pdf(data):
        return "pdf"
    return _sniff_text(data[:_TEXT_SAMPLE])


def _is_headerless_pdf(data: bytes) -> bool:
    # A PDF whose header was overwritten still ends like one. Naming it "PDF, damaged" tells the sender
    # what to do; "unknown format" would not. It is never accepted (see `_check_pdf`).
    tail = data[-_PDF_HEADER_WINDOW:]
    return b"startxref" in tail and b"%%EOF" in tail


def _sniff_structured(data: bytes) -> str | None:
    """Formats whose short magic needs a second look to avoid claiming ordinary text or binary."""
    cms = _cms_kind(data)
    if cms:
        return cms
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        return _iso_bmff_kind(data)
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_DIB_HEADER_SIZES:
        return "bmp"
    if data[:2] == b"MZ":
        return "exe"
    return None


def _iso_bmff_kind(data: bytes) -> str | None:
    box_size = int.from_bytes(data[:4], "big")
    box_end = min(max(box_size, 16), len(data), 256)
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    # AVIF files also carry mif1, so the more specific brands are tested first.
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIC_BRANDS:
        return "heic"
    if brands & _HEIF_BRANDS:
        return "heif"
    return None  # MP4, MOV, 3GP...: nothing the sender needs named


def _zip_kind(data: bytes) -> str:
    """Tell Office and OpenDocument files from plain ZIP archives by their member names."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    # Bounded read: the member could be a decompression bomb.
                    mimetype = member.read(128).strip()
                for prefix, kind in _ODF_MIMETYPES:
                    if mimetype.startswith(prefix):
                        return kind
            if "[Content_Types].xml" in names:
                for prefix, kind in _OOXML_PARTS:
                    if any(n.startswith(prefix) for n in names):
                        return kind
    except Exception:
        # Truncated or odd archives are still archives; the signature said so.
        pass
    return "zip"


def _sniff_text(sample: bytes) -> str:
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text is full of NUL bytes
        return "text"
    if _BINARY_BYTES.search(sample):
        return "unknown"
    lowered = sample.lower()
    if any(marker in lowered for marker in _HTML_MARKERS):
        return "html"
    if b"<svg" in lowered:
        return "svg"
    return "text"


_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2, DER-encoded
_PEM_PKCS7 = (b"-----BEGIN PKCS7-----", b"-----BEGIN CMS-----")


def _cms_der(data: bytes) -> bytes | None:
    """The DER of a CMS SignedData given as DER or PEM, else None."""
    if data[:1] == b"\x30" and _SIGNED_DATA_OID in data[:32]:
        return data
    stripped = data.lstrip()
    if stripped.startswith(_PEM_PKCS7):
        try:
            body = b"".join(line for line in stripped.splitlines() if line and not line.startswith(b"-----"))
            der = base64.b64decode(body, validate=False)
        except (ValueError, binascii.Error):
            return None
        return der if _SIGNED_DATA_OID in der[:32] else None
    return None


def _cms_kind(data: bytes) -> str | None:
    der = _cms_der(data)
    if der is None:
        return None
    try:
        content = cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"]
        return "p7s" if content.native is None else "p7m"
    except Exception:
        return "p7s"  # a broken container: named, then rejected as corrupt by `_check_cms`


def _check_cms(data: bytes, kind: str, shown: str) -> _Outcome:
    der = _cms_der(data)
    try:
        signed_data = cms.ContentInfo.load(der or b"")["content"]
        signer_count = len(signed_data["signer_infos"])
    except Exception:
        return _Outcome(False, CODE_CORRUPT, _damaged_reason(shown, "o semnătură electronică CAdES"))
    if signer_count == 0:
        return _Outcome(False, CODE_CORRUPT, _damaged_reason(shown, "o semnătură electronică CAdES"))
    return _Outcome(True, notes=(note("cades", shown),))


# --------------------------------------------------------------------------------------------------
# Images


def _check_image(data: bytes, kind: str, shown: str, max_pixels: int, max_decoded_bytes: int) -> _Outcome:
    label = FORMATS[kind].label
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone flipped Pillow's process-wide switch; truncated images would pass as whole. Switched back: a
        # truncated image must never be accepted (issue 10 point 10).
        log.error("PIL.ImageFile.LOAD_TRUNCATED_IMAGES was True: set back to False")
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    damaged = _Outcome(False, CODE_CORRUPT, _damaged_reason(shown, f"o imagine {label}"))
    try:
        # `formats` makes Pillow try only the decoder the signature announced, so a file cannot be
        # accepted as PNG because some other plugin happens to like it.
        with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[kind]) as img:
            width, height = img.size
            # Checked before decoding, against the caller's limit: Pillow's own limit is global state.
            if width * height > max_pixels:
                return _Outcome(False, CODE_CORRUPT, _bomb_reason(shown, label, max_pixels, width, height))
            if not _decodes_whole(img, data, kind, max_decoded_bytes):
                return damaged
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _Outcome(False, CODE_CORRUPT, _bomb_reason(shown, label, max_pixels))
    except _TooMuchMemory:
        reason = _reason(CODE_CORRUPT, "too_much_memory", shown, format=label, latime=width, inaltime=height)
        return _Outcome(False, CODE_CORRUPT, reason)
    except Exception:
        return damaged
    return _Outcome(True, pages=1, width=width, height=height)


class _TooMuchMemory(Exception):
    pass


def _decodes_whole(img: Image.Image, data: bytes, kind: str, max_decoded_bytes: int) -> bool:
    """The image decodes to its end, with memory bounded by `max_decoded_bytes` (issue 10 points 4 and 10).

    JPEG: decoded at 1/8 (every block is still entropy-decoded, so damage anywhere shows), twice, to tell a scan
    cut short and closed with an EOI from a whole one (`image_budget.jpeg_scan_complete`). PNG: decoded by Pillow
    when it fits the budget; above, inflated in steps and checked without keeping the pixels (`png_intact`)."""
    if kind == "jpeg":
        if image_budget.decoded_bytes(img, image_budget.jpeg_draft_size(img, 1)) > max_decoded_bytes:
            raise _TooMuchMemory  # a progressive JPEG: libjpeg holds all its coefficients at any scale
        complete = image_budget.jpeg_scan_complete(data, max_decoded_bytes)
        if complete is not None:
            return complete
        img.draft(img.mode, image_budget.jpeg_draft_size(img, 1))  # no EOI to test against: a plain decode
        img.load()
        return True
    if image_budget.decoded_bytes(img) <= max_decoded_bytes:
        img.load()
        return True
    return image_budget.png_intact(data)


# --------------------------------------------------------------------------------------------------
# PDF


class _PdfReader(PdfReader):
    """pypdf reader that reads `/Encrypt null` as "not encrypted".

    ISO 32000-1 §7.3.7: a dictionary entry whose value is null is the same as an absent entry. pypdf
    only looks for the key and then fails on such files, which exist in the wild (shadow-attack samples).
    """

    @property
    def is_encrypted(self) -> bool:
        entry = self.trailer.get(TrailerKeys.ENCRYPT)
        return entry is not None and not isinstance(entry.get_object(), NullObject)


def _check_pdf(data: bytes, shown: str) -> _Outcome:
    damaged = _Outcome(False, CODE_CORRUPT, _damaged_reason(shown, "un document PDF"))
    if b"%PDF-" not in data[:_PDF_HEADER_WINDOW]:
        return damaged  # headerless: readers disagree on such files, so the sender must fix it
    with pdf_budget.limits():  # pypdf's own caps, lowered, for the object streams it decodes to count pages
        return _check_pdf_structure(data, shown, damaged)


def _check_pdf_structure(data: bytes, shown: str, damaged: _Outcome) -> _Outcome:
    try:
        reader = _PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except NotImplementedError:
        # pypdf only implements the password ("Standard") security handler; certificate-encrypted
        # documents cannot be opened by us either.
        if _ENCRYPT_ENTRY.search(data):
            return _encrypted_outcome(shown, by_certificate=b"/Adobe.PubSec" in data)
        return damaged
    except Exception:
        return damaged

    if encrypted and not _opens_without_password(reader):
        return _encrypted_outcome(shown)
    try:
        pages = len(reader.pages)
    except Exception:
        return damaged
    if pages == 0:
        return _Outcome(False, CODE_CORRUPT, _reason(CODE_CORRUPT, "no_pages", shown))
    notes = (note("encrypted", shown),) if encrypted else ()
    return _Outcome(True, pages=pages, encrypted=encrypted, notes=notes)


def _opens_without_password(reader: PdfReader) -> bool:
    # The reader already tried the empty password on construction; asking again is cheap and explicit.
    try:
        return bool(reader.decrypt(""))  # PasswordType.NOT_DECRYPTED is 0
    except Exception:
        return False  # unsupported cipher or crypt filter: as unopenable as a password


def _encrypted_outcome(shown: str, *, by_certificate: bool = False) -> _Outcome:
    reason = _reason(CODE_ENCRYPTED, "certificate" if by_certificate else "password", shown)
    return _Outcome(False, CODE_ENCRYPTED, reason, encrypted=True)


# --------------------------------------------------------------------------------------------------
# File names


def display_name(filename: str) -> str:
    """The file name as it can safely be quoted to a person: one line, no bidi tricks, bounded length."""
    base = re.split(r"[/\\]", filename)[-1]
    chars = []
    for ch in base:
        category = unicodedata.category(ch)
        if category == "Cf":
            continue  # U+202E and friends make "exe.pdf" out of "fdp.exe"
        chars.append(" " if category in ("Cc", "Zl", "Zp") else ch)
    shown = " ".join("".join(chars).split())
    if not shown:
        return "(fără nume)"
    if len(shown) > _MAX_NAME_CHARS:
        # Keep the end: the extension is what tells the reader which file this is.
        head = _MAX_NAME_CHARS - _NAME_TAIL_CHARS - 1
        shown = f"{shown[:head]}…{shown[-_NAME_TAIL_CHARS:]}"
    return shown


def _extension(filename: str) -> str:
    base = re.split(r"[/\\]", filename)[-1]
    # Windows ignores trailing dots and spaces, so "x.pdf. " opens as a PDF there.
    base = base.rstrip(". \t\r\n")
    if "." not in base:
        return ""
    return base.rsplit(".", 1)[1].strip().lower()


def _name_mismatch(filename: str, kind: str) -> bool:
    if kind == "empty":
        return False  # nothing to contradict the name
    promised = _EXTENSION_TABLE.get(_extension(filename))
    return promised is not None and kind not in promised


def _promises_accepted(filename: str) -> bool:
    promised = _EXTENSION_TABLE.get(_extension(filename), frozenset())
    return bool(promised & ACCEPTED_TYPES)


# --------------------------------------------------------------------------------------------------
# Romanian messages: the editable templates constatare_<code>.txt and nota_document.txt (intake/texts/templates)


def _reason(code: str, motiv: str, shown: str, **context: object) -> str:
    return texts.render(f"constatare_{code}", motiv=motiv, fisier=shown, **context)


def note(motiv: str, shown: str, **context: object) -> str:
    """A note on a document (nota_document.txt): "renamed", "name_mismatch", "cades", "encrypted", "p7m_content",
    "p7s_without_document"."""
    return texts.render("nota_document", motiv=motiv, fisier=shown, **context)


# How a format is named inside a sentence: "fișierul este un document PDF", "primit ca document PDF".
_WHAT_IT_IS: dict[str, tuple[str, str]] = {
    "pdf": ("un document PDF", "document PDF"),
    "jpeg": ("o imagine JPEG", "imagine JPEG"),
    "png": ("o imagine PNG", "imagine PNG"),
    "p7s": ("o semnătură electronică CAdES detașată (.p7s)", "semnătură electronică CAdES"),
    "p7m": ("un document semnat CAdES (.p7m)", "document semnat CAdES"),
}


def _promised_label(filename: str) -> str:
    promised = sorted(_EXTENSION_TABLE.get(_extension(filename), frozenset()))
    return FORMATS[promised[0]].label if promised else "alt format"


def _renamed_note(shown: str, filename: str, kind: str) -> str:
    actual, as_what = _WHAT_IT_IS[kind]
    return note(
        "renamed",
        shown,
        extensie=_extension(filename),
        format_promis=_promised_label(filename),
        ce_este=actual,
        primit_ca=as_what,
    )


def _disguised_reason(shown: str, filename: str, kind: str, office_short: str) -> str:
    return _reason(
        CODE_FORBIDDEN,
        "disguised",
        shown,
        format="" if kind == "unknown" else FORMATS[kind].label,
        extensie=_extension(filename),
        format_promis=_promised_label(filename),
        birou_scurt=office_short,
    )


def _forbidden_reason(shown: str, kind: str, office_short: str) -> str:
    if kind == "unknown":
        return _reason(CODE_FORBIDDEN, "unknown", shown, birou_scurt=office_short)
    return _reason(CODE_FORBIDDEN, "format", shown, format=FORMATS[kind].label, birou_scurt=office_short)


def _damaged_reason(shown: str, what: str) -> str:
    return _reason(CODE_CORRUPT, "damaged", shown, ce=what)


def _bomb_reason(shown: str, label: str, max_pixels: int, width: int | None = None, height: int | None = None) -> str:
    return _reason(
        CODE_CORRUPT,
        "too_many_pixels",
        shown,
        format=label,
        latime=width,
        inaltime=height,
        limita=_ro_decimal(max_pixels * 100),
        de=takes_de(max_pixels),
    )


def _oversized_reason(shown: str, size: int, limit: int) -> str:
    if limit >= 1024 * 1024:
        unit, factor = "MB", 1024 * 1024
    elif limit >= 1024:
        unit, factor = "KB", 1024
    else:
        unit, factor = "B", 1  # "octeți" in the template, with "de" where Romanian wants it ("100 de octeți")
    # Size rounded up and limit rounded down, so the message can never read "15 MB, over 15 MB".
    size_hundredths = -(-size * 100 // factor)
    limit_hundredths = limit * 100 // factor
    return _reason(
        CODE_OVERSIZED,
        "file_size",
        shown,
        marime=_ro_decimal(size_hundredths),
        limita=_ro_decimal(limit_hundredths),
        unitate=unit,
        de_marime=unit == "B" and takes_de(size),
        de_limita=unit == "B" and takes_de(limit),
    )


def _ro_decimal(hundredths: int) -> str:
    """Romanian number notation: "1.234,5" (dot groups thousands, comma marks decimals)."""
    whole, frac = divmod(hundredths, 100)
    text = f"{whole:,}".replace(",", ".")
    return f"{text},{frac:02d}".rstrip("0").rstrip(",") if frac else text


def takes_de(n: int) -> bool:
    """Romanian inserts "de" after numbers whose last two digits are 00 or 20-99 ("20 de pixeli", "101 pixeli")."""
    return n >= 20 and (n % 100 == 0 or n % 100 >= 20)
