"""Structural PDF/A-3 checks with pikepdf and `qpdf --check`, for the recipisă.

No PDF/A validator is installable from the package registries this project uses (veraPDF is a Java application,
on neither Debian nor PyPI, and Maven Central is not reachable from CI), so the tests check what ISO 19005-3 asks
of the file's structure. What they do not check: the content streams' operators and colour spaces against the
output intent, glyph widths against the embedded font programs, XMP/Info consistency beyond the PDF/A identifier,
and the many rules veraPDF's profile covers one by one.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pikepdf

# Annotation flags (ISO 32000-1 table 165): PDF/A wants Print set and Invisible, Hidden, NoView clear.
PRINT, FORBIDDEN = 4, 1 | 2 | 32


@dataclass(frozen=True)
class Embedded:
    data: bytes
    relationship: str  # "/Source", "/Data", ...
    mime_type: str  # "message/rfc822"
    params: dict[str, object]


def qpdf_check(path: Path) -> subprocess.CompletedProcess[str]:
    """`qpdf --check` (exit 0: no syntax or stream errors; 2 errors, 3 warnings); qpdf is a Debian package of the test
    servers (scripts/install-test-servers). Missing, it fails the test rather than skipping it."""
    qpdf = shutil.which("qpdf")
    assert qpdf, "qpdf is not installed: run scripts/install-test-servers"
    return subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True, check=False)


def embedded_files(pdf: bytes) -> dict[str, Embedded]:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        found = {}
        for spec in document.Root.get("/AF", []):
            stream = spec.EF.F
            found[str(spec.UF)] = Embedded(
                data=stream.read_bytes(),
                relationship=str(spec.get("/AFRelationship")),
                mime_type=str(stream.get("/Subtype", ""))[1:],
                params={str(key): value for key, value in stream.get("/Params", {}).items()},
            )
        return found


def problems(pdf: bytes) -> list[str]:
    """What makes `pdf` fail PDF/A-3b's structural rules that pikepdf can see (empty: none found)."""
    found: list[str] = []
    lines = pdf.split(b"\n", 2)
    if not lines[0].startswith(b"%PDF-1."):
        found.append(f"header {lines[0][:10]!r}")
    if not (lines[1].startswith(b"%") and len(lines[1]) >= 5 and all(byte > 127 for byte in lines[1][1:5])):
        found.append("no binary comment after the header (6.1.2)")
    with pikepdf.open(io.BytesIO(pdf)) as document:
        if document.is_encrypted:
            found.append("encrypted (6.1.3)")
        if "/ID" not in document.trailer:
            found.append("no file identifier in the trailer (6.1.3)")
        with document.open_metadata() as xmp:
            if xmp.get("pdfaid:part") != "3" or xmp.get("pdfaid:conformance") != "B":
                found.append(f"XMP pdfaid {xmp.get('pdfaid:part')}/{xmp.get('pdfaid:conformance')}, not 3/B (6.6.4)")
        found += _output_intent(document.Root)
        found += _associated_files(document.Root)
        for number, page in enumerate(document.pages, start=1):
            found += _fonts(page.obj.get("/Resources"), f"page {number}", set())
            for annotation in page.obj.get("/Annots", []):
                found += _annotation(annotation, number)
        found += _actions(document)
    return found


def _output_intent(root: pikepdf.Dictionary) -> list[str]:
    intents = [i for i in root.get("/OutputIntents", []) if i.get("/S") == pikepdf.Name.GTS_PDFA1]
    if not intents:
        return ["no GTS_PDFA1 output intent (6.2.3)"]
    profile = intents[0].get("/DestOutputProfile")
    if profile is None or int(profile.get("/N", 0)) != 3:
        return ["output intent without an RGB ICC profile (6.2.3)"]
    return []


def _associated_files(root: pikepdf.Dictionary) -> list[str]:
    found = []
    listed = root.get("/AF", [])
    names = root.get("/Names", {}).get("/EmbeddedFiles", {}).get("/Names", [])
    in_tree = {str(names[i]) for i in range(0, len(names), 2)}
    for spec in listed:
        name = str(spec.get("/UF", ""))
        if "/F" not in spec or "/UF" not in spec:
            found.append(f"file specification {name} without /F and /UF (6.8)")
        if spec.get("/AFRelationship") is None:
            found.append(f"{name}: no /AFRelationship (6.8)")
        stream = spec.EF.F
        if "/Subtype" not in stream:
            found.append(f"{name}: embedded file without a MIME type (6.8)")
        params = stream.get("/Params", {})
        if "/ModDate" not in params or "/Size" not in params:
            found.append(f"{name}: embedded file without /Params /ModDate and /Size (6.8)")
        if name not in in_tree:
            found.append(f"{name}: not in the EmbeddedFiles name tree")
    return found


def _fonts(resources: pikepdf.Object | None, where: str, seen: set[tuple[int, int]]) -> list[str]:
    """Every font of these resources and of the form XObjects they use embeds its program (6.2.11.4.1)."""
    if resources is None:
        return []
    found = []
    for name, font in resources.get("/Font", {}).items():
        descriptor_holder = font.DescendantFonts[0] if font.get("/Subtype") == pikepdf.Name.Type0 else font
        if font.get("/Subtype") == pikepdf.Name.Type3:
            continue
        descriptor = descriptor_holder.get("/FontDescriptor")
        if descriptor is None or not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            found.append(f"{where}: font {name} ({font.get('/BaseFont')}) not embedded")
    for xobject in resources.get("/XObject", {}).values():
        if xobject.get("/Subtype") == pikepdf.Name.Form and xobject.objgen not in seen:
            seen.add(xobject.objgen)
            found += _fonts(xobject.get("/Resources"), where, seen)
    return found


def _annotation(annotation: pikepdf.Dictionary, page: int) -> list[str]:
    flags = int(annotation.get("/F", 0))
    found = []
    if not flags & PRINT or flags & FORBIDDEN:
        found.append(f"page {page}: {annotation.get('/Subtype')} annotation flags {flags} (6.3.2)")
    appearance = annotation.get("/AP", {}).get("/N")
    if appearance is not None and isinstance(appearance, pikepdf.Stream):
        found += _fonts(appearance.get("/Resources"), f"page {page} annotation", set())
    return found


def _actions(document: pikepdf.Pdf) -> list[str]:
    """No JavaScript anywhere, no Launch actions, no additional-actions dictionaries (6.5, 6.6.2)."""
    found = []
    names = document.Root.get("/Names", {})
    if "/JavaScript" in names:
        found.append("document-level JavaScript (6.6.2)")
    if "/AA" in document.Root:
        found.append("catalog /AA (6.6.2)")
    for obj in _dictionaries(document.trailer, set()):
        if "/JS" in obj or obj.get("/S") in (pikepdf.Name.JavaScript, pikepdf.Name.Launch):
            found.append(f"action {obj.get('/S')} (6.6.1)")
    return found


def _dictionaries(obj: object, seen: set[tuple[int, int]]) -> list[pikepdf.Dictionary]:
    """Every dictionary (and stream dictionary) reachable from `obj`, direct ones included."""
    if not isinstance(obj, (pikepdf.Array, pikepdf.Dictionary, pikepdf.Stream)):
        return []  # numbers, names, strings (pikepdf gives plain Python values for some)
    if obj.is_indirect:
        if obj.objgen in seen:
            return []
        seen.add(obj.objgen)
    if isinstance(obj, pikepdf.Array):
        return [found for item in obj for found in _dictionaries(item, seen)]
    if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
        children = [found for key, value in obj.items() if key != "/Parent" for found in _dictionaries(value, seen)]
        return [obj, *children]
    return []
