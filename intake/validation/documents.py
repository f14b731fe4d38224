"""What each attachment is: the application, the declaration, an ID copy, a diploma, ...

The law treats two documents apart: the unemployment-benefit application (Anexa 3) and the medical-
restrictions declaration (Anexa 1^1) must carry a signature based on a qualified certificate; everything
else is a copy certified by the applicant (procedure §2.2, §7 item 1). So the kind of every attachment is
recorded (contract.md kinds), from the strongest evidence available:

1. a title of the form, as a heading: in capitals or alone on its line, at the start of a line. Body text
   mentions other documents ("b) declarație pe propria răspundere, sub sancțiunile ..." inside the
   application), so a phrase in running text is no title;
2. body keywords and AcroForm field names (weak: at least two points are needed);
3. the file name (images have no text: no OCR here).

All matching is on the folded form of `intake.validation.text` (diacritics, ş/ș, case, line breaks).
Nothing here raises: a PDF that cannot be read simply has no text.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

from pypdf import PasswordType, PdfReader
from pypdf.generic import ArrayObject, ByteStringObject, DictionaryObject, IndirectObject, NameObject

from intake.validation.text import Folded, fold, normalize, phrase_pattern

logging.getLogger("pypdf").setLevel(logging.ERROR)
log = logging.getLogger(__name__)

CONFIDENCE_TITLE = "title"
CONFIDENCE_KEYWORDS = "keywords"
CONFIDENCE_FILENAME = "filename"
CONFIDENCE_NONE = "none"

OTHER = "other"


@dataclass(frozen=True)
class DocumentKind:
    name: str  # contract.md `document.kind`
    description: str  # English, for evidence strings
    titles: tuple[str, ...] = ()  # headings of the form (strong)
    keywords: tuple[str, ...] = ()  # phrases of the body (weak: one point each)
    filename_hints: tuple[str, ...] = ()  # words of the file name, folded; short ones must match a whole word
    field_hints: tuple[str, ...] = ()  # words of AcroForm field names (two points each)
    # A PDF holding several forms is filed under the kind with the stricter rule: the application, then the
    # declaration (procedure §7 item 1: when both rules could apply, the stricter one does).
    priority: int = 0


DOCUMENT_KINDS: tuple[DocumentKind, ...] = (
    DocumentKind(
        name="application",
        description="unemployment benefit application (Anexa 3)",
        titles=(
            "cerere pentru acordarea indemnizației de șomaj",
            "cerere privind acordarea indemnizației de șomaj",
            "cerere de acordare a indemnizației de șomaj",
        ),
        keywords=(
            "vă rog să aprobați plata indemnizației de șomaj",
            "acte prezentate în vederea acordării indemnizației de șomaj",
            "contract de asigurare pentru șomaj",
            "informații privind indemnizarea",
            "categoria de șomer indemnizat",
            "stagiu de cotizare",
            "acordarea indemnizației de șomaj",
            "numele și prenumele",
        ),
        filename_hints=("cerere", "cerere somaj", "cerere indemnizatie", "indemnizatie", "anexa 3", "anexa nr 3"),
        field_hints=("indemnizatie", "contract asigurare", "acte prezentate", "ajofm"),
        priority=2,
    ),
    DocumentKind(
        name="declaration",
        description="declaration on medical restrictions (Anexa 1^1)",
        titles=(
            "declarație pe propria răspundere",
            "declarație pe proprie răspundere",
            "declarație pe propria răspundere privind restricțiile medicale",
        ),
        keywords=(
            "declarație pe propria răspundere",
            "nu am restricții medicale",
            "am restricții medicale",
            "mă împiedică să prestez",
            "declar prin prezenta",
            "declar pe propria răspundere",
            "dau această declarație și o susțin",
            "art. 326",
            "falsul în declarații",
        ),
        filename_hints=(
            "declaratie",
            "declaratia",
            "propria raspundere",
            "proprie raspundere",
            "restrictii medicale",
            "anexa 1 1",
            "anexa nr 1 1",
            "anexa 11",
        ),
        field_hints=("restrictii", "restrictii medicale", "declarant"),
        priority=1,
    ),
    DocumentKind(
        name="registration_form",
        description="job seeker registration record (fișa, Anexa 1)",
        titles=(
            "fișa de înregistrare",
            "fișă de înregistrare",
            "fișa persoanei în căutarea unui loc de muncă",
            "fișă persoană în căutarea unui loc de muncă",
            "fișa de înregistrare a persoanei în căutarea unui loc de muncă",
            "fișa de evidență a persoanei în căutarea unui loc de muncă",
        ),
        keywords=(
            "datele de identificare a persoanei înregistrate",
            "adresa persoanei înregistrate",
            "date cu caracter social ale persoanei înregistrate",
            "opțiunile persoanei înregistrate",
            "prezenta fișă este conformă cu declarațiile și documentele prezentate",
            "semnătura persoanei înregistrate",
            "persoană în căutarea unui loc de muncă",
            "experiența profesională dobândită prin muncă",
        ),
        filename_hints=("fisa", "fisa inregistrare", "fisa de inregistrare", "inregistrare", "anexa 1", "anexa nr 1"),
        field_hints=("cod cor", "caen", "persoana inregistrata"),
    ),
    DocumentKind(
        name="id_document",
        description="identity document",
        titles=(
            "carte de identitate",
            "carte electronică de identitate",
            "carte de identitate provizorie",
            "buletin de identitate",
            "romania identity card",
            "carte d'identité",
            "pașaport",
            "passport",
            "permis de ședere",
        ),
        keywords=("idrou", "spclep", "valabilitate", "cod numeric personal", "loc naștere", "domiciliu", "seria"),
        filename_hints=(
            "ci",
            "bi",
            "id",
            "cie",
            "buletin",
            "carte identitate",
            "carte de identitate",
            "act identitate",
            "act de identitate",
            "identitate",
            "pasaport",
            "passport",
            "permis de sedere",
        ),
    ),
    DocumentKind(
        name="diploma",
        description="education or qualification certificate",
        titles=(
            "diplomă",
            "diplomă de bacalaureat",
            "diplomă de licență",
            "diplomă de master",
            "diplomă de absolvire",
            "certificat de absolvire",
            "certificat de calificare",
            "certificat de calificare profesională",
            "atestat",
            "foaie matricolă",
            "suplimentul la diplomă",
        ),
        keywords=("a absolvit", "media generală", "sesiunea", "specializarea", "instituția de învățământ", "promoția"),
        filename_hints=(
            "diploma",
            "diplome",
            "atestat",
            "certificat absolvire",
            "certificat de absolvire",
            "certificat calificare",
            "foaie matricola",
            "foaia matricola",
            "bacalaureat",
            "licenta",
            "acte studii",
            "studii",
        ),
    ),
    DocumentKind(
        name="cv",
        description="curriculum vitae",
        titles=("curriculum vitae", "europass"),
        keywords=(
            "informații personale",
            "experiența profesională",
            "educație și formare",
            "competențe personale",
            "limba maternă",
            "limbi străine",
            "competențe digitale",
            "permis de conducere",
        ),
        filename_hints=("cv", "curriculum", "europass", "resume"),
        field_hints=("europass",),
    ),
    DocumentKind(
        name="employment_record",
        description="employment record (carnet de muncă / Revisal)",
        titles=(
            "carnet de muncă",
            "carnetul de muncă",
            "extras revisal",
            "extras din registrul general de evidență a salariaților",
            "registrul general de evidență a salariaților",
        ),
        keywords=(
            "revisal",
            "contract individual de muncă",
            "data angajării",
            "data încetării",
            "temei legal încetare",
            "registrul general de evidență a salariaților",
        ),
        filename_hints=("carnet", "carnet munca", "carnet de munca", "revisal", "extras revisal", "registru salariati"),
    ),
    DocumentKind(
        name="employer_certificate",
        description="employer certificate (adeverință, Anexa 26 to the Norms)",
        titles=("adeverință",),
        keywords=(
            "angajator",
            "stagiu de cotizare",
            "contribuția de asigurări pentru șomaj",
            "a fost angajat",
            "a fost angajată",
            "contract individual de muncă",
            "art. 18",
            "anexa nr. 26",
        ),
        filename_hints=("adeverinta", "adeverinta angajator", "adeverinta salariat", "anexa 26"),
    ),
    DocumentKind(
        name=OTHER,
        description="other document",
        # Certificates that are not the employer's: the more specific title wins over "adeverință".
        titles=("adeverință de venit", "adeverință medicală", "certificat medical"),
        filename_hints=("adeverinta venit", "adeverinta de venit", "certificat medical"),
    ),
)

KINDS_BY_NAME: dict[str, DocumentKind] = {kind.name: kind for kind in DOCUMENT_KINDS}

MIN_KEYWORD_POINTS = 2
FIELD_HINT_POINTS = 2


@dataclass(frozen=True)
class Classification:
    kind: str
    confidence: str  # "title" | "keywords" | "filename" | "none"
    evidence: str  # short, English
    also: tuple[str, ...] = ()  # other kinds whose title is in the same file (a combined PDF)


@dataclass(frozen=True)
class _TitleHit:
    kind: DocumentKind
    phrase: str
    start: int
    length: int
    original: str


# --------------------------------------------------------------------------------------------------
# Classification


def classify(filename: str, text: str, fields: Mapping[str, str]) -> Classification:
    try:
        return _classify(filename or "", text or "", fields or {})
    except Exception:  # a bug here must not stop the intake of a submission
        log.exception("document classification failed")
        return Classification(OTHER, CONFIDENCE_NONE, "classification failed")


def _classify(filename: str, text: str, fields: Mapping[str, str]) -> Classification:
    text = text[:MAX_TEXT_CHARS]
    folded = fold(text)
    by_title = _classify_by_title(text, folded)
    if by_title:
        return by_title
    by_keywords = _classify_by_keywords(folded, fields)
    if by_keywords:
        return by_keywords
    by_name = _classify_by_filename(filename)
    if by_name:
        return by_name
    return Classification(OTHER, CONFIDENCE_NONE, "no title, keywords or file name hint")


def _classify_by_title(text: str, folded: Folded) -> Classification | None:
    hits = [hit for kind in DOCUMENT_KINDS for hit in _title_hits(kind, text, folded)]
    if not hits:
        return None
    # Strictest rule first, then the first title in the file, then the most specific (longest) title there.
    hits.sort(key=lambda hit: (-hit.kind.priority, hit.start, -hit.length))
    best = hits[0]
    also = tuple(dict.fromkeys(hit.kind.name for hit in hits if hit.kind.name not in (best.kind.name, OTHER)))
    evidence = f"title '{_one_line(best.original)}' ({best.kind.description})"
    if also:
        evidence += "; also titles of: " + ", ".join(also) + " (combined PDF)"
    return Classification(best.kind.name, CONFIDENCE_TITLE, evidence, also)


def _title_hits(kind: DocumentKind, text: str, folded: Folded) -> list[_TitleHit]:
    hits = []
    for phrase in kind.titles:
        for start, end in folded.find(phrase):
            if _is_heading(text, start, end):
                hits.append(_TitleHit(kind, phrase, start, end - start, text[start:end]))
    return hits


_ANNEX_PREFIX = re.compile(r"anexa\b.{0,25}")


def _is_heading(text: str, start: int, end: int) -> bool:
    """A title starts a line, with a capital, and is either in capitals or alone on its line(s).

    The capital matters: a wrapped paragraph can leave "adeverința de venit" alone at the start of a line.
    """
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].strip()
    if before and not _ANNEX_PREFIX.fullmatch(normalize(before)):
        return False
    first_word = re.match(r"[^\W\d_]+", text[start:end])
    if not first_word or not first_word.group()[0].isupper():
        return False
    if len(first_word.group()) > 1 and first_word.group().isupper():
        return True
    line_end = text.find("\n", end)
    rest = text[end : line_end if line_end >= 0 else len(text)]
    return not rest.strip(" \t.:;,-–—*_")


def _classify_by_keywords(folded: Folded, fields: Mapping[str, str]) -> Classification | None:
    haystack = folded.text
    values = " ".join(str(value) for value in fields.values() if value)
    if values:
        haystack += " " + normalize(values[:MAX_TEXT_CHARS])
    field_words = [_filename_words(name) for name in fields]
    scored = []
    for kind in DOCUMENT_KINDS:
        words = [kw for kw in kind.keywords if phrase_pattern(kw).search(haystack)]
        field_hits = [hint for hint in kind.field_hints if any(_hint_pattern(hint).search(w) for w in field_words)]
        points = len(words) + FIELD_HINT_POINTS * len(field_hits)
        if points >= MIN_KEYWORD_POINTS:
            scored.append((points, kind.priority, kind, words, field_hits))
    if not scored:
        return None
    # Ties go to the stricter kind; `sorted` is stable, so then to the earlier row of the table.
    points, _, kind, words, field_hits = sorted(scored, key=lambda row: (-row[0], -row[1]))[0]
    parts = []
    if words:
        parts.append("keywords " + ", ".join(f"'{word}'" for word in words[:4]))
    if field_hits:
        parts.append("form fields like " + ", ".join(f"'{hint}'" for hint in field_hits[:3]))
    return Classification(kind.name, CONFIDENCE_KEYWORDS, f"{'; '.join(parts)} ({kind.description})")


# --------------------------------------------------------------------------------------------------
# File names

_EXTENSIONS = frozenset({".pdf", ".jpg", ".jpeg", ".png", ".p7m", ".p7s", ".tif", ".tiff", ".heic", ".gif"})


def _filename_words(name: str) -> str:
    """`CI_fata-2.JPG` → `ci fata 2`; `anexa3` → `anexa 3`; `Declarație.pdf.p7m` → `declaratie`."""
    path = PurePath(name.replace("\\", "/")).name
    while PurePath(path).suffix.lower() in _EXTENSIONS:
        path = path[: -len(PurePath(path).suffix)]
    words = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", normalize(path))
    return " ".join(re.split(r"[^a-z0-9]+", words)).strip()


@lru_cache(maxsize=512)
def _hint_pattern(hint: str) -> re.Pattern[str]:
    """A hint starts a word; short hints and hints ending in a digit ("ci", "anexa 1") must end it too."""
    words = normalize(hint).split()
    body = " ".join(re.escape(word) for word in words)
    whole_word = len(hint) < 4 or hint[-1].isdigit()
    return re.compile(r"(?<![a-z0-9])" + body + (r"(?![a-z0-9])" if whole_word else ""))


def _classify_by_filename(filename: str) -> Classification | None:
    words = _filename_words(filename)
    if not words:
        return None
    matches = [
        (len(hint), -match.start(), kind, hint)
        for kind in DOCUMENT_KINDS
        for hint in kind.filename_hints
        if (match := _hint_pattern(hint).search(words))
    ]
    if not matches:
        return None
    # The longest hint is the most specific ("anexa 1 1" over "anexa 1"); then the earliest in the name.
    _, _, kind, hint = max(matches, key=lambda row: (row[0], row[1]))
    return Classification(kind.name, CONFIDENCE_FILENAME, f"file name contains '{hint}' ({kind.description})")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:80]


# --------------------------------------------------------------------------------------------------
# Reading PDFs: bounded, never raising

MAX_PDF_BYTES = 40 * 1024 * 1024
MAX_PAGE_CONTENT_BYTES = 4 * 1024 * 1024  # a decoded content stream larger than this is a drawing, not a form
MAX_TEXT_CHARS = 100_000  # three pages of a form are ~10 000 characters
MAX_FIELDS = 500
MAX_FIELD_DEPTH = 20
MAX_FIELD_VALUE_CHARS = 2_000
TEXT_TIME_BUDGET_SECONDS = 5.0


def _open_pdf(data: bytes) -> PdfReader | None:
    if not data or len(data) > MAX_PDF_BYTES:
        return None
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        # Many "protected" PDFs only have an owner password: the empty user password opens them.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return None
        return reader
    except Exception as exc:  # pypdf raises many types on broken files
        log.debug("PDF not readable: %s", type(exc).__name__)
        return None


def extract_pdf_text(data: bytes, max_pages: int = 3) -> str:
    """Text of the first `max_pages` pages, pages separated by a line break; "" when unreadable."""
    reader = _open_pdf(data)
    if reader is None:
        return ""
    deadline = time.monotonic() + TEXT_TIME_BUDGET_SECONDS
    parts: list[str] = []
    try:
        count = min(len(reader.pages), max(0, max_pages))
    except Exception:
        return ""
    for index in range(count):
        if time.monotonic() > deadline or sum(map(len, parts)) >= MAX_TEXT_CHARS:
            break
        parts.append(_page_text(reader, index))
    return "\n".join(parts)[:MAX_TEXT_CHARS]


def _page_text(reader: PdfReader, index: int) -> str:
    try:
        page = reader.pages[index]
        contents = page.get_contents()
        if contents is None:
            return ""
        if len(contents.get_data()) > MAX_PAGE_CONTENT_BYTES:
            log.info("page %d: content stream too large for text extraction", index + 1)
            return ""
        return page.extract_text() or ""
    except Exception as exc:
        log.debug("page %d: no text (%s)", index + 1, type(exc).__name__)
        return ""


def pdf_form_fields(data: bytes) -> dict[str, str]:
    """AcroForm fields (fully qualified name → value as text; "" when empty); {} when none or unreadable."""
    reader = _open_pdf(data)
    if reader is None:
        return {}
    result: dict[str, str] = {}
    try:
        form = _get(reader.trailer["/Root"], "/AcroForm")
        roots = _get(form, "/Fields")
        if isinstance(roots, ArrayObject):
            _walk_fields(roots, "", None, result, seen=set(), depth=0)
    except Exception as exc:
        log.debug("form fields not readable: %s", type(exc).__name__)
    return result


def _walk_fields(
    refs: ArrayObject, parent: str, inherited_type: object, out: dict[str, str], seen: set[int], depth: int
) -> None:
    """Our own walk rather than pypdf's get_fields: that one parses every signature value (/Contents can be
    megabytes of hex, seconds of parsing), and a field's value here only needs to be text."""
    for ref in refs:
        if len(out) >= MAX_FIELDS or depth > MAX_FIELD_DEPTH:
            return
        if isinstance(ref, IndirectObject):
            if ref.idnum in seen:
                continue
            seen.add(ref.idnum)
        field = ref.get_object()
        if not isinstance(field, DictionaryObject):
            continue
        name = str(_get(field, "/T") or "")
        qualified = f"{parent}.{name}" if parent and name else name or parent
        field_type = _get(field, "/FT") or inherited_type
        child_fields = [kid for kid in _as_array(_get(field, "/Kids")) if _is_new_field(kid, seen)]
        if child_fields:
            _walk_fields(ArrayObject(child_fields), qualified, field_type, out, seen, depth + 1)
        elif qualified and qualified not in out:
            raw = field.raw_get("/V") if "/V" in field else None
            value = "" if field_type == "/Sig" else _field_value(raw)
            out[qualified] = value[:MAX_FIELD_VALUE_CHARS]


def _as_array(value: object) -> list[object]:
    return list(value) if isinstance(value, ArrayObject) else []


def _is_new_field(kid: object, seen: set[int]) -> bool:
    """A kid with a name is a field (without one it is only a widget); one already visited is a loop."""
    if isinstance(kid, IndirectObject) and kid.idnum in seen:
        return False
    return _get(kid, "/T") is not None


def _get(container: object, key: str) -> object:
    """`container[key]` resolved, or None (pypdf's `get` may return an unresolved reference)."""
    if isinstance(container, IndirectObject):
        container = container.get_object()
    if not isinstance(container, DictionaryObject) or key not in container:
        return None
    return container[key]


def _field_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, NameObject):  # check boxes and radio buttons: /Yes, /Off, /Da
        return str(value)[1:]
    if isinstance(value, ByteStringObject):
        return bytes(value).decode("latin-1")
    if isinstance(value, ArrayObject):  # multi-select lists
        return ", ".join(_field_value(item) for item in value)
    if isinstance(value, IndirectObject):
        return _field_value(value.get_object())
    if isinstance(value, (str, int, float)):  # TextStringObject, NumberObject, FloatObject
        return str(value).strip()
    return ""  # a signature field's value is the signature dictionary: not text, and large
