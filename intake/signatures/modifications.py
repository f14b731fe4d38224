"""What changed in a PDF after a signature, and whether that is allowed.

For the application and the declaration nobody but the applicant has any business changing the document after
the applicant signed it. After a signature we therefore accept only:
- new signatures (a new signature field, its value, an invisible widget or a visible one that covers nothing of
  the signed content),
- document time-stamps,
- validation data added to the DSS/VRI (PAdES LT/LTA).
Anything else — a changed form-field value (the "shadow attack: replace"), a new, moved or changed annotation, a
visible signature placed over the signed text, changed page content, pages added or removed, validation data
removed from the DSS — makes the signature at most indeterminate (`modified_after_signing`), with what changed.

pyHanko's default difference analysis accepts field values changed after signing (FORM_FILLING) and annotations
(ANNOTATIONS): right for forms meant to be filled by several people, wrong here. Two checks run:
1. `STRICT_DIFF_POLICY`: pyHanko's own rules without the generic form-filling rule, revision by revision (it sees
   every changed object, including ones a later revision hides again);
2. `describe_changes`: a structural comparison of the signed revision with the last one, which names the change
   in words staff understand and catches what pyHanko's rules let through (signature widgets over the content,
   removed validation data).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# pyHanko modification levels that the strict policy still allows (FORM_FILLING: only signature fields there).
ALLOWED_LEVELS = frozenset({"NONE", "LTA_UPDATES", "FORM_FILLING"})
MAX_REVISIONS = 200  # DSS history walked after a signature (LTA files add a revision per time-stamp)
MAX_PAGES = 500  # structural comparison: beyond this the file is not a form; pyHanko's check still runs
MAX_FIELDS = 2000
MAX_ANNOTATIONS_PER_PAGE = 500
# Annotation flags (PDF 32000-1 12.5.3): Hidden (bit 2), NoView (bit 6).
HIDDEN_FLAGS = 0b10 | 0b100000


def strict_diff_policy() -> Any:
    """pyHanko's DEFAULT_DIFF_POLICY minus `GenericFieldModificationRule`: after a signature only signature fields
    may be created and filled; global rules (catalog, DSS, metadata, xref/object streams) as in the default."""
    from pyhanko.sign.diff_analysis import (
        CatalogModificationRule,
        DocInfoRule,
        DSSCompareRule,
        FormUpdatingRule,
        MetadataUpdateRule,
        ModificationLevel,
        ObjectStreamRule,
        SigFieldCreationRule,
        SigFieldModificationRule,
        StandardDiffPolicy,
        XrefStreamRule,
    )

    lta = ModificationLevel.LTA_UPDATES
    return StandardDiffPolicy(
        global_rules=[
            CatalogModificationRule(),
            DocInfoRule().as_qualified(lta),
            XrefStreamRule().as_qualified(lta),
            ObjectStreamRule().as_qualified(lta),
            DSSCompareRule().as_qualified(lta),
            MetadataUpdateRule().as_qualified(lta),
        ],
        form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(), SigFieldModificationRule()]),
    )


class GuardedDiffPolicy:
    """The strict policy, with its crashes (KeyError on some LT/LTA files) recorded instead of raised: the
    signature is then judged as modified in an unknown way (at most indeterminate)."""

    def __init__(self) -> None:
        self._policy = strict_diff_policy()
        self.error: Exception | None = None
        self.suspicion: str | None = None

    def review_file(self, reader: Any, base_revision: Any, field_mdp_spec: Any = None, doc_mdp: Any = None) -> Any:
        from pyhanko.sign.diff_analysis import SuspiciousModification

        try:
            result = self._policy.review_file(reader, base_revision, field_mdp_spec=field_mdp_spec, doc_mdp=doc_mdp)
        except SuspiciousModification as exc:
            result = exc
        except Exception as exc:
            self.error = exc
            return SuspiciousModification(f"difference analysis failed: {type(exc).__name__}")
        if isinstance(result, SuspiciousModification):
            self.suspicion = " ".join(str(result).split())[:300]
        return result


# ------------------------------------------------------------------------------------------------ structure
@dataclass
class _Annotation:
    page: int
    ref: Any  # the indirect reference (None for direct annotations)
    subtype: str
    rect: tuple[float, float, float, float] | None
    visible: bool
    appearance: str | None  # digest of the normal appearance, to see a changed look
    signature_field: str | None  # the field name when this is a signature field's widget


@dataclass
class _Snapshot:
    pages: list[str]  # digest of each page's content streams
    annotations: list[_Annotation]
    fields: dict[str, tuple[str, str | None]]  # fully qualified name -> (field type, digest of the value)


class ChangeAnalyzer:
    """One per PDF: every signature of a file is compared with the same last revision, and LTA files carry dozens
    of revisions, so each revision's structure is read once."""

    def __init__(self, reader: Any, data: bytes | None = None) -> None:
        self.reader = reader
        self.data = data
        self.last = reader.xrefs.total_revisions - 1
        self._snapshots: dict[int, _Snapshot] = {}
        self._dss: dict[int, set[str] | None] = {}
        self._boxes: dict[int, list[tuple[float, float, float, float]]] = {}

    def describe(self, signed_revision: int) -> list[str]:
        """What changed between `signed_revision` and the last revision that a signature may not allow, in
        Romanian (shown to staff). Empty when only new signatures, time-stamps and added validation data follow."""
        if signed_revision >= self.last:
            return []
        before, after = self._snapshot(signed_revision), self._snapshot(self.last)
        changes: list[str] = []
        changes += _page_changes(before, after)
        changes += _field_changes(before, after)
        changes += _annotation_changes(before, after, self.text_boxes)
        if self._dss_removed(signed_revision):
            changes.append("date de validare (certificate, răspunsuri OCSP, CRL) au fost eliminate din DSS")
        return list(dict.fromkeys(changes))

    def text_boxes(self, page_number: int) -> list[tuple[float, float, float, float]]:
        if page_number not in self._boxes:
            self._boxes[page_number] = _text_boxes(self.data, page_number)
        return self._boxes[page_number]

    def _snapshot(self, revision: int) -> _Snapshot:
        if revision not in self._snapshots:
            self._snapshots[revision] = _snapshot(self.reader.get_historical_resolver(revision))
        return self._snapshots[revision]

    def _dss_at(self, revision: int) -> set[str] | None:
        if revision not in self._dss:
            try:
                self._dss[revision] = _dss_items(self.reader.get_historical_resolver(revision).root.get("/DSS"))
            except Exception:  # a revision without a readable catalog says nothing about the DSS
                self._dss[revision] = None
        return self._dss[revision]

    def _dss_removed(self, signed_revision: int) -> bool:
        """Validation data may only be added after a signature (PAdES LT/LTA): anything present in one revision's
        DSS and gone in the next was removed, even if the signed revision itself had no DSS yet."""
        previous: set[str] | None = None
        for revision in range(signed_revision, min(self.last, signed_revision + MAX_REVISIONS) + 1):
            current = self._dss_at(revision)
            if current is None:
                continue
            if previous is not None and previous - current:
                return True
            previous = current
        return False


def describe_changes(reader: Any, signed_revision: int, data: bytes | None = None) -> list[str]:
    """`ChangeAnalyzer(reader, data).describe(signed_revision)`, for one signature."""
    return ChangeAnalyzer(reader, data).describe(signed_revision)


def _snapshot(resolver: Any) -> _Snapshot:
    root = resolver.root
    pages = list(_walk_pages(root.get("/Pages")))
    fields = _fields(root.get("/AcroForm"))
    annotations: list[_Annotation] = []
    for number, page in enumerate(pages, start=1):
        annotations.extend(_annotations(number, page))
    return _Snapshot([_content_digest(page) for page in pages], annotations, fields)


def _obj(value: Any) -> Any:
    return value.get_object() if hasattr(value, "get_object") else value


def _walk_pages(node: Any, depth: int = 0, seen: set[int] | None = None) -> Iterator[Any]:
    seen = seen if seen is not None else set()
    node = _obj(node)
    if node is None or depth > 32 or id(node) in seen or len(seen) > MAX_PAGES:
        return
    seen.add(id(node))
    if node.get("/Type") == "/Pages" or "/Kids" in node:
        for kid in _obj(node.get("/Kids")) or ():
            yield from _walk_pages(kid, depth + 1, seen)
    else:
        yield node


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _content_digest(page: Any) -> str:
    contents = _obj(page.get("/Contents"))
    streams = contents if isinstance(contents, list) else [contents]
    h = hashlib.sha256()
    for stream in streams:
        stream = _obj(stream)
        h.update(getattr(stream, "encoded_data", b"") or b"")
    return h.hexdigest()[:32]


def _stream_digest(value: Any) -> str | None:
    value = _obj(value)
    if value is None:
        return None
    if isinstance(value, dict) and "/N" in value:  # an appearance dictionary: its normal appearance
        return _stream_digest(value["/N"])
    data = getattr(value, "encoded_data", None)
    return _digest(data) if data is not None else _digest(repr(value).encode("utf-8", "replace"))


def _fields(acroform: Any) -> dict[str, tuple[str, str | None]]:
    acroform = _obj(acroform)
    found: dict[str, tuple[str, str | None]] = {}
    if not acroform:
        return found

    def walk(field_ref: Any, prefix: str, inherited_type: str | None, depth: int) -> None:
        field = _obj(field_ref)
        if not isinstance(field, dict) or depth > 32 or len(found) > MAX_FIELDS:
            return
        name = str(field.get("/T", "")) if field.get("/T") is not None else ""
        full = f"{prefix}.{name}" if prefix and name else (name or prefix)
        field_type = str(field.get("/FT") or inherited_type or "")
        kids = _obj(field.get("/Kids"))
        if kids and any("/T" in _obj(kid) for kid in kids if isinstance(_obj(kid), dict)):
            for kid in kids:
                walk(kid, full, field_type, depth + 1)
            return
        value = field.get("/V")
        found[full] = (field_type, _value_digest(value) if value is not None else None)

    for field_ref in _obj(acroform.get("/Fields")) or ():
        walk(field_ref, "", None, 0)
    return found


def _value_digest(value: Any) -> str:
    value = _obj(value)
    data = getattr(value, "encoded_data", None)
    if data is not None:
        return _digest(data)
    if isinstance(value, dict) and "/Contents" in value:  # a signature dictionary: its CMS identifies it
        return _digest(bytes(_obj(value["/Contents"]) or b""))
    raw = getattr(value, "original_bytes", None)
    return _digest(raw if isinstance(raw, bytes) else repr(value).encode("utf-8", "replace"))


def _raw_items(array: Any, limit: int) -> list[Any]:
    """The entries of a PDF array as written (indirect references kept: they identify annotations)."""
    array = _obj(array)
    if array is None or not hasattr(array, "raw_get"):
        return []
    return [array.raw_get(i) for i in range(min(len(array), limit))]


def _annotations(page_number: int, page: Any) -> list[_Annotation]:
    out = []
    for ref in _raw_items(page.get("/Annots"), MAX_ANNOTATIONS_PER_PAGE):
        annot = _obj(ref)
        if not isinstance(annot, dict):
            continue
        flags = int(annot.get("/F", 0) or 0)
        rect = _rect(annot.get("/Rect"))
        visible = not flags & HIDDEN_FLAGS and rect is not None and (rect[2] - rect[0]) > 0 and (rect[3] - rect[1]) > 0
        out.append(
            _Annotation(
                page=page_number,
                ref=getattr(ref, "reference", None),
                subtype=str(annot.get("/Subtype") or "?"),
                rect=rect,
                visible=visible,
                appearance=_stream_digest(annot.get("/AP")),
                signature_field=_signature_field_name(annot),
            )
        )
    return out


def _rect(value: Any) -> tuple[float, float, float, float] | None:
    try:
        x1, y1, x2, y2 = (float(_obj(v)) for v in _obj(value))
    except Exception:
        return None
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _signature_field_name(annot: Any) -> str | None:
    """A widget is its field (merged dictionary) or a kid of it (/Parent)."""
    if annot.get("/Subtype") != "/Widget":
        return None
    field = annot
    for _ in range(8):
        if field.get("/FT") == "/Sig":
            return str(field.get("/T") or "")
        parent = field.get("/Parent")
        if parent is None:
            return None
        field = _obj(parent)
    return None


def _dss_items(dss: Any) -> set[str]:
    dss = _obj(dss)
    items: set[str] = set()
    if not isinstance(dss, dict):
        return items
    for key in ("/Certs", "/OCSPs", "/CRLs"):
        for ref in _obj(dss.get(key)) or ():
            data = getattr(_obj(ref), "encoded_data", None)
            if data is not None:
                items.add(f"{key}:{_digest(data)}")
    vri = _obj(dss.get("/VRI"))
    if isinstance(vri, dict):
        items.update(f"/VRI:{key}" for key in vri)
    return items


# ------------------------------------------------------------------------------------------------ comparisons
def _page_changes(before: _Snapshot, after: _Snapshot) -> list[str]:
    changes = []
    if len(before.pages) != len(after.pages):
        changes.append(f"numărul de pagini s-a schimbat ({len(before.pages)} → {len(after.pages)})")
    for number, (old, new) in enumerate(zip(before.pages, after.pages, strict=False), start=1):
        if old != new:
            changes.append(f"conținutul paginii {number} a fost modificat")
    return changes


def _field_changes(before: _Snapshot, after: _Snapshot) -> list[str]:
    changes = []
    for name, (field_type, value) in before.fields.items():
        if name not in after.fields:
            changes.append(f"câmpul „{name}” a fost eliminat")
            continue
        new_value = after.fields[name][1]
        if field_type == "/Sig":
            if value is not None and new_value != value:
                changes.append(f"semnătura din câmpul „{name}” a fost înlocuită sau eliminată")
        elif new_value != value:
            changes.append(f"valoarea câmpului „{name}” a fost modificată")
    for name, (field_type, _) in after.fields.items():
        if name not in before.fields and field_type != "/Sig":
            changes.append(f"a fost adăugat câmpul „{name}”")
    return changes


Boxes = Callable[[int], list[tuple[float, float, float, float]]]


def _annotation_changes(before: _Snapshot, after: _Snapshot, text_boxes: Boxes) -> list[str]:
    changes: list[str] = []
    old_by_ref = {(a.page, _ref_key(a.ref)): a for a in before.annotations if a.ref is not None}
    unsigned_before = {name for name, (kind, value) in before.fields.items() if kind == "/Sig" and value is None}
    for annot in after.annotations:
        old = old_by_ref.get((annot.page, _ref_key(annot.ref))) if annot.ref is not None else None
        if old is not None:
            if annot.signature_field is not None and annot.signature_field in unsigned_before:
                continue  # an empty signature field signed later: its widget gets its appearance then
            if old.rect != annot.rect or old.visible != annot.visible:
                changes.append(f"o adnotare ({_kind(annot)}) a fost mutată sau ascunsă pe pagina {annot.page}")
            elif old.appearance != annot.appearance:
                changes.append(f"aspectul unei adnotări ({_kind(annot)}) s-a schimbat pe pagina {annot.page}")
            continue
        if not annot.visible:
            continue  # an invisible widget of a new signature, or an annotation nobody sees
        if annot.signature_field is None:
            changes.append(f"a fost adăugată o adnotare ({_kind(annot)}) pe pagina {annot.page}")
        elif _covers_content(annot, before, text_boxes):
            changes.append(f"o semnătură vizibilă a fost așezată peste conținutul semnat, pe pagina {annot.page}")
    gone = {(a.page, _ref_key(a.ref)) for a in before.annotations if a.ref is not None} - {
        (a.page, _ref_key(a.ref)) for a in after.annotations if a.ref is not None
    }
    for page, _ in sorted(gone, key=lambda item: item[0]):
        changes.append(f"o adnotare a fost eliminată de pe pagina {page}")
    return changes


def _ref_key(ref: Any) -> tuple[int, int] | None:
    if ref is None:
        return None
    return (int(getattr(ref, "idnum", -1)), int(getattr(ref, "generation", 0)))


def _kind(annot: _Annotation) -> str:
    return annot.subtype.lstrip("/")


def _covers_content(annot: _Annotation, before: _Snapshot, text_boxes: Boxes) -> bool:
    """A new visible signature widget over an existing annotation or over the page's text."""
    assert annot.rect is not None
    for old in before.annotations:
        if old.page == annot.page and old.visible and old.rect and _overlap(annot.rect, old.rect):
            return True
    return any(_overlap(annot.rect, box) for box in text_boxes(annot.page))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1


def _text_boxes(data: bytes | None, page_number: int) -> list[tuple[float, float, float, float]]:
    """Approximate boxes of the text drawn on a page (position from the text and current matrices, width from the
    character count): enough to see a stamp laid over a paragraph. Unreadable text: no boxes."""
    if not data:
        return []
    boxes: list[tuple[float, float, float, float]] = []
    try:
        from pypdf import PdfReader

        from intake.validation import pdf_budget

        with pdf_budget.limits():  # a stamp's page can be a decompression bomb like any other (issue 10)
            page = PdfReader(io.BytesIO(data), strict=False).pages[page_number - 1]
            pdf_budget.Budget().precheck_text(page)
            _visit_text(page, boxes)
    except Exception as exc:  # text we cannot read (or too large to read) covers nothing we can prove
        log.debug("no text boxes for page %s: %s", page_number, type(exc).__name__)
    return boxes


def _visit_text(page: Any, boxes: list[tuple[float, float, float, float]]) -> None:
    def visit(text: str, cm: Any, tm: Any, _font: Any, size: Any) -> None:
        if not text.strip() or len(boxes) > 20_000:
            return
        scale = abs(float(tm[3]) * float(cm[3])) or 1.0
        height = float(size or 10) * scale
        x = float(tm[4]) * float(cm[0]) + float(tm[5]) * float(cm[2]) + float(cm[4])
        y = float(tm[4]) * float(cm[1]) + float(tm[5]) * float(cm[3]) + float(cm[5])
        boxes.append((x, y - 0.25 * height, x + 0.5 * height * len(text.rstrip()), y + height))

    page.extract_text(visitor_text=visit)
